import { withTimeout } from '../core/timeout.js'
import { TierUnavailableError, isTiercacheError } from '../errors.js'
import type { SharedLevel } from '../core/level.js'
import type { Tier } from '../tiers/tier.js'
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js'
import { type Removal, applyRemoval } from './removal.js'

/** A call that failed, timed out, or was skipped because the tier's circuit is open. */
export const FAILED: unique symbol = Symbol('failed')
/** A read that met an entry it cannot decode: the tier works, the entry is dropped. */
export const CORRUPT: unique symbol = Symbol('corrupt')

export interface GuardedTierOptions {
  readonly failureThreshold: number
  readonly openForMs: number
  /** Longest a single tier call may take before it counts as failed. */
  readonly timeoutMs: number
  /** Most repairs remembered; past it, the tier is cleared entirely before it serves again. */
  readonly maxRepairs: number
  readonly onFailure: (operation: string, error: unknown) => void
  readonly onCircuit: (state: CircuitState) => void
}

/**
 * A shared tier (L2, L3) as the stack uses it: every call has a timeout, failures are counted by a
 * circuit breaker, and removals the tier missed are replayed before it serves again.
 *
 * Why repairs: a delete or an invalidation that cannot reach a tier (down, timing out, circuit
 * open) would otherwise leave the old entry there, to be served when the tier comes back. So every
 * removal, and every write, that fails on this tier is remembered as a removal; the next call to the
 * tier first replays them, in order, and fails (a miss, for a read) if it cannot. A failed write is
 * remembered as a removal of its key because the tier may still hold the value it was replacing.
 * More than `maxRepairs` pending means the tier is cleared instead: correct, if costly.
 */
export class GuardedTier {
  readonly breaker: CircuitBreaker
  /** The error of the last failed call, for callers that must report it. */
  lastError: unknown
  private repairs: Removal[] = []
  private overflowed = false
  private repairing: Promise<boolean> | undefined

  constructor(
    readonly level: SharedLevel,
    readonly tier: Tier,
    private readonly options: GuardedTierOptions,
  ) {
    this.breaker = new CircuitBreaker(options.failureThreshold, options.openForMs, options.onCircuit)
  }

  /** Removals waiting to be replayed (0 once replayed; 1 for a pending clear after an overflow). */
  get pendingRepairs(): number {
    return this.overflowed ? 1 : this.repairs.length
  }

  /**
   * Runs `run` against the tier, after any pending repairs. Resolves its result, FAILED when the
   * circuit is open, a repair or the call fails or times out, or CORRUPT when the call met an entry
   * it cannot decode. Never rejects.
   */
  async call<T>(operation: string, run: (tier: Tier) => Promise<T>): Promise<T | typeof FAILED | typeof CORRUPT> {
    if (!this.breaker.allow()) return FAILED
    if (this.pendingRepairs > 0 && !(await this.repair())) return FAILED
    try {
      const result = await this.timed(operation, run(this.tier))
      this.breaker.success()
      return result
    } catch (error) {
      if (isTiercacheError(error, 'TC_CORRUPT_ENTRY')) {
        this.breaker.success()
        return CORRUPT
      }
      this.fail(operation, error)
      return FAILED
    }
  }

  /** Remembers a removal this tier missed. */
  missed(repair: Removal): void {
    if (this.overflowed) return // the clear to come covers it
    if (this.repairs.length >= this.options.maxRepairs) {
      this.overflowed = true
      this.repairs = []
      return
    }
    this.repairs.push(repair)
  }

  private repair(): Promise<boolean> {
    this.repairing ??= this.replay().finally(() => {
      this.repairing = undefined
    })
    return this.repairing
  }

  private async replay(): Promise<boolean> {
    try {
      while (this.pendingRepairs > 0) {
        if (this.overflowed) {
          await this.timed('repair', this.tier.clear())
          this.overflowed = false
          continue
        }
        const batch = this.repairs
        this.repairs = []
        for (let i = 0; i < batch.length; i++) {
          try {
            await this.timed('repair', applyRemoval(this.tier, batch[i] as Removal))
          } catch (error) {
            this.repairs = [...batch.slice(i), ...this.repairs]
            throw error
          }
        }
      }
      return true
    } catch (error) {
      this.fail('repair', error)
      return false
    }
  }

  private fail(operation: string, error: unknown): void {
    this.lastError = error
    this.breaker.failure()
    this.options.onFailure(operation, error)
  }

  private timed<T>(operation: string, promise: Promise<T>): Promise<T> {
    // A tier that bounds its own calls needs no second timer on its hot path.
    if (this.tier.capabilities.boundedCalls === true) return promise
    const ms = this.options.timeoutMs
    return withTimeout(promise, ms, () => new TierUnavailableError(`${this.level} (${this.tier.kind}) ${operation} took longer than ${ms} ms`))
  }
}
