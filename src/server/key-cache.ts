/**
 * Verified API keys held in memory for a short time, so that a busy key costs one database lookup
 * every `ttlMs`, not one per request (a profile of the server under load put the SQLite lookup at
 * 11 % of its time).
 *
 * The price is the revocation window: a key revoked in the database keeps working, on a server that
 * verified it less than `ttlMs` ago, until its entry expires; after `ttlMs`, on every instance. Only
 * successes are held: an unknown, wrong or revoked key is looked up each time (and answered 401), so
 * a key created a moment ago works at once.
 *
 * Entries are keyed by the presented key itself, not by a hash of it (a SHA-256 per request was a
 * few percent of a cached GET). That exposes nothing new: the map is this process's, and whoever can
 * read this heap reads every key as it arrives, in the request's headers. What it holds is bounded:
 * only keys that verified (a stranger cannot fill it), at most {@link MAX_HELD_KEYS}, and none past
 * its `ttlMs` once another key is verified (expired entries are swept then). A lookup compares a
 * presented key's content with a held one only when their string hashes are equal, so its time says
 * nothing about a held secret's characters.
 */
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
  const heldBy = (presented: string): Principal | undefined => {
    const entry = held.get(presented)
    if (entry === undefined) return undefined
    if (now() < entry.until) return entry.principal
    held.delete(presented)
    return undefined
  }
  /** Drops expired entries from the oldest on: `until` grows with insertion, so they come first. */
  const sweep = (at: number): void => {
    for (const [presented, entry] of held) {
      if (at < entry.until) return
      held.delete(presented)
    }
  }
  return {
    held: (presented) => (ttlMs > 0 ? heldBy(presented) : undefined),
    async verify(presented) {
      if (ttlMs <= 0) return credentials.verify(presented)
      const known = heldBy(presented)
      if (known !== undefined) return known
      let lookup = pending.get(presented)
      if (lookup === undefined) {
        const started = now()
        lookup = credentials.verify(presented).then((principal) => {
          if (principal !== undefined) {
            sweep(now())
            if (held.size >= MAX_HELD_KEYS) held.delete(held.keys().next().value as string)
            // From when the lookup started: a revocation after it is seen within ttlMs of it.
            held.delete(presented)
            held.set(presented, { principal, until: started + ttlMs })
          }
          return principal
        })
        const settled = lookup.finally(() => pending.delete(presented))
        pending.set(presented, settled)
        lookup = settled
      }
      return lookup
    },
  }
}
