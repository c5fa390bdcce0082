import { Cron } from 'croner'

/**
 * The time and timers a scheduler uses: the process's by default, a test's own to drive it without
 * waiting (advance the clock, fire the timer).
 */
export interface SchedulerClock {
  /** Epoch ms. */
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The process's clock; its timers do not keep the process alive. */
export const SYSTEM_CLOCK: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** The longest delay Node's timers take (2^31 − 1 ms, about 24.8 days); a later run is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** One job the scheduler runs. */
export interface ScheduledJob {
  readonly name: string
  /** A cron pattern, as croner reads it. */
  readonly schedule: string
  readonly timezone?: string
}

interface Armed {
  readonly cron: Cron
  /** When the job runs next, epoch ms; undefined once the pattern has no more runs. */
  next: number | undefined
  timer: unknown
}

/**
 * Runs jobs at the times of their cron patterns: croner computes each next time (paused, as a
 * pattern evaluator), and one timer per job waits for it, so that a test's clock drives it. `fire`
 * is called with the job's name at each time; it decides what happens when the job's previous run
 * has not ended (the warmer joins it: a job never overlaps itself). A run missed while the process
 * was busy is run once, not once per time missed.
 */
export class CronScheduler {
  private readonly armed = new Map<string, Armed>()
  private stopped = false

  constructor(
    jobs: readonly ScheduledJob[],
    private readonly fire: (name: string, at: number) => void,
    private readonly clock: SchedulerClock = SYSTEM_CLOCK,
  ) {
    for (const job of jobs) {
      const cron = new Cron(job.schedule, { paused: true, ...(job.timezone === undefined ? {} : { timezone: job.timezone }) })
      this.armed.set(job.name, { cron, next: undefined, timer: undefined })
    }
    for (const name of this.armed.keys()) this.arm(name, this.clock.now())
  }

  /** When `name` runs next, epoch ms; undefined for a job not scheduled, or with no more runs. */
  nextRun(name: string): number | undefined {
    return this.armed.get(name)?.next
  }

  /** Stops every timer; no job is fired afterwards. Idempotent. */
  stop(): void {
    this.stopped = true
    for (const armed of this.armed.values()) {
      if (armed.timer !== undefined) this.clock.clearTimeout(armed.timer)
      armed.timer = undefined
    }
  }

  /** Sets the job's timer for its first time after `after`. */
  private arm(name: string, after: number): void {
    const armed = this.armed.get(name)
    if (armed === undefined || this.stopped) return
    armed.next = armed.cron.nextRun(new Date(after))?.getTime()
    this.wait(name, armed)
  }

  private wait(name: string, armed: Armed): void {
    if (armed.next === undefined) return
    const delay = Math.min(Math.max(0, armed.next - this.clock.now()), MAX_TIMER_MS)
    armed.timer = this.clock.setTimeout(() => this.due(name, armed), delay)
  }

  private due(name: string, armed: Armed): void {
    armed.timer = undefined
    if (this.stopped || armed.next === undefined) return
    const now = this.clock.now()
    // Early (a step of a long wait, or a timer's rounding): wait for the rest.
    if (now < armed.next) return this.wait(name, armed)
    const at = armed.next
    try {
      this.fire(name, at)
    } finally {
      // From now, not from `at`: runs missed while the process was busy are not caught up one by one.
      this.arm(name, Math.max(now, at))
    }
  }
}
