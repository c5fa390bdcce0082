import { InvalidOptionsError } from '../errors.js'
import type { Served } from '../core/entry.js'
import type { TierStack } from './tier-stack.js'

/** Options of `Cache.keys` and `Cache.entries`. */
export interface ListOptions {
  /**
   * Keys fetched per round trip to the listing tier, and for `entries`, values read per batch: an
   * integer from 1 to {@link MAX_LIST_PAGE_SIZE}. Larger pages mean fewer round trips and more
   * memory held at once. @default 500
   */
  readonly pageSize?: number
  /**
   * Start strictly after this key, in the listing tier's order (see `Tier.keys`): the last key of a
   * previous listing, to resume it. @default the start of the namespace
   */
  readonly after?: string
}

/** Default of {@link ListOptions.pageSize}. */
export const DEFAULT_LIST_PAGE_SIZE = 500

/** Largest {@link ListOptions.pageSize}: bounds the memory a page holds and the size of one query. */
export const MAX_LIST_PAGE_SIZE = 10_000

/**
 * The page size `options` ask for, checked when the listing is created rather than at its first
 * page, so that a bad option fails where it was written.
 * @throws InvalidOptionsError unless `pageSize` is an integer from 1 to {@link MAX_LIST_PAGE_SIZE}, or
 *   when `after` is not a non-empty string
 */
export function listPageSize(options: ListOptions | undefined): number {
  if (options?.after !== undefined && (typeof options.after !== 'string' || options.after.length === 0)) {
    throw new InvalidOptionsError('after must be a non-empty key')
  }
  const pageSize = options?.pageSize ?? DEFAULT_LIST_PAGE_SIZE
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_LIST_PAGE_SIZE) {
    throw new InvalidOptionsError(`pageSize must be an integer from 1 to ${MAX_LIST_PAGE_SIZE}`)
  }
  return pageSize
}

/**
 * The pages of live keys of `namespace`, as {@link TierStack.keys} gives them, walking the cursor
 * until a short page. `stackOf` is called before each page, so that a cache closed during the walk
 * stops it (it throws CacheClosedError).
 *
 * @throws TierUnavailableError from the page that met a failing tier; CacheClosedError
 */
export async function* keyPages(
  stackOf: () => TierStack,
  namespace: string,
  pageSize: number,
  from?: string,
): AsyncGenerator<string[], void, undefined> {
  let after = from
  for (;;) {
    const page = await stackOf().keys(namespace, after === undefined ? { limit: pageSize } : { after, limit: pageSize })
    if (page.length > 0) yield page
    if (page.length < pageSize) return
    after = page[page.length - 1]
  }
}

/** Every key of {@link keyPages}, one at a time: the iterator behind `Cache.keys`. */
export async function* listKeys(
  stackOf: () => TierStack,
  namespace: string,
  pageSize: number,
  after?: string,
): AsyncGenerator<string, void, undefined> {
  for await (const page of keyPages(stackOf, namespace, pageSize, after)) yield* page
}

/**
 * `[key, value]` for every key of {@link keyPages} that `read` still finds: the iterator behind
 * `Cache.entries`. `read` gets one page of keys and answers one slot per key, undefined for a key
 * whose entry went (or went stale) since it was listed; those keys are skipped.
 */
export async function* listEntries<V>(
  stackOf: () => TierStack,
  namespace: string,
  pageSize: number,
  read: (keys: readonly string[]) => Promise<(Served<V> | undefined)[]>,
  after?: string,
): AsyncGenerator<[string, V], void, undefined> {
  for await (const page of keyPages(stackOf, namespace, pageSize, after)) {
    const values = await read(page)
    for (const [index, key] of page.entries()) {
      const result = values[index]
      if (result !== undefined) yield [key, result.value]
    }
  }
}
