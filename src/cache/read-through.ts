import type { DistributedLock } from '../bus/lock.js'
import { type Entry, type Served, createEntry, servedFrom } from '../core/entry.js'
import { type Limits, normalizeTags } from '../core/validate.js'
import { FactoryError, FactoryTimeoutError } from '../errors.js'
import type { CallPolicy } from './call-policy.js'
import type { Instruments } from './instruments/instruments.js'
import { ORIGIN_INDEX, type NamespaceSeries, type OriginOutcome, bump } from './instruments/series.js'
import type { EngineEvents } from './events.js'
import { type Factory, FactoryRun, callFactory } from './factory.js'
import { namespaceOf } from './scope.js'
import type { Fill, Found, TierStack } from './tier-stack.js'

interface Flight {
  readonly answer: Promise<Served<unknown>>
}

/** One origin call of a flight, for its instruments: started when, and whether its outcome is counted. */
interface OriginCall {
  readonly series: NamespaceSeries
  /** The storage namespace and the key, for the `origin:call` event. */
  readonly namespace: string
  readonly key: string
  /** performance.now() when the factory was called; undefined before (or when nothing is timed). */
  started: number | undefined
  /** How long the origin took, once it answered, ms. */
  durationMs?: number
  called: boolean
  ended: boolean
}

/** What a factory call produced: a value from the origin, or one another process stored meanwhile. */
type Produced<V> =
  | { readonly kind: 'origin'; readonly value: V; readonly release: () => Promise<void>; readonly computeMs: number | undefined }
  | { readonly kind: 'found'; readonly found: Found }

/** The lock that makes read-through single flight across processes. */
export interface CrossProcessLock {
  readonly lock: DistributedLock
  /** How long a holder keeps the lock without extending it: a crashed holder delays others this long at most. */
  readonly ttlMs: number
}

const noRelease = async (): Promise<void> => {}

/** Longest a process waits on another's lock before it looks for the value and tries the lock again, ms. */
export const LOCK_WAIT_SLICE_MS = 250

/** How a flight answers its callers: finally, with a stale value while it goes on, or with an error. */
interface FlightAnswers<V> {
  final(result: Served<V>): void
  stale(result: Served<V>): void
  fail(error: unknown): void
}

/**
 * Read-through for every namespace of a cache: single flight per key, the lookup in the shared
 * tiers, the factory call with its soft and hard timeouts, fail-safe, and the guarded write.
 *
 * With a {@link CrossProcessLock}, single flight holds across processes too: the process that takes
 * the lock on a key runs the factory (extending the lock while it runs) and releases it once the
 * value is stored; the others wait for the release and read the value from the shared tiers. If the
 * lock backend fails, each process falls back to its own single flight.
 */
export class ReadThrough {
  private readonly flights = new Map<string, Flight>()
  private readonly runs = new Set<FactoryRun<unknown>>()
  /** Keys being refreshed ahead of expiry here (`namespace:key`). */
  private readonly refreshing = new Set<string>()
  /** The last origin call's duration per namespace, ms: δ for entries that carry none (read from a shared tier). */
  private readonly computeMs = new Map<string, number>()

  constructor(
    private readonly stack: TierStack,
    private readonly instruments: Instruments,
    private readonly events: EngineEvents,
    private readonly limits: Limits,
    private readonly crossProcess?: CrossProcessLock,
  ) {}

  /**
   * The value of `(namespace, key)`: joins the call in flight for it, or starts one that reads the
   * key through the stack and runs the factory on a miss. The caller has validated key and policy.
   * Counted in `series` (the namespace's): coalesced, origin calls, and lookups answered without one.
   */
  run<V>(namespace: string, key: string, factory: Factory<V>, policy: CallPolicy, series: NamespaceSeries): Promise<Served<V>> {
    const flightKey = namespace + ':' + key
    const flight = this.flights.get(flightKey)
    if (flight !== undefined) {
      series.coalesced++
      // It joins an origin call, if any: one it did not make.
      series.saved++
      return flight.answer as Promise<Served<V>>
    }
    return this.startFlight(flightKey, namespace, key, factory, policy, series)
  }

