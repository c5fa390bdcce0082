/** A circuit's state: `closed` passes calls, `open` skips them, `half-open` lets one probe through. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/**
 * Stops calling a failing tier for a while, then probes it with one call.
 *
 * After `failureThreshold` consecutive failures the circuit opens for `openMs`; the next call after
 * that is a probe: success closes the circuit, failure opens it again.
 * @see Nygard, "Release It!", Circuit Breaker pattern
 */
export class CircuitBreaker {
  private failures = 0
  private openUntil = 0
  private probing = false
  private current: CircuitState = 'closed'

  constructor(
    private readonly failureThreshold: number,
    private readonly openMs: number,
    private readonly onChange: (state: CircuitState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    return this.current
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

  success(): void {
    this.failures = 0
    this.probing = false
    if (this.current !== 'closed') this.transition('closed')
  }

  failure(): void {
    this.failures++
    this.probing = false
    if (this.current === 'half-open' || this.failures >= this.failureThreshold) {
      this.openUntil = this.now() + this.openMs
      if (this.current !== 'open') this.transition('open')
    }
  }

  private transition(state: CircuitState): void {
    this.current = state
    this.onChange(state)
  }
}
