import type { BusMessage } from '../bus/bus.js'

/** Most keys one `set` message carries; more go out as several messages. */
export const MAX_KEYS_PER_MESSAGE = 256

/** How long the first notice of a batch waits for others to go out with it, in ms. */
export const SET_NOTICE_LINGER_MS = 1

/**
 * Tells other instances which keys were written, coalescing, as a producer's linger does: a batch
 * opens with the first notice and goes out {@link SET_NOTICE_LINGER_MS} later, one message per
 * namespace; at most one batch is in flight, and the next one opens when it lands. Under load this
 * turns one PUBLISH per write into one per linger and round trip, which saves Redis, this process and
 * every subscriber a message per write. A notice waits at most twice the linger plus one publish
 * round trip, which is what it adds to a set's invalidation window; removals are published on their
 * own, at once.
 */
export class SetAnnouncer {
  private queued = new Map<string, Set<string>>()
  private inFlight: Promise<void> | undefined
  private lingering: NodeJS.Timeout | undefined

  /** @param publish - sends one message; must not reject (failures are reported by the caller's publish). */
  constructor(
    private readonly publish: (message: BusMessage) => Promise<void>,
    private readonly lingerMs = SET_NOTICE_LINGER_MS,
  ) {}

  /** Announces that `key` of `namespace` was written; returns at once. */
  announce(namespace: string, key: string): void {
    let keys = this.queued.get(namespace)
    if (keys === undefined) this.queued.set(namespace, (keys = new Set()))
    keys.add(key)
    if (this.inFlight === undefined && this.lingering === undefined) this.linger()
  }

  private linger(): void {
    if (this.lingerMs <= 0) this.flush()
    else this.lingering = setTimeout(() => this.flush(), this.lingerMs)
  }

  /** Publishes what is queued now, and resolves once everything announced so far has been published. */
  async drain(): Promise<void> {
    if (this.lingering !== undefined) this.flush()
    while (this.inFlight !== undefined) await this.inFlight
  }

  private flush(): void {
    clearTimeout(this.lingering)
    this.lingering = undefined
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
      if (this.queued.size > 0) this.linger()
    })
  }
}
