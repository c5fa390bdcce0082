import { InvalidOptionsError } from '../../errors.js'

/**
 * A clock a replay sets by hand. Traces carry no timestamps, so a run that compares ttls gives each
 * request a time of its own (`start + i / rate`) and makes `Date.now()` answer it: the engine, its
 * tiers and the policy layer all read `Date.now`, and a replay process does nothing else meanwhile.
 * Timers (`setTimeout`) still run on real time: what they schedule (a season's change of L1's
 * capacity, a circuit breaker's half-open) does not happen at virtual instants.
 */
export class VirtualClock {
  #now: number

  /** @param startMs - the first instant, epoch ms */
  constructor(startMs: number) {
    this.#now = startMs
  }

  /** The clock's time, epoch ms. */
  now(): number {
    return this.#now
  }

  /** Moves the clock to `ms`; it never goes back. */
  set(ms: number): void {
    if (ms > this.#now) this.#now = ms
  }

  /**
   * Runs `use` with `Date.now` answering this clock, and restores it when `use` settles.
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when another virtual clock is installed: two
   *   comparisons in one process would fight over `Date.now`
   */
  async install<T>(use: () => Promise<T>): Promise<T> {
    if (installed) throw new InvalidOptionsError('a comparison is already running in this process: run comparisons one after another')
    const real = Date.now
    installed = true
    Date.now = () => this.#now
    try {
      return await use()
    } finally {
      Date.now = real
      installed = false
    }
  }
}

let installed = false
