import { drizzle } from 'drizzle-orm/postgres-js'
import postgres, { type Sql } from 'postgres'
import { type PostgresQueries, prepareQueries } from './queries.js'

/** How the pool connects; see {@link RenewingPool}. */
export interface PoolOptions {
  readonly url: string
  readonly maxConnections: number
  /**
   * A statement unanswered this long, while no other settles either, means the pool's connections
   * are dead: it is replaced. In ms. (A pool that is merely busy, statements queueing for a
   * connection, keeps settling some, and is left alone.)
   */
  readonly stallTimeoutMs: number
}

/** One postgres.js pool and the statements prepared on it. */
interface Generation {
  readonly client: Sql
  readonly queries: PostgresQueries
  /** Start times (performance.now()) of the statements in flight, oldest first. */
  readonly inFlight: Map<number, number>
  /** When a statement last settled (or the pool opened): a busy pool settles some, a dead one none. */
  lastSettled: number
}

// Server codes: 57P01 admin or crash shutdown (the postmaster died), 57P02 crash of another
// backend, 57P03 cannot connect now (starting up, recovering); class 08 is connection exceptions.
// Driver codes: postgres.js's CONNECTION_* and CONNECT_TIMEOUT, and Node's socket errors.
const LOST = new Set(['57P01', '57P02', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE'])
const UNREACHABLE = new Set(['57P03', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * How a statement's error says the connection failed: `'lost'` (it was open and died: a new one may
 * work at once), `'unreachable'` (no connection could be made), or undefined (the statement failed).
 * drizzle wraps the driver's error as `cause`.
 */
export function connectionFailure(error: unknown): 'lost' | 'unreachable' | undefined {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 3; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') {
      if (LOST.has(code)) return 'lost'
      if (UNREACHABLE.has(code) || code.startsWith('08')) return 'unreachable'
    }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * The PostgreSQL tier's connections: a postgres.js pool that is replaced by a new one, and its
 * connections destroyed, as soon as one of them is found dead, or a statement stalls.
 *
 * Why: when PostgreSQL crashes or restarts, the pool's other connections are as dead as the one
 * that failed, but postgres.js finds that out one statement at a time, and statements sent on a
 * connection to an orphaned backend may wait many seconds for an answer (57P01 at last); its
 * reconnections also back off exponentially, up to 20 s. A fresh pool has neither problem. So
 * the first sign of a lost connection replaces the pool, and a statement that failed because its
 * connection was lost is run once more on the new pool when it is safe to (reads and removals:
 * a late write could overwrite a newer one).
 */
export class RenewingPool {
  private current: Generation
  private sequence = 0
  private ended = false
  private readonly watchdog: NodeJS.Timeout

  constructor(private readonly options: PoolOptions) {
    this.current = this.open()
    this.watchdog = setInterval(() => this.checkStalls(), Math.max(50, Math.floor(options.stallTimeoutMs / 4)))
    this.watchdog.unref()
  }

  /** The pool in use now (for statements of its own, such as the expiry cleanup's). */
  get client(): Sql {
    return this.current.client
  }

  /**
   * Runs a statement on the current pool. A lost connection replaces the pool; with `retry`, the
   * statement then runs once more on the new one (for reads and removals, whose late run is harmless).
   */
  async run<T>(statement: (queries: PostgresQueries) => Promise<T>, retry: boolean): Promise<T> {
    const generation = this.current
    try {
      return await this.tracked(generation, statement)
    } catch (error) {
      const failure = connectionFailure(error)
      if (failure === undefined || this.ended) throw error
      if (generation === this.current) this.renew()
      if (!retry || failure !== 'lost') throw error
      return this.tracked(this.current, statement)
    }
  }

  /** Ends the pool, letting statements in flight finish (up to 5 s). */
  async end(): Promise<void> {
    this.ended = true
    clearInterval(this.watchdog)
    await this.current.client.end({ timeout: 5 })
  }

  private open(): Generation {
    const client = postgres(this.options.url, {
      max: this.options.maxConnections,
      onnotice: () => {},
      connection: { application_name: 'tiercache' },
      // The stack's circuit breaker spaces out attempts; postgres.js's own backoff would add up to 20 s.
      backoff: () => 0,
      connect_timeout: 5,
      // Idle connections are dropped, so that few outlive a restart that nobody saw.
      idle_timeout: 30,
    })
    return { client, queries: prepareQueries(drizzle({ client })), inFlight: new Map(), lastSettled: performance.now() }
  }

  private async tracked<T>(generation: Generation, statement: (queries: PostgresQueries) => Promise<T>): Promise<T> {
    const id = this.sequence++
    generation.inFlight.set(id, performance.now())
    try {
      return await statement(generation.queries)
    } finally {
      generation.inFlight.delete(id)
      generation.lastSettled = performance.now()
    }
  }

  private checkStalls(): void {
    const oldest = this.current.inFlight.values().next()
    if (oldest.done === true || this.ended) return
    const waitingSince = Math.max(oldest.value, this.current.lastSettled)
    if (performance.now() - waitingSince > this.options.stallTimeoutMs) this.renew()
  }

  /** Swaps in a new pool and destroys the old one's connections: their statements fail at once. */
  private renew(): void {
    const old = this.current
    this.current = this.open()
    old.client.end({ timeout: 0 }).catch(() => undefined)
  }
}
