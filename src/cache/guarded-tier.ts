import { withTimeout } from '../core/timeout.js'
import { TierUnavailableError, isTiercacheError } from '../errors.js'
import type { SharedLevel } from '../core/level.js'
import type { Tier } from '../tiers/tier.js'
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js'
import { MissedRemovals, type WidenedRemoval } from './missed-removals.js'
import { type Removal, applyRemoval } from './removal.js'

/** A call that failed, timed out, or was skipped because the tier's circuit is open. */
export const FAILED: unique symbol = Symbol('failed')
/** A read that met an entry it cannot decode: the tier works, the entry is dropped. */
export const CORRUPT: unique symbol = Symbol('corrupt')

/** How a {@link GuardedTier} bounds, counts and repairs its tier's calls. Durations in ms. */
export interface GuardedTierOptions {
  readonly failureThreshold: number
  readonly openForMs: number
  /** Longest a single tier call may take before it counts as failed. */
  readonly timeoutMs: number
  /**
   * Most missed removals remembered one by one; past it, recovery clears whole the namespaces in
   * which removals were missed (see {@link MissedRemovals}).
   */
  readonly maxRepairs: number
  /**
   * Most namespaces (with scope prefixes and global tags) remembered past `maxRepairs`; past it the
   * tier no longer serves this cache. @default 100_000
   */
  readonly maxRepairNamespaces?: number
  readonly onFailure: (operation: string, error: unknown) => void
  readonly onCircuit: (state: CircuitState) => void
  /** With it, each `get` and `getMany` that reaches the tier is timed: seconds, to its result or failure. */
  readonly onRead?: (seconds: number) => void
  /** Recovery cleared whole namespaces in place of removals it no longer remembered one by one. */
  readonly onWidened?: (widened: WidenedRemoval) => void
  /** The circuit breaker's clock, epoch ms. @default Date.now */
  readonly now?: () => number
}

// Removals replayed at once: they commute (none writes); the drivers pipeline them over their pools.
const REPLAY_CONCURRENCY = 32

/**
 * A shared tier (L2, L3) as the stack uses it: every call has a timeout, failures are counted by a
 * circuit breaker, and removals the tier missed are replayed before it serves again.
 *
 * Why repairs: a delete or an invalidation that cannot reach a tier (down, timing out, circuit
 * open) would otherwise leave the old entry there, to be served when the tier comes back. So every
 * removal, and every write, that fails on this tier is remembered as a removal; the next call to the
 * tier first replays them, and fails (a miss, for a read) if it cannot. A failed write is
 * remembered as a removal of its key because the tier may still hold the value it was replacing.
 * Past `maxRepairs` pending, the namespaces they fell in are cleared instead: correct, if costly,
 * and never beyond those namespaces, since other instances and applications share the tier.
 */
export class GuardedTier {
  readonly breaker: CircuitBreaker
  /** The error of the last failed call, for callers that must report it. */
  lastError: unknown
  private readonly missedRemovals: MissedRemovals
  private repairing: Promise<boolean> | undefined
  /** Removals missed so far, and how many of the first of them are replayed: sequence numbers. */
  private missedCount = 0
  private replayedCount = 0

  constructor(
    readonly level: SharedLevel,
    readonly tier: Tier,
    private readonly options: GuardedTierOptions,
  ) {
    this.breaker = new CircuitBreaker(options.failureThreshold, options.openForMs, options.onCircuit, options.now)
    this.missedRemovals = new MissedRemovals(options.maxRepairs, options.maxRepairNamespaces ?? 100_000)
  }

  /** Removals waiting to be replayed (0 once replayed); past `maxRepairs`, the namespaces to clear. */
  get pendingRepairs(): number {
    return this.missedRemovals.size
  }

  /**
   * Runs `run` against the tier, after any pending repairs. Resolves its result, FAILED when the
   * circuit is open, a repair or the call fails or times out, or CORRUPT when the call met an entry
   * it cannot decode. Never rejects.
   */
  async call<T>(operation: string, run: (tier: Tier) => Promise<T>): Promise<T | typeof FAILED | typeof CORRUPT> {
    if (this.missedRemovals.unrepairable) return FAILED
    if (!this.breaker.allow()) return FAILED
    const epoch = this.breaker.epoch
    // Every removal missed before this call must be replayed before it runs; those missed while it
    // waits are concurrent with it, and left to the next call. So a replay ends, however fast the
    // removals that fail meanwhile (all of them, while the circuit is half-open) pile up.
    const missedBefore = this.missedCount
    while (this.replayedCount < missedBefore) if (!(await this.repair(epoch))) return FAILED
    const onRead = operation === 'get' || operation === 'getMany' ? this.options.onRead : undefined
    const started = onRead === undefined ? 0 : performance.now()
    try {
      const pending = this.timed(operation, run(this.tier))
      const result = await (onRead === undefined ? pending : pending.finally(() => onRead((performance.now() - started) / 1000)))
      this.breaker.success(epoch)
      return result
    } catch (error) {
      if (isTiercacheError(error, 'TC_CORRUPT_ENTRY')) {
        this.breaker.success(epoch)
        return CORRUPT
      }
      this.fail(operation, error, epoch)
      return FAILED
    }
  }

  /** Remembers a removal this tier missed. */
  missed(removal: Removal): void {
    if (this.missedRemovals.unrepairable) return
    this.missedCount++
    this.missedRemovals.add(removal)
    if (!this.missedRemovals.unrepairable) return
    // Reported once, here; every later call fails without a word (it is skipped, as with an open circuit).
    const error = new TierUnavailableError(
      `${this.level} (${this.tier.kind}) missed removals in more namespaces than it can remember; ` +
        'it no longer serves this cache, lest recovery remove entries of namespaces it did not miss',
    )
    this.lastError = error
    this.options.onFailure('repair', error)
  }

  private repair(epoch: number): Promise<boolean> {
    this.repairing ??= this.replay(epoch).finally(() => {
      this.repairing = undefined
    })
    return this.repairing
  }

  /** Replays every removal missed so far; those missed while it runs wait for the next replay. */
  private async replay(epoch: number): Promise<boolean> {
    const upTo = this.missedCount
    const pending = this.missedRemovals.take()
    try {
      await this.applyAll(pending.removals)
    } catch (error) {
      this.missedRemovals.putBack(pending)
      this.fail('repair', error, epoch)
      return false
    }
    this.replayedCount = upTo
    if (pending.widened !== undefined) this.options.onWidened?.(pending.widened)
    return true
  }

  /** Applies removals a few at a time; rejects with the first failure once each batch has settled. */
  private async applyAll(removals: readonly Removal[]): Promise<void> {
    for (let i = 0; i < removals.length; i += REPLAY_CONCURRENCY) {
      const batch = removals.slice(i, i + REPLAY_CONCURRENCY)
      const results = await Promise.allSettled(batch.map((removal) => this.timed('repair', applyRemoval(this.tier, removal))))
      const failed = results.find((result) => result.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    }
  }

  private fail(operation: string, error: unknown, epoch: number): void {
    this.lastError = error
    this.breaker.failure(epoch)
    this.options.onFailure(operation, error)
  }

  private timed<T>(operation: string, promise: Promise<T>): Promise<T> {
    // A tier that bounds its own calls needs no second timer on its hot path.
    if (this.tier.capabilities.boundedCalls === true) return promise
    const ms = this.options.timeoutMs
    return withTimeout(promise, ms, () => new TierUnavailableError(`${this.level} (${this.tier.kind}) ${operation} took longer than ${ms} ms`))
  }
}
