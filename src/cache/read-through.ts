import type { EventEmitter } from 'node:events'
import { FactoryError, FactoryTimeoutError } from '../errors.js'
import type { Counters } from '../metrics/counters.js'
import { type EntryPolicy, type Served, createEntry, servedFrom } from './entry.js'
import type { CacheEvents } from './events.js'
import { type Factory, FactoryRun, callFactory } from './factory.js'
import { type Found, type TierStack, fresher } from './tier-stack.js'
import { type Limits, normalizeTags } from './validate.js'

/** How one read-through call stores and waits. Durations in ms. */
export interface CallPolicy extends EntryPolicy {
  readonly timeoutMs: number | undefined
  readonly hardTimeoutMs: number | undefined
}

interface Flight {
  readonly answer: Promise<Served<unknown>>
}

/** How a flight answers its callers: finally, with a stale value while it goes on, or with an error. */
interface FlightAnswers<V> {
  final(result: Served<V>): void
  stale(result: Served<V>): void
  fail(error: unknown): void
}

/**
 * Read-through for every namespace of a cache: single flight per key, the lookup in the shared
 * tiers, the factory call with its soft and hard timeouts, fail-safe, and the guarded write.
 */
export class ReadThrough {
  private readonly flights = new Map<string, Flight>()
  private readonly runs = new Set<FactoryRun<unknown>>()

  constructor(
    private readonly stack: TierStack,
    private readonly counters: Counters,
    private readonly events: EventEmitter<CacheEvents>,
    private readonly limits: Limits,
  ) {}

  /**
   * The value of `(namespace, key)`: joins the call in flight for it, or starts one that looks the key
   * up below L1 and runs the factory on a miss. The caller has validated key and policy.
   */
  run<V>(namespace: string, key: string, factory: Factory<V>, policy: CallPolicy): Promise<Served<V>> {
    const flightKey = namespace + ':' + key
    const flight = this.flights.get(flightKey)
    if (flight !== undefined) {
      this.counters.coalesced++
      return flight.answer as Promise<Served<V>>
    }
    return this.startFlight(flightKey, namespace, key, factory, policy)
  }

  /** Aborts every running factory's signal with `reason`. */
  abortAll(reason: unknown): void {
    for (const run of this.runs) run.abort(reason)
  }

  private startFlight<V>(flightKey: string, namespace: string, key: string, factory: Factory<V>, policy: CallPolicy): Promise<Served<V>> {
    const flights = this.flights
    let answered = false
    let resolveAnswer!: (result: Served<V>) => void
    let rejectAnswer!: (error: unknown) => void
    const answer = new Promise<Served<V>>((resolve, reject) => {
      resolveAnswer = resolve
      rejectAnswer = reject
    })
    const flight: Flight = { answer }
    // The flight leaves the map before it answers, so that a caller reacting to the answer starts
    // anew; only a stale answer (refresh still running) keeps it, so joiners share that stale value.
    const leave = () => {
      if (flights.get(flightKey) === flight) flights.delete(flightKey)
    }
    const answers: FlightAnswers<V> = {
      stale: (result) => {
        if (answered) return
        answered = true
        resolveAnswer(result)
      },
      final: (result) => {
        leave()
        answers.stale(result)
      },
      fail: (error) => {
        leave()
        if (answered) return
        answered = true
        rejectAnswer(error)
      },
    }
    flights.set(flightKey, flight)
    this.fly(namespace, key, factory, policy, answers).catch(answers.fail).finally(leave)
    return answer
  }

  private async fly<V>(namespace: string, key: string, factory: Factory<V>, policy: CallPolicy, answers: FlightAnswers<V>): Promise<void> {
    const { stack, counters } = this
    const since = stack.invalidations.begin()
    try {
      const now = Date.now()
      const inL1 = stack.l1?.peekKey(namespace, key, now)
      if (inL1 !== undefined && now < inL1.freshUntil) {
        counters.tiers.l1.hits++
        return answers.final(servedFrom(inL1, 'l1', now))
      }
      if (stack.l1) counters.tiers.l1.misses++
      const found = await stack.lookup(namespace, key, since, now)
      if (found !== undefined && now < found.entry.freshUntil) return answers.final(servedFrom(found.entry, found.source, now))
      const stale = fresher(inL1 === undefined ? undefined : { entry: inL1, source: 'l1' }, found)
      await this.runFactory(namespace, key, factory, policy, stale, since, answers)
    } finally {
      stack.invalidations.end()
    }
  }

  private async runFactory<V>(
    namespace: string,
    key: string,
    factory: Factory<V>,
    policy: CallPolicy,
    stale: Found | undefined,
    since: number,
    answers: FlightAnswers<V>,
  ): Promise<void> {
    const { counters, events, runs } = this
    const run = new FactoryRun<V>(namespace, key, stale?.entry.value as V | undefined)
    const serveStale = (): boolean => {
      if (stale === undefined) return false
      counters.staleServed++
      answers.stale(servedFrom(stale.entry, stale.source, Date.now()))
      return true
    }
    const timers: NodeJS.Timeout[] = []
    if (stale !== undefined && policy.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          counters.originTimeouts++
          serveStale()
        }, policy.timeoutMs),
      )
    }
    if (policy.hardTimeoutMs !== undefined) {
      const ms = policy.hardTimeoutMs
      timers.push(
        setTimeout(() => {
          counters.originTimeouts++
          const error = new FactoryTimeoutError(`factory took longer than its hard timeout of ${ms} ms`)
          run.abort(error)
          events.emit('factory:error', { namespace, key, error, servedStale: stale !== undefined })
          if (!serveStale()) answers.fail(error)
        }, ms),
      )
    }

    counters.originCalls++
    runs.add(run as FactoryRun<unknown>)
    let value: V
    try {
      value = await callFactory(factory, run)
    } catch (cause) {
      counters.originErrors++
      events.emit('factory:error', { namespace, key, error: cause, servedStale: stale !== undefined })
      if (!serveStale()) answers.fail(new FactoryError('factory failed and no stale value was available', { cause }))
      return
    } finally {
      for (const timer of timers) clearTimeout(timer)
      runs.delete(run as FactoryRun<unknown>)
    }

    const now = Date.now()
    if (value === undefined || run.skipped) {
      return answers.final({ value, source: 'origin', stale: false, ageMs: 0, freshUntil: now })
    }
    const entry = createEntry(
      namespace,
      key,
      value,
      {
        ttlMs: run.ttlMs ?? policy.ttlMs,
        graceMs: run.graceMs ?? policy.graceMs,
        tags: run.tags === undefined ? policy.tags : normalizeTags(run.tags, this.limits),
      },
      this.limits.maxValueBytes,
    )
    await this.stack.set(entry, since)
    answers.final(servedFrom(entry, 'origin', entry.createdAt))
  }
}
