import { InvalidOptionsError, TierUnavailableError } from '../errors.js'
import type { Served } from '../core/entry.js'
import type { KeyPage } from '../tiers/tier.js'
import { CORRUPT, FAILED } from './guarded-tier.js'
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
 * One page of the live keys of `namespace`, from the last tier of the stack that holds its scope
 * (see `security.tiers`): L3 when there is one (every write goes through every tier, so the last
 * holds what the upper ones hold, and more), else L1. Keys are in that tier's order; see `Tier.keys`.
 *
 * Unlike reads and writes, a listing has no tier to fall back to: an upper tier holds only part of
 * the namespace, and answering from it, or answering nothing, would pass a partial list off as the
 * whole. So a failure is counted and emitted like any other (and counts against the circuit), and
 * then thrown.
 *
 * @throws TierUnavailableError (`TC_TIER_UNAVAILABLE`) when that tier fails (its error is the
 *   `cause`) or its circuit is open
 */
export async function keyPage(stack: TierStack, namespace: string, page: KeyPage): Promise<string[]> {
  const last = stack.shared.findLast((shared) => stack.holds(shared.level, namespace))
  if (last === undefined) return stack.l1 === undefined || !stack.holds('l1', namespace) ? [] : stack.l1.keys(namespace, page)
  const keys = await last.call('keys', (tier) => tier.keys(namespace, page))
  if (keys !== FAILED && keys !== CORRUPT) return keys
  const why = last.breaker.state === 'open' ? 'cannot list keys: its circuit is open' : 'failed to list keys'
  throw new TierUnavailableError(`${last.level} (${last.tier.kind}) tier ${why}`, { cause: last.lastError })
}

/**
 * The namespaces starting with `prefix` in any tier, sorted. Every write goes to every tier, so the
 * last tier normally holds them all; the others are asked too, for entries whose write to the last
 * tier failed.
 * @throws TierUnavailableError when a shared tier fails (a partial list would pass for the whole)
 */
export async function namespacesOf(stack: TierStack, prefix: string): Promise<string[]> {
  const found = new Set(stack.l1 === undefined ? [] : await stack.l1.namespaces(prefix))
  for (const shared of stack.shared) {
    const names = await shared.call('namespaces', (tier) => tier.namespaces(prefix))
    if (names === FAILED || names === CORRUPT) {
      throw new TierUnavailableError(`${shared.level} (${shared.tier.kind}) tier failed to list namespaces`, { cause: shared.lastError })
    }
    for (const name of names) found.add(name)
  }
  return [...found].sort()
}

/**
 * The pages of live keys of `namespace`, as {@link keyPage} gives them, walking the cursor
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
    const page = await keyPage(stackOf(), namespace, after === undefined ? { limit: pageSize } : { after, limit: pageSize })
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
