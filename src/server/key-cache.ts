/**
 * Verified API keys held in memory for a short time, so that a busy key costs one database lookup
 * every `ttlMs`, not one per request (a profile of the server under load put the SQLite lookup at
 * 11 % of its time).
 *
 * The price is the revocation window: a key revoked in the database keeps working, on a server that
 * verified it less than `ttlMs` ago, until its entry expires; after `ttlMs`, on every instance. Only
 * successes are held: an unknown, wrong or revoked key is looked up each time (and answered 401), so
 * a key created a moment ago works at once. Entries are keyed by a SHA-256 of the presented key, so
 * that no secret stays in the heap beyond the request that carried it.
 */
import { hash } from 'node:crypto'
import type { CredentialStore, Principal } from '../security/credentials/index.js'

/** Default of `keyCacheTtl`: a revoked key stops working on every instance within 5 s. */
export const DEFAULT_KEY_CACHE_TTL_MS = 5_000

/** Most keys held at once; past it, the oldest verified is dropped (and looked up again when it comes). */
export const MAX_HELD_KEYS = 10_000

/** What the access checks call: the store's `verify`, through the cache. */
export interface KeyVerifier {
  /** The principal of a key verified less than `ttlMs` ago, without I/O; else undefined. */
  held(presentedKey: string): Principal | undefined
  /** `credentials.verify`, holding a success for `ttlMs`. Concurrent calls with one key share one lookup. */
  verify(presentedKey: string): Promise<Principal | undefined>
}

interface Held {
  readonly principal: Principal
  /** On the `now` clock. */
  readonly until: number
}

/**
 * `credentials.verify` with verified keys held `ttlMs` (0: none held, every request is looked up).
 * @param now - clock, ms (tests). @default performance.now
 */
export function keyVerifier(credentials: CredentialStore, ttlMs: number, now: () => number = () => performance.now()): KeyVerifier {
  // A Map keeps insertion order: the first entry is the oldest, dropped when the map is full.
  const held = new Map<string, Held>()
  const pending = new Map<string, Promise<Principal | undefined>>()
  const digestOf = (presented: string) => hash('sha256', presented, 'base64')
  const heldBy = (digest: string): Principal | undefined => {
    const entry = held.get(digest)
    if (entry === undefined) return undefined
    if (now() < entry.until) return entry.principal
    held.delete(digest)
    return undefined
  }
  return {
    held: (presented) => (ttlMs > 0 ? heldBy(digestOf(presented)) : undefined),
    async verify(presented) {
      if (ttlMs <= 0) return credentials.verify(presented)
      const digest = digestOf(presented)
      const known = heldBy(digest)
      if (known !== undefined) return known
      let lookup = pending.get(digest)
      if (lookup === undefined) {
        const started = now()
        lookup = credentials.verify(presented).then((principal) => {
          if (principal !== undefined) {
            if (held.size >= MAX_HELD_KEYS) held.delete(held.keys().next().value as string)
            // From when the lookup started: a revocation after it is seen within ttlMs of it.
            held.set(digest, { principal, until: started + ttlMs })
          }
          return principal
        })
        const settled = lookup.finally(() => pending.delete(digest))
        pending.set(digest, settled)
        lookup = settled
      }
      return lookup
    },
  }
}
