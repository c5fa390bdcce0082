import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { z } from 'zod'

// setTimeout clamps anything above 2^31 - 1 ms to 1 ms (with a warning), which would turn a "rare"
// cleanup into a busy loop; reject such intervals instead.
const MAX_TIMER_MS = 2_147_483_647

/** Options every SQL tier takes for its expiry cleanup, with their defaults. */
export const cleanupOptionsShape = {
  /** Period of the background cleanup of expired rows, in ms; 0 disables it. @default 60_000 */
  cleanupIntervalMs: z.number().int().min(0).max(MAX_TIMER_MS).default(60_000),
  /** Rows deleted per cleanup statement, so that no statement holds locks for long. @default 1000 */
  cleanupBatchSize: z.number().int().min(1).max(1_000_000).default(1000),
}

/**
 * Deletes in batches until a batch comes back short, yielding to the event loop between batches so
 * that no single statement or transaction holds the database for long and other work interleaves.
 *
 * @param deleteBatch - deletes at most `batchSize` rows and resolves how many it deleted
 * @param shouldStop - checked between batches; true ends the loop early (the tier is closing)
 * @returns the number of rows deleted in all
 */
export async function deleteInBatches(
  deleteBatch: (batchSize: number) => number | Promise<number>,
  batchSize: number,
  shouldStop: () => boolean,
): Promise<number> {
  let total = 0
  for (;;) {
    const removed = await deleteBatch(batchSize)
    total += removed
    if (removed < batchSize || shouldStop()) return total
    await yieldToEventLoop()
  }
}

/**
 * Runs `task` every `intervalMs` ms, never two runs at once (the next run is scheduled when the
 * previous one ends). The timer is unref'ed so that it never keeps a process alive. Errors of a run
 * are dropped: the cleanup is best effort and runs again at the next tick, and the tier's own
 * operations report backend failures to the stack.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  /** @param intervalMs - period in ms; 0 means never run */
  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
  ) {}

  /** Schedules the first run; does nothing when the interval is 0. */
  start(): void {
    if (this.intervalMs > 0 && !this.stopped) this.schedule()
  }

  /** Cancels future runs and waits for a run in progress to end. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = Promise.resolve()
        .then(() => this.task())
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          this.running = undefined
          if (!this.stopped) this.schedule()
        })
    }, this.intervalMs)
    this.timer.unref()
  }
}

/**
 * The least string greater than every string that starts with `prefix`, in code point order: the
 * exclusive end of the prefix's range, for range scans of the (namespace, key) index. Scope prefixes
 * end with `~` (U+007E), so the end is the prefix with `\x7f` in its last place.
 */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
}