  /**
   * Refreshes `(namespace, key)` ahead of its expiry, in the background: the caller already has its
   * answer (the fresh entry created at `createdAt`). Skipped when a read-through or a refresh of the
   * key is in flight here, or another process holds the key's lock (it is filling or refreshing it);
   * with the lock, skipped too when the shared tiers already hold a newer entry (another process
   * refreshed it meanwhile: that entry is backfilled instead). Writes every tier through a guarded
   * fill. Never rejects: a failure is reported as `factory:error` and the current entry lives on.
   */
  async refreshAhead<V>(namespace: string, key: string, factory: Factory<V>, policy: CallPolicy, series: NamespaceSeries, createdAt: number, current: V): Promise<void> {
    const flightKey = namespace + ':' + key
    if (this.flights.has(flightKey) || this.refreshing.has(flightKey)) return
    this.refreshing.add(flightKey)
    const fill = this.stack.fillWithoutRead(namespace, key)
    const run = new FactoryRun<V>(namespaceOf(namespace), key, current)
    const call: OriginCall = { series, namespace, key, started: undefined, called: false, ended: false }
    let release = noRelease
    let renewal: NodeJS.Timeout | undefined
    this.runs.add(run as FactoryRun<unknown>)
    try {
      const crossProcess = this.crossProcess
      if (crossProcess !== undefined) {
        const { lock, ttlMs } = crossProcess
        let token: string | undefined
        try {
          token = await lock.acquire(flightKey, ttlMs)
        } catch (error) {
          this.events.emit('bus:error', { operation: 'lock', error })
          token = ''
        }
        if (token === undefined) return
        if (token !== '') {
          const held = token
          release = () => lock.release(flightKey, held).catch((error: unknown) => void this.events.emit('bus:error', { operation: 'lock', error }))
          const found = await fill.lookAgain()
          if (found !== undefined && found.entry.createdAt > createdAt) return
          renewal = setInterval(() => void lock.extend(flightKey, held, ttlMs).catch(() => undefined), Math.max(1, Math.floor(ttlMs / 3)))
        }
      }
      const produced = await this.callOrigin(factory, run, release, call)
      if (produced.kind !== 'origin' || produced.value === undefined || run.skipped) return
      await fill.store(this.entryOf(namespace, key, produced.value, run, policy, produced.computeMs))
    } catch (error) {
      this.events.emit('factory:error', { namespace, key, error, servedStale: false })
    } finally {
      clearInterval(renewal)
      await release()
      this.runs.delete(run as FactoryRun<unknown>)
      this.refreshing.delete(flightKey)
      fill.done()
    }
  }

  /** How long the last origin call of `namespace` took here, ms; undefined before the first. */
  computeMsOf(namespace: string): number | undefined {
    return this.computeMs.get(namespace)
  }

  /** Aborts every running factory's signal with `reason`. */
  abortAll(reason: unknown): void {
    for (const run of this.runs) run.abort(reason)
  }

  private startFlight<V>(flightKey: string, namespace: string, key: string, factory: Factory<V>, policy: CallPolicy, series: NamespaceSeries): Promise<Served<V>> {
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
    const call: OriginCall = { series, namespace, key, started: undefined, called: false, ended: false }
    this.fly(namespace, key, factory, policy, answers, call).catch(answers.fail).finally(leave)
    return answer
  }

  private async fly<V>(namespace: string, key: string, factory: Factory<V>, policy: CallPolicy, answers: FlightAnswers<V>, call: OriginCall): Promise<void> {
    const fill = await this.stack.readForFill(namespace, key)
    try {
      const found = fill.found
      if (found?.fresh === true) {
        call.series.saved++
        return answers.final(servedFrom(found.entry, found.source, Date.now(), false))
      }
      await this.runFactory(namespace, key, factory, policy, found, fill, answers, call)
    } finally {
      fill.done()
    }
  }

  private async runFactory<V>(
    namespace: string,
    key: string,
    factory: Factory<V>,
    policy: CallPolicy,
    stale: Found | undefined,
    fill: Fill,
    answers: FlightAnswers<V>,
    call: OriginCall,
  ): Promise<void> {
    const { events, runs } = this
    // The factory sees the namespace as its caller names it, not the scope prefix tiers store.
    const run = new FactoryRun<V>(namespaceOf(namespace), key, stale?.entry.value as V | undefined)
    const serveStale = (reason: 'factory-error' | 'timeout'): boolean => {
      if (stale === undefined) return false
      this.stack.servedStale(stale, reason)
      answers.stale(servedFrom(stale.entry, stale.source, Date.now(), true))
      return true
    }
    const timers: NodeJS.Timeout[] = []
    if (stale !== undefined && policy.timeoutMs !== undefined) timers.push(setTimeout(() => serveStale('timeout'), policy.timeoutMs))
    if (policy.hardTimeoutMs !== undefined) {
      const ms = policy.hardTimeoutMs
      timers.push(
        setTimeout(() => {
          this.originEnded(call, 'timeout')
          const error = new FactoryTimeoutError(`factory took longer than its hard timeout of ${ms} ms`)
          run.abort(error)
          events.emit('factory:error', { namespace, key, error, servedStale: stale !== undefined })
          if (!serveStale('timeout')) this.failOrFallback(error, error, policy, answers)
        }, ms),
      )
    }

    runs.add(run as FactoryRun<unknown>)
    let produced: Produced<V>
    try {
      produced = await this.produce(namespace, key, factory, run, fill, call)
    } catch (cause) {
      // Given up before calling the origin (the hard timeout, while waiting on another process's lock).
      if (!call.called) call.series.saved++
      events.emit('factory:error', { namespace, key, error: cause, servedStale: stale !== undefined })
      if (!serveStale('factory-error')) this.failOrFallback(new FactoryError('factory failed and no stale value was available', { cause }), cause, policy, answers)
      return
    } finally {
      for (const timer of timers) clearTimeout(timer)
      runs.delete(run as FactoryRun<unknown>)
    }
    if (produced.kind === 'found') {
      call.series.saved++
      return answers.final(servedFrom(produced.found.entry, produced.found.source, Date.now(), false))
    }

    try {
      const { value } = produced
      const now = Date.now()
      if (value === undefined || run.skipped) {
        return answers.final({ value, source: 'origin', stale: false, ageMs: 0, freshUntil: now })
      }
      const entry = this.entryOf(namespace, key, value, run, policy, produced.computeMs)
      await fill.store(entry)
      answers.final(servedFrom(entry, 'origin', entry.createdAt, false))
    } finally {
      // Only now: processes waiting on the lock read the value the moment it is released.
      await produced.release()
    }
  }

