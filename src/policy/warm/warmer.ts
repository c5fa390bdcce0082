import { randomUUID } from 'node:crypto'
import type { Cache } from '../../cache/cache.js'
import { CacheClosedError, InvalidOptionsError, UnknownWarmJobError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'
import type { HotKeySource } from './hot-keys.js'
import { planJob } from './plan.js'
import { type WarmProgress, type WarmReport, runWarm } from './run.js'
import { CronScheduler, type SchedulerClock } from './scheduler.js'
import type { WarmConfig, WarmJob } from './schema.js'
import type { FetchLike } from './source.js'

/** Where a run stands: running, or ended with every key tried (`done`) or stopped by {@link Warmer.close}. */
export type WarmRunState = 'running' | 'done' | 'stopped'

/** A run as {@link Warmer.status} and `GET /v1/warm/:id` show it. */
export interface WarmRunStatus {
  readonly id: string
  readonly job: string
  /** `schedule`: started by the job's cron schedule; `request`: by {@link Warmer.start}. */
  readonly trigger: 'schedule' | 'request'
  readonly state: WarmRunState
  /** Epoch ms. */
  readonly startedAt: number
  readonly progress: WarmProgress
  /** Once the run has ended. */
  readonly report?: WarmReport
}

/** A run {@link Warmer.start} started, or joined. */
export interface WarmRunHandle {
  readonly id: string
  /** True when the job was already running (as a whole): this is that run, not a new one. */
  readonly joined: boolean
  /** The report, once the run ends; never rejects. */
  readonly done: Promise<WarmReport>
  /** Its status now. */
  status(): WarmRunStatus
}

/** Options of {@link Warmer.start}. */
export interface WarmStartOptions {
  /** Load only these keys (through the job's sources) instead of the whole job. */
  readonly keys?: readonly string[]
  /** The view to write in instead of the warmer's cache (the server: the caller's tenant view). */
  readonly cache?: Cache
  /** Who may see the run in {@link Warmer.status} (the server: the tenant). @default none: anyone asking without an owner */
  readonly owner?: string
  /** Called after each key. */
  readonly onProgress?: (progress: WarmProgress) => void
}

/** Options of {@link Warmer}. */
export interface WarmerOptions {
  /** Where jobs with `hot` find the busiest keys: `trackHotKeys(cache)`, or the server's sketches. */
  readonly hotKeys?: HotKeySource
  /** Finished runs remembered for {@link Warmer.status}; the oldest is forgotten first. @default 100 */
  readonly maxRuns?: number
  /** Called when a run ends (its status, with the report); a listener that throws is ignored. */
  readonly onRunEnd?: (status: WarmRunStatus) => void
  /** The `fetch` of URL sources. @default globalThis.fetch */
  readonly fetch?: FetchLike
}

interface RunRecord {
  readonly id: string
  readonly job: string
  readonly trigger: 'schedule' | 'request'
  readonly owner: string | undefined
  readonly startedAt: number
  readonly controller: AbortController
  readonly listeners: Set<(progress: WarmProgress) => void>
  state: WarmRunState
  progress: WarmProgress
  report: WarmReport | undefined
  readonly done: Promise<WarmReport>
}

/** Default of {@link WarmerOptions.maxRuns}. */
export const DEFAULT_MAX_RUNS = 100

/**
 * The warming jobs of a policy configuration (its `warm` section, docs/warming.md) over one cache:
 * starts runs by job name ({@link start}, {@link run}), remembers their status by id, runs the jobs
 * that have a `schedule` on it ({@link schedule}), and stops everything on {@link close}. A job never
 * overlaps itself: starting a job that is running (as a whole, for the same owner) joins that run.
 * A run's failures are in its report; nothing a run does rejects or throws at another caller.
 */
export class Warmer {
  private readonly jobs: ReadonlyMap<string, WarmJob>
  private readonly runs = new Map<string, RunRecord>()
  /** The whole-job run going on, by owner and job. */
  private readonly current = new Map<string, RunRecord>()
  private readonly maxRuns: number
  private scheduler: CronScheduler | undefined
  private closed = false

  /**
   * @param config - a validated policy configuration (`policy.config`, `loadPolicyConfig`), or its `warm` section
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when a job names a ttl policy that the
   *   configuration does not declare, or `maxRuns` is not a positive integer
   */
  constructor(
    private readonly cache: Cache,
    config: PolicyConfig | WarmConfig | undefined,
    private readonly options: WarmerOptions = {},
  ) {
    const warm = config === undefined ? undefined : 'jobs' in config ? (config as WarmConfig) : (config as PolicyConfig).warm
    const policies = config !== undefined && 'policies' in config ? (config as PolicyConfig).policies : undefined
    this.jobs = new Map(Object.entries(warm?.jobs ?? {}))
    for (const [name, job] of this.jobs) {
      if (policies !== undefined && job.policy !== undefined && !Object.hasOwn(policies, job.policy)) {
        throw new InvalidOptionsError(`warm.jobs.${name}.policy: ${job.policy} is not a policy of the configuration; policies: ${Object.keys(policies).sort().join(', ') || 'none'}`)
      }
    }
    this.maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS
    if (!Number.isSafeInteger(this.maxRuns) || this.maxRuns < 1) throw new InvalidOptionsError(`maxRuns must be a positive integer, not ${this.maxRuns}`)
  }

  /** The names of the declared jobs, sorted. */
  get jobNames(): string[] {
    return [...this.jobs.keys()].sort()
  }

  /** A declared job, validated; undefined when there is none of that name. */
  job(name: string): WarmJob | undefined {
    return this.jobs.get(name)
  }

  /**
   * Starts a run of job `name`, or joins the run of it going on (a whole-job run, same owner). Returns
   * at once; the keys load in the background.
   * @throws UnknownWarmJobError (`TC_UNKNOWN_WARM_JOB`) for a job the configuration does not declare;
   *   InvalidOptionsError (`TC_INVALID_OPTIONS`) for `keys` the job has no source for;
   *   CacheClosedError once the warmer or its cache is closed
   */
  start(name: string, options: WarmStartOptions = {}, trigger: 'schedule' | 'request' = 'request'): WarmRunHandle {
    const job = this.jobs.get(name)
    if (job === undefined) {
      const known = this.jobNames
      throw new UnknownWarmJobError(`no warming job ${JSON.stringify(name.slice(0, 128))}${known.length === 0 ? ': the configuration declares none' : `; jobs: ${known.join(', ')}`}`)
    }
    const cache = options.cache ?? this.cache
    if (this.closed || cache.closed) throw new CacheClosedError(this.closed ? 'the warmer is closed' : 'cache is closed')
    const whole = options.keys === undefined
    const slot = `${options.owner ?? ''}\u0000${name}`
    const running = whole ? this.current.get(slot) : undefined
    if (running !== undefined) {
      if (options.onProgress !== undefined) running.listeners.add(options.onProgress)
      return handleOf(running, true)
    }
    const plan = planJob(name, job, cache, { ...(options.keys === undefined ? {} : { keys: options.keys }), ...(this.options.hotKeys === undefined ? {} : { hotKeys: this.options.hotKeys }) })
    const controller = new AbortController()
    const listeners = new Set<(progress: WarmProgress) => void>(options.onProgress === undefined ? [] : [options.onProgress])
    // `record` is declared below: runWarm calls back only after its first await, once it exists.
    const done = runWarm(plan, {
      signal: controller.signal,
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
      onProgress: (progress) => {
        record.progress = progress
        for (const listener of listeners) quietly(() => listener(progress))
      },
    }).then((report) => this.ended(record, slot, report))
    const record: RunRecord = {
      id: randomUUID(),
      job: name,
      trigger,
      owner: options.owner,
      startedAt: Date.now(),
      controller,
      listeners,
      state: 'running',
      progress: { done: 0, total: plan.tasks.length, loaded: 0, failed: 0 },
      report: undefined,
      done,
    }
    this.runs.set(record.id, record)
    if (whole) this.current.set(slot, record)
    return handleOf(record, false)
  }

  /** {@link start}, resolving with the run's report. @throws as {@link start} */
  run(name: string, options?: WarmStartOptions): Promise<WarmReport> {
    return this.start(name, options).done
  }

  /** The status of run `id`; undefined for a run not known, forgotten, or of another `owner`. */
  status(id: string, owner?: string): WarmRunStatus | undefined {
    const record = this.runs.get(id)
    if (record === undefined || record.owner !== owner) return undefined
    return statusOf(record)
  }

  /**
   * Runs every job that has a `schedule` at the times of its cron pattern (croner), in the warmer's
   * cache, until {@link close}. A time that comes while the job's previous run goes on joins it (the
   * job does not run twice at once). `clock` is for tests. Idempotent.
   * @returns when each scheduled job runs next, epoch ms
   */
  schedule(clock?: SchedulerClock): Record<string, number | undefined> {
    if (this.scheduler === undefined && !this.closed) {
      const scheduled = [...this.jobs].filter(([, job]) => job.schedule !== undefined)
      this.scheduler = new CronScheduler(
        scheduled.map(([name, job]) => ({ name, schedule: job.schedule ?? '', ...(job.timezone === undefined ? {} : { timezone: job.timezone }) })),
        (name) => {
          try {
            this.start(name, {}, 'schedule')
          } catch {
            // Only a closed cache stops a start of a declared job; the next time tries again.
          }
        },
        clock,
      )
    }
    const scheduler = this.scheduler
    return Object.fromEntries([...this.jobs].filter(([, job]) => job.schedule !== undefined).map(([name]) => [name, scheduler?.nextRun(name)]))
  }

  /** Stops the schedule and every run (sources are aborted, keys not started skipped), and resolves once they have ended. Idempotent. */
  async close(): Promise<void> {
    this.closed = true
    this.scheduler?.stop()
    const running = [...this.runs.values()].filter((record) => record.state === 'running')
    for (const record of running) record.controller.abort(new Error('warmer closed'))
    await Promise.all(running.map((record) => record.done))
  }

  private ended(record: RunRecord, slot: string, report: WarmReport): WarmReport {
    record.report = report
    record.state = report.stopped ? 'stopped' : 'done'
    record.listeners.clear()
    if (this.current.get(slot) === record) this.current.delete(slot)
    // Forget the oldest finished runs past maxRuns (a map iterates in insertion order).
    let finished = [...this.runs.values()].filter((other) => other.state !== 'running').length
    for (const [id, other] of this.runs) {
      if (finished <= this.maxRuns) break
      if (other.state === 'running') continue
      this.runs.delete(id)
      finished--
    }
    quietly(() => this.options.onRunEnd?.(statusOf(record)))
    return report
  }
}

/** Calls a listener; one that throws is ignored: a listener's fault is not the run's. */
function quietly(listener: () => void): void {
  try {
    listener()
  } catch {
    // ignored, see above
  }
}

function handleOf(record: RunRecord, joined: boolean): WarmRunHandle {
  return { id: record.id, joined, done: record.done, status: () => statusOf(record) }
}

function statusOf(record: RunRecord): WarmRunStatus {
  return {
    id: record.id,
    job: record.job,
    trigger: record.trigger,
    state: record.state,
    startedAt: record.startedAt,
    progress: record.progress,
    ...(record.report === undefined ? {} : { report: record.report }),
  }
}
