/**
 * Logging once per change of state: a tier that fails on every request during an outage, or an
 * origin that fails for every caller, would otherwise write a line per request, burying the one line
 * that matters (it started) and the one after it (it ended). An episode opens with its first
 * failure, counts the rest, and closes when its owner says so (a circuit closing) or after a quiet
 * period without failures.
 */

/** How an episode ended, for its closing line. */
export interface EpisodeSummary {
  /** Failures in the episode, the first included. */
  readonly failures: number
  /** From its first failure to its last, ms. */
  readonly lastedMs: number
  /** `quiet`: no failure for `quietMs`; `ended`: its owner closed it. */
  readonly how: 'quiet' | 'ended'
}

/** Options of {@link Episodes}. */
export interface EpisodesOptions<D> {
  /** Called with the first failure of an episode. */
  readonly started: (id: string, detail: D) => void
  /** Called once when the episode closes. */
  readonly ended: (id: string, summary: EpisodeSummary) => void
  /** Without a failure for this long (ms), an episode closes. @default 60_000 */
  readonly quietMs?: number
  /**
   * Most episodes open at once (ids are tier or namespace names); past it, failures of new ids are
   * counted in no episode and not logged, which only a flood of distinct namespaces reaches.
   * @default 1000
   */
  readonly maxOpen?: number
}

interface Episode {
  failures: number
  readonly since: number
  last: number
  timer: NodeJS.Timeout
}

/** Open failure episodes by id; see the module comment. */
export class Episodes<D> {
  private readonly open = new Map<string, Episode>()
  private readonly quietMs: number
  private readonly maxOpen: number

  constructor(private readonly options: EpisodesOptions<D>) {
    this.quietMs = options.quietMs ?? 60_000
    this.maxOpen = options.maxOpen ?? 1000
  }

  /** A failure of `id`: opens its episode (and logs it) or counts it in the open one. */
  failure(id: string, detail: D): void {
    const now = Date.now()
    const episode = this.open.get(id)
    if (episode !== undefined) {
      episode.failures++
      episode.last = now
      episode.timer.refresh()
      return
    }
    if (this.open.size >= this.maxOpen) return
    const timer = setTimeout(() => this.close(id, 'quiet'), this.quietMs)
    timer.unref()
    this.open.set(id, { failures: 1, since: now, last: now, timer })
    this.options.started(id, detail)
  }

  /** Closes `id`'s episode, if one is open, and logs its summary. */
  end(id: string): void {
    this.close(id, 'ended')
  }

  /** True while `id` has an episode open. */
  isOpen(id: string): boolean {
    return this.open.has(id)
  }

  /** Cancels every episode without logging them: the server is closing. */
  stop(): void {
    for (const episode of this.open.values()) clearTimeout(episode.timer)
    this.open.clear()
  }

  private close(id: string, how: EpisodeSummary['how']): void {
    const episode = this.open.get(id)
    if (episode === undefined) return
    clearTimeout(episode.timer)
    this.open.delete(id)
    this.options.ended(id, { failures: episode.failures, lastedMs: episode.last - episode.since, how })
  }
}
