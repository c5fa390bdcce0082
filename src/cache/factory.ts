import { InvalidDurationError } from '../errors.js'
import { type Duration, toMs } from '../core/duration.js'

/**
 * What a factory receives: the key, the stale value if one is within grace, an abort signal, and
 * ways to decide how its result is cached.
 */
export interface FactoryContext<V> {
  readonly namespace: string
  readonly key: string
  /** The stale value within grace, if any; useful to return unchanged data cheaply. */
  readonly staleValue: V | undefined
  /** Aborted when the call passes its `hardTimeout` or the cache closes. */
  readonly signal: AbortSignal
  /** Overrides the ttl of this result. @throws InvalidDurationError */
  setTtl(ttl: Duration): void
  /** Overrides the grace of this result. @throws InvalidDurationError */
  setGrace(grace: Duration): void
  /** Replaces the tags of this result (validated when the result is stored). */
  setTags(tags: readonly string[]): void
  /** Returns the result to the caller without caching it. */
  skip(): void
}

/** Produces the value on a miss: the call to the origin (database, API, LLM). */
export type Factory<V> = (ctx: FactoryContext<V>) => V | Promise<V>

/** A factory call's context, recording what the factory decided. */
export class FactoryRun<V> implements FactoryContext<V> {
  ttlMs: number | undefined
  graceMs: number | undefined
  tags: readonly string[] | undefined
  skipped = false
  private readonly controller = new AbortController()

  constructor(
    readonly namespace: string,
    readonly key: string,
    readonly staleValue: V | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal
  }

  setTtl(ttl: Duration): void {
    const ms = toMs(ttl, 'ttl')
    if (ms === 0) throw new InvalidDurationError('ttl must be positive')
    this.ttlMs = ms
  }

  setGrace(grace: Duration): void {
    this.graceMs = toMs(grace, 'grace')
  }

  setTags(tags: readonly string[]): void {
    this.tags = [...tags]
  }

  skip(): void {
    this.skipped = true
  }

  abort(reason: unknown): void {
    this.controller.abort(reason)
  }
}

/** Calls the factory, turning a synchronous throw into a rejection. */
export async function callFactory<V>(factory: Factory<V>, run: FactoryRun<V>): Promise<V> {
  return factory(run)
}
