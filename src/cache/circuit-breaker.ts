/** A circuit's state: `closed` passes calls, `open` skips them, `half-open` lets one probe through. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/**
 * Stops calling a failing tier for a while, then probes it with one call.
 *
 * After `failureThreshold` consecutive failures the circuit opens for `openMs`; the next call after
 * that is a probe: success closes the circuit, failure opens it again for `openMs`.
 *
 * A call's outcome counts only in the state it started in: pass the {@link epoch} read when the
 * call was allowed to {@link success} or {@link failure}. A call that started while the circuit was
 * closed and fails once it is open (a slow timeout) then neither extends the open window nor fails
 * the probe, and one that succeeds late does not close the circuit behind the probe's back.
 * @see Nygard, "Release It!", Circuit Breaker pattern
 */
export class CircuitBreaker {
  private failures = 0
  private openUntil = 0
  private probing = false
  private current: CircuitState = 'closed'
  private generation = 0

  /**
   * @param openMs - how long the circuit stays open before the probe, in ms
   * @param now - the clock, epoch ms; tests pass their own to step past `openMs`. @default Date.now
   */
  constructor(
    private readonly failureThreshold: number,
    private readonly openMs: number,
    private readonly onChange: (state: CircuitState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    return this.current
  }

  /** Changes on every change of state; read it when a call is allowed, and hand it back with the outcome. */
  get epoch(): number {
    return this.generation
  }

  /** Whether a call may go through now. A true answer in half-open state is the probe. */
  allow(): boolean {
    if (this.current === 'closed') return true
    if (this.current === 'open') {
      if (this.now() < this.openUntil) return false
      this.transition('half-open')
    }
    if (this.probing) return false
    this.probing = true
    return true
  }

  /** A call succeeded. @param epoch - {@link epoch} when it was allowed; omitted: counts whatever the state */
  success(epoch: number = this.generation): void {
    if (epoch !== this.generation) return
    this.failures = 0
    this.probing = false
    if (this.current !== 'closed') this.transition('closed')
  }

  /** A call failed. @param epoch - {@link epoch} when it was allowed; omitted: counts whatever the state */
  failure(epoch: number = this.generation): void {
    if (epoch !== this.generation || this.current === 'open') return
    this.failures++
    this.probing = false
    if (this.current === 'half-open' || this.failures >= this.failureThreshold) {
      this.openUntil = this.now() + this.openMs
      this.transition('open')
    }
  }

  private transition(state: CircuitState): void {
    this.current = state
    this.generation++
    this.onChange(state)
  }
}
