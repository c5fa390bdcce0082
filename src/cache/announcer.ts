import type { BusMessage } from '../bus/bus.js'

/** Most keys one `set` message carries; more go out as several messages. */
export const MAX_KEYS_PER_MESSAGE = 256

/**
 * Tells other instances which keys were written, coalescing: at most one batch of publishes is in
 * flight, and the keys written meanwhile go out together in the next (one message per namespace).
 * Under load this turns one PUBLISH per write into one per round trip; alone, a write's notice goes
 * out at once. A notice waits at most one publish round trip, which adds at most that to the
 * invalidation window of a set; removals are published on their own, at once.
 */
export class SetAnnouncer {
  private queued = new Map<string, Set<string>>()
  private inFlight: Promise<void> | undefined

  /** @param publish - sends one message; must not reject (failures are reported by the caller's publish). */
  constructor(private readonly publish: (message: BusMessage) => Promise<void>) {}

  /** Announces that `key` of `namespace` was written; returns at once. */
  announce(namespace: string, key: string): void {
    let keys = this.queued.get(namespace)
    if (keys === undefined) this.queued.set(namespace, (keys = new Set()))
    keys.add(key)
    if (this.inFlight === undefined) this.flush()
  }

  /** Resolves once everything announced so far has been published. */
  async drain(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight
  }

  private flush(): void {
    const batch = this.queued
    this.queued = new Map()
    const sends: Promise<void>[] = []
    for (const [namespace, keySet] of batch) {
      const keys = [...keySet]
      for (let i = 0; i < keys.length; i += MAX_KEYS_PER_MESSAGE) {
        sends.push(this.publish({ type: 'set', namespace, keys: keys.slice(i, i + MAX_KEYS_PER_MESSAGE) }))
      }
    }
    this.inFlight = Promise.all(sends).then(() => {
      this.inFlight = undefined
      if (this.queued.size > 0) this.flush()
    })
  }
}
