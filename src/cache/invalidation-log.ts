/**
 * Remembers, while reads or factories are in progress, what was invalidated after they started, so
 * that none of them writes or backfills a value older than an invalidation that finished before the
 * write. Keeps nothing when no operation is in progress, so it never grows without bound.
 *
 * Keys of the maps: storage key (`ns:key`) for keys, `ns:tag` for a tag in a namespace, `:tag` for a
 * tag in every namespace, `ns` for a namespace clear, and `''` for a clear of everything; erased
 * scope prefixes apart (few, and matched by prefix).
 */
export class InvalidationLog {
  private seq = 0
  private active = 0
  private readonly keys = new Map<string, number>()
  private readonly tags = new Map<string, number>()
  private readonly clears = new Map<string, number>()
  private readonly erasures = new Map<string, number>()

  /**
   * Issues a ticket for an operation (a read and its backfills, a read-through and its write): what is
   * invalidated from now on is remembered until the ticket is released, so that the operation can
   * ask whether what it read is outdated.
   */
  issue(): InvalidationTicket {
    return new InvalidationTicket(this, this.begin())
  }

  /** Marks the start of an operation; returns its start sequence for {@link isOutdated}. */
  begin(): number {
    this.active++
    return this.seq
  }

  /** Marks the end of an operation begun with {@link begin}. */
  end(): void {
    if (--this.active === 0) {
      this.keys.clear()
      this.tags.clear()
      this.clears.clear()
      this.erasures.clear()
    }
  }

  key(namespace: string, key: string): void {
    if (this.active > 0) this.keys.set(namespace + ':' + key, ++this.seq)
  }

  tagged(tags: readonly string[], namespace: string | undefined): void {
    if (this.active === 0) return
    const seq = ++this.seq
    const prefix = (namespace ?? '') + ':'
    for (const tag of tags) this.tags.set(prefix + tag, seq)
  }

  cleared(namespace: string | undefined): void {
    if (this.active > 0) this.clears.set(namespace ?? '', ++this.seq)
  }

  /** Every namespace starting with `prefix` was emptied (a scope's erasure). */
  erased(prefix: string): void {
    if (this.active > 0) this.erasures.set(prefix, ++this.seq)
  }

  /** True when the entry at `(namespace, key)` with `tags` was invalidated after `since`. */
  isOutdated(since: number, namespace: string, key: string, tags: readonly string[]): boolean {
    if (this.seq === since) return false
    if ((this.keys.get(namespace + ':' + key) ?? 0) > since) return true
    if ((this.clears.get(namespace) ?? 0) > since || (this.clears.get('') ?? 0) > since) return true
    for (const [prefix, seq] of this.erasures) if (seq > since && namespace.startsWith(prefix)) return true
    for (const tag of tags) {
      if ((this.tags.get(namespace + ':' + tag) ?? 0) > since || (this.tags.get(':' + tag) ?? 0) > since) return true
    }
    return false
  }
}

/**
 * One operation's view of the {@link InvalidationLog}, from {@link InvalidationLog.issue} until its
 * last holder releases it (the operation, and any background backfill it started).
 */
export class InvalidationTicket {
  private holders = 1

  constructor(
    private readonly log: InvalidationLog,
    private readonly since: number,
  ) {}

  /** True when `(namespace, key)` with `tags` was invalidated after the ticket was issued. */
  isOutdated(namespace: string, key: string, tags: readonly string[]): boolean {
    return this.log.isOutdated(this.since, namespace, key, tags)
  }

  /** One more holder: the ticket stays open until each has released it. */
  hold(): void {
    this.holders++
  }

  release(): void {
    if (--this.holders === 0) this.log.end()
  }
}
