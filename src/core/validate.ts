import { z } from 'zod'
import { InvalidKeyError, InvalidNamespaceError, InvalidTagError } from '../errors.js'

/** Limits on what callers may store. Defaults are in the options schema. */
export interface Limits {
  /** Longest key, in UTF-16 code units. @default 1024 */
  readonly maxKeyLength: number
  /** Largest encoded value, in bytes. @default 1_048_576 (1 MiB) */
  readonly maxValueBytes: number
  /** Most tags on one entry. @default 64 */
  readonly maxTags: number
  /** Longest tag, in UTF-16 code units. @default 256 */
  readonly maxTagLength: number
}

declare global {
  interface String {
    /** ES2024, present in Node 20; declared here so that the build can target ES2023 typings. */
    isWellFormed(): boolean
  }
}

/** Storage namespaces: a namespace, optionally behind a tenant (`~<tenant>~`) or user (`~<tenant>~<hash>~`) prefix; see scope.ts. */
export const STORAGE_NAMESPACE_PATTERN = /^(?:~[A-Za-z0-9._-]{1,64}~(?:[A-Za-z0-9_-]{22}~)?)?[A-Za-z0-9._-]{1,128}$/

export const NAMESPACE_PATTERN = /^[A-Za-z0-9._-]{1,128}$/

// Keys and tags reach SQL text columns: NUL is not storable in PostgreSQL text, and lone surrogates
// would be replaced by U+FFFD on encoding, making two distinct keys collide.
function isStorableText(text: string): boolean {
  return !text.includes('\0') && text.isWellFormed()
}

/** @throws InvalidKeyError when `key` is not a storable string of 1 to `maxLength` code units */
export function assertKey(key: unknown, maxLength: number): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > maxLength || !isStorableText(key)) {
    throw new InvalidKeyError(`key must be a well-formed string of 1 to ${maxLength} characters without NUL`)
  }
}

/** @throws InvalidNamespaceError unless `namespace` matches `[A-Za-z0-9._-]{1,128}` */
export function assertNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new InvalidNamespaceError('namespace must match [A-Za-z0-9._-]{1,128}')
  }
}

/**
 * For tiers, which store scoped namespaces (see scope.ts): a namespace, optionally behind its
 * tenant or user prefix.
 * @throws InvalidNamespaceError otherwise
 */
export function assertStorageNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== 'string' || !STORAGE_NAMESPACE_PATTERN.test(namespace)) {
    throw new InvalidNamespaceError('namespace must match [A-Za-z0-9._-]{1,128}, optionally behind a scope prefix')
  }
}

/**
 * Validates a tag list and returns it deduplicated.
 * @throws InvalidTagError when there are more than `limits.maxTags` tags or one is not a storable string
 */
export function normalizeTags(tags: unknown, limits: Pick<Limits, 'maxTags' | 'maxTagLength'>): readonly string[] {
  if (tags === undefined) return []
  if (!Array.isArray(tags)) throw new InvalidTagError('tags must be an array of strings')
  if (tags.length > limits.maxTags) throw new InvalidTagError(`at most ${limits.maxTags} tags per entry`)
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > limits.maxTagLength || !isStorableText(tag)) {
      throw new InvalidTagError(`each tag must be a well-formed string of 1 to ${limits.maxTagLength} characters without NUL`)
    }
  }
  return tags.length > 1 ? [...new Set(tags as string[])] : (tags as string[])
}

/** zod schema of a key, for HTTP and CLI edges; the same rule as {@link assertKey}. */
export function keySchema(maxLength: number) {
  return z.string().min(1).max(maxLength).refine(isStorableText, 'must be well-formed text without NUL')
}

/** zod schema of a namespace. */
export const namespaceSchema = z.string().regex(NAMESPACE_PATTERN, 'must match [A-Za-z0-9._-]{1,128}')

/** zod schema of a tag, for HTTP and CLI edges; the same rule as {@link normalizeTags}. */
export function tagSchema(maxLength: number) {
  return z.string().min(1).max(maxLength).refine(isStorableText, 'must be well-formed text without NUL')
}
