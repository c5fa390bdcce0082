/**
 * Where the Redis tier keeps things: the Redis key of every entry, tag set and index.
 *
 * ```
 * {<prefix>:<ns>}:e:<key>   STRING  one entry: header (times, tags) + msgpack payload; PX = staleUntil - now
 * {<prefix>:<ns>}:t:<tag>   SET     keys of the namespace's entries carrying <tag>; expires with its latest member
 * {<prefix>:<ns>}:k         ZSET    every key of the namespace, score 0 (byte order for ZRANGEBYLEX paging)
 * <prefix>:namespaces       ZSET    namespaces that may hold entries, scored by when they surely hold none
 * ```
 *
 * **One hash slot per namespace.** Everything of a namespace starts with the hash tag
 * `{<prefix>:<ns>}`, so an entry, its tag sets and the key index live in one slot and one Lua script
 * can update them atomically, in a cluster too. The price: a namespace is never spread over several
 * masters, so one very hot namespace loads one node. Spread load by using more namespaces. The
 * prefix is part of the hash tag so that two applications sharing a cluster with the same namespace
 * names do not pile onto the same slots.
 *
 * **No escaping needed, by construction.** Redis hashes only what lies between the FIRST `{` of a key
 * and the first `}` after it. Our keys start with that hash tag, built from a prefix and a namespace
 * that may contain neither brace (both are validated), so braces in user keys and tags, which come
 * later in the key, cannot change the slot. And the user's string is always the whole remainder after
 * a fixed marker (`e:`, `t:`), so distinct (kind, key) pairs give distinct Redis keys: `a:b` and `a`
 * + `:b` cannot collide, because nothing follows the user part. Strings are sent as UTF-8, which is
 * injective on the well-formed strings the engine admits.
 */
import { assertStorageNamespace } from '../../core/validate.js'

/** Marker between a namespace's hash tag and an entry's key. Shared with the Lua scripts. */
export const ENTRY_MARKER = 'e:'
/** Marker between a namespace's hash tag and a tag name. Shared with the Lua scripts. */
export const TAG_MARKER = 't:'
/** Suffix of a namespace's key index. */
export const INDEX_SUFFIX = 'k'

/** What a prefix may contain: no braces (they would break the hash tag), no spaces. */
export const PREFIX_PATTERN = /^[A-Za-z0-9._:/-]{1,64}$/

// Namespaces are few and fixed by the application; the cap only guards against a caller that
// generates them without bound.
const MAX_CACHED_BASES = 10_000

/**
 * Builds the Redis keys of one tier (one prefix). Every builder takes the namespace's `base`
 * (`{<prefix>:<ns>}:`), computed once per namespace by {@link KeyLayout.base}.
 */
export class KeyLayout {
  /** The registry of namespaces, `<prefix>:namespaces`: a slot of its own. */
  readonly registry: string
  private readonly bases = new Map<string, string>()

  /** @param prefix - must match {@link PREFIX_PATTERN} (checked by the tier's options schema) */
  constructor(readonly prefix: string) {
    this.registry = `${prefix}:namespaces`
  }

  /**
   * `{<prefix>:<ns>}:`, the start of every key of the namespace.
   * @throws InvalidNamespaceError unless `namespace` is a storage namespace (see cache/scope.ts)
   */
  base(namespace: string): string {
    let base = this.bases.get(namespace)
    if (base === undefined) {
      assertStorageNamespace(namespace)
      if (this.bases.size >= MAX_CACHED_BASES) this.bases.clear()
      base = `{${this.prefix}:${namespace}}:`
      this.bases.set(namespace, base)
    }
    return base
  }

  /** The STRING holding the entry `key`. */
  entry(base: string, key: string): string {
    return base + ENTRY_MARKER + key
  }

  /** The SET of keys carrying `tag`. */
  tag(base: string, tag: string): string {
    return base + TAG_MARKER + tag
  }

  /** The ZSET of every key of the namespace. */
  index(base: string): string {
    return base + INDEX_SUFFIX
  }
}
