import { z } from 'zod'
import type { Cache } from '../../cache/cache.js'
import { InvalidOptionsError } from '../../errors.js'
import type { HotKeySource } from './hot-keys.js'
import { planJob } from './plan.js'
import { type RunWarmOptions, type WarmReport, runWarm } from './run.js'
import { type WarmJob, type WarmJobInput, warmJobSchema } from './schema.js'

export { HotKeys, type HotKeySource, type HotKeysOptions, DEFAULT_HOT_KEYS_CAPACITY, trackHotKeys } from './hot-keys.js'
export { MAX_REPORTED_FAILURES, type RunWarmOptions, type WarmFailure, type WarmPlan, type WarmProgress, type WarmReport, type WarmTask, runWarm } from './run.js'
export { CronScheduler, type ScheduledJob, type SchedulerClock, SYSTEM_CLOCK } from './scheduler.js'
export { WARM_DEFAULTS, type UrlSource, type WarmConfig, type WarmJob, type WarmJobInput, type WarmSource, type WarmSourceContext, type WarmSourceFunction, warmJobSchema, warmSchema } from './schema.js'
export type { FetchLike } from './source.js'
export { planJob, type PlanOptions } from './plan.js'
export { DEFAULT_MAX_RUNS, Warmer, type WarmRunHandle, type WarmRunState, type WarmRunStatus, type WarmStartOptions, type WarmerOptions } from './warmer.js'

/** Options of {@link warm}. */
export interface WarmOptions extends RunWarmOptions {
  /** The name the report and the sources see. @default 'adhoc' */
  readonly name?: string
  /** Where `hot` finds the busiest keys (`trackHotKeys(cache)`). */
  readonly hotKeys?: HotKeySource
}

/**
 * Runs one job given in code, as the `warm` section declares them (docs/warming.md), without a
 * configuration: loads its keys from their sources into every tier of `cache` (its `namespace` view
 * when the job names one), at most `concurrency` at a time, and resolves with the report. A key's
 * failure is in the report, never thrown.
 *
 * @example
 * const report = await warm(cache, { policy: 'countries', keys: [{ key: 'countries', source: () => loadCountries() }] })
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when the job is invalid, before any key loads
 */
export async function warm(cache: Cache, job: WarmJobInput | WarmJob, options: WarmOptions = {}): Promise<WarmReport> {
  const parsed = warmJobSchema.safeParse(job)
  if (!parsed.success) throw new InvalidOptionsError(`invalid warming job: ${z.prettifyError(parsed.error)}`)
  const { name = 'adhoc', hotKeys, ...run } = options
  return runWarm(planJob(name, parsed.data, cache, hotKeys === undefined ? {} : { hotKeys }), run)
}