  /**
   * Answers with the call's fallback value (source `fallback`, not cached) when it has one that
   * succeeds, else fails with `error`. `cause` is what the fallback is told went wrong.
   */
  private failOrFallback<V>(error: unknown, cause: unknown, policy: CallPolicy, answers: FlightAnswers<V>): void {
    const fallback = policy.fallback
    if (fallback === undefined) return answers.fail(error)
    Promise.resolve()
      .then(() => fallback(cause))
      .then(
        (value) => answers.final({ value: value as V, source: 'fallback', stale: true, ageMs: 0, freshUntil: Date.now() }),
        () => answers.fail(error),
      )
  }

  /** The entry of a factory's result: the call's policy, with what the factory decided over it. */
  private entryOf<V>(namespace: string, key: string, value: V, run: FactoryRun<V>, policy: CallPolicy, computeMs: number | undefined): Entry<V> {
    const tags = run.tags === undefined ? policy.tags : normalizeTags(run.tags, this.limits)
    return createEntry(namespace, key, value, { ttlMs: run.ttlMs ?? policy.ttlMs, graceMs: run.graceMs ?? policy.graceMs, tags }, this.limits.maxValueBytes, computeMs)
  }

  /**
   * Calls the factory, under the cross-process lock when there is one. Without the lock, waits for
   * its holder and takes what it stored; if the holder stored nothing (it failed, or crashed and its
   * lock expired), tries to take the lock itself. Rejects with the factory's error.
   */
  private async produce<V>(namespace: string, key: string, factory: Factory<V>, run: FactoryRun<V>, fill: Fill, call: OriginCall): Promise<Produced<V>> {
    const crossProcess = this.crossProcess
    if (crossProcess === undefined) return this.callOrigin(factory, run, noRelease, call)
    const { lock, ttlMs } = crossProcess
    const name = namespace + ':' + key
    for (;;) {
      if (run.signal.aborted) throw run.signal.reason
      let token: string | undefined
      try {
        token = await lock.acquire(name, ttlMs)
      } catch (error) {
        this.events.emit('bus:error', { operation: 'lock', error })
        return this.callOrigin(factory, run, noRelease, call)
      }
      if (token !== undefined) {
        const held = token
        const release = () => lock.release(name, held).catch((error: unknown) => void this.events.emit('bus:error', { operation: 'lock', error }))
        // Another process may have stored the value between our miss and our lock.
        const found = await fill.lookAgain()
        if (found !== undefined) {
          await release()
          return { kind: 'found', found }
        }
        const renewal = setInterval(() => void lock.extend(name, held, ttlMs).catch(() => undefined), Math.max(1, Math.floor(ttlMs / 3)))
        try {
          return await this.callOrigin(factory, run, release, call)
        } catch (error) {
          await release()
          throw error
        } finally {
          clearInterval(renewal)
        }
      }
      // The release notice wakes us at once; the slice bounds the wait when the notice is lost (the
      // holder crashed, or Redis restarted and forgot the lock) to one slice, not a whole lock ttl.
      await lock.waitForRelease(name, Math.min(ttlMs, LOCK_WAIT_SLICE_MS))
      const found = await fill.lookAgain()
      if (found !== undefined) return { kind: 'found', found }
    }
  }

  private async callOrigin<V>(factory: Factory<V>, run: FactoryRun<V>, release: () => Promise<void>, call: OriginCall): Promise<Produced<V>> {
    call.called = true
    call.series.originStarted++
    // Always timed: the duration is XFetch's δ (see refresh-ahead.ts) as well as a metric.
    call.started = performance.now()
    let value: V
    try {
      value = await callFactory(factory, run)
    } catch (error) {
      this.originEnded(call, 'error')
      throw error
    }
    this.originEnded(call, 'ok')
    return { kind: 'origin', value, release, computeMs: call.durationMs }
  }

  /** Counts the outcome of the flight's origin call, the first time only (a hard timeout comes before the late result). */
  private originEnded(call: OriginCall, outcome: OriginOutcome): void {
    if (!call.called || call.ended) return
    call.ended = true
    bump(call.series.origin, ORIGIN_INDEX[outcome])
    if (call.started === undefined) return
    const seconds = (performance.now() - call.started) / 1000
    call.durationMs = seconds * 1000
    if (outcome === 'ok') this.computeMs.set(call.namespace, seconds * 1000)
    if (this.instruments.on) call.series.originDuration.observe(seconds)
    if (this.events.heard['origin:call']) this.events.emit('origin:call', { namespace: call.namespace, key: call.key, outcome, durationMs: seconds * 1000 })
  }
}
