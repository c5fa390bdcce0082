import type { MemoryTier } from '../tiers/memory.js'
import type { PolicyHook } from './policy-hook.js'

/** Longest a Node timer can wait (2^31 - 1 ms, about 24.8 days); a farther boundary is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Keeps L1's bounds at `base × policy.l1Scale(now)`: applied at once, then again at each boundary
 * the policy names (a season window's start or end), by a timer, without a restart. Stop it with
 * {@link stop} when the cache closes.
 */
export class SeasonalCapacity {
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly l1: MemoryTier,
    private readonly policy: PolicyHook,
    private readonly base: { readonly maxEntries: number; readonly maxBytes: number },
    private readonly now: () => number = Date.now,
  ) {
    this.apply()
  }

  /** Sets the bounds for the present moment and waits for the next boundary. */
  apply(): void {
    if (this.stopped) return
    const now = this.now()
    const scale = this.policy.l1Scale(now)
    this.l1.resize({
      maxEntries: Math.max(1, Math.round(this.base.maxEntries * scale)),
      maxBytes: Math.max(1, Math.round(this.base.maxBytes * scale)),
    })
    const next = this.policy.nextBoundary(now)
    clearTimeout(this.timer)
    if (next === undefined) return
    this.timer = setTimeout(() => this.apply(), Math.min(MAX_TIMER_MS, Math.max(0, next - now)))
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }
}
