/**
 * The replay engine behind `tiercache replay`, for programs and benchmarks: read a trace or generate
 * a workload, replay it through a cache, report hit ratios and latencies.
 *
 * @example
 * const report = await runReplay({ trace: 'zipf:0.99:100000', workload: { requests: 200_000 }, l3: false })
 * console.log(formatReport(report))
 */
export {
  type ComparisonOptions,
  type ComparisonReport,
  type ComparisonRun,
  DEFAULT_REPLAY_RATE,
  type ReplayVariant,
  type RunTtl,
  runComparison,
} from './compare.js'
export { formatComparison } from './compare-report.js'
export { type LatencySummary, LatencyRecorder } from './latency.js'
export { Xoshiro128, type RandomSource } from './random.js'
export { type ReplayReport, type ReplaySetup, type ReplayTierReport, buildReport, formatReport } from './report.js'
export {
  DEFAULT_REPLAY_CONCURRENCY,
  DEFAULT_REPLAY_L1,
  type ReplayL3,
  type ReplayOptions,
  type ReplayProgress,
  describeL3,
  runReplay,
} from './run.js'
export { MAX_TRACE_KEY_LENGTH, type Trace, openTrace, readTrace } from './trace.js'
export {
  DEFAULT_WORKLOAD_REQUESTS,
  DEFAULT_WORKLOAD_SEED,
  type WorkloadOptions,
  type ZipfWorkload,
  generateWorkload,
  isWorkloadSpec,
  parseWorkload,
  resolveWorkloadOptions,
} from './workload.js'
export { ZipfSampler } from './zipf.js'
