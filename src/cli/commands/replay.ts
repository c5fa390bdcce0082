import { writeFile } from 'node:fs/promises'
import { SingleBar } from 'cli-progress'
import { type Command, Option } from 'commander'
import { type ContextRole, InvalidOptionsError, loadPolicy } from '../../index.js'
import type { CliContext } from '../context.js'
import { CliError, ExitCode } from '../errors.js'
import { bytesFlag, contextPairFlag, dateFlag, durationMsFlag, integerFlag, l3Flag } from '../flags.js'
import { formatInteger } from '../format.js'
import { policyFileOption } from '../policy-file.js'
import { L1_EVICTIONS, type L1Eviction } from '../../tiers/memory.js'
import { hitRatioChart } from '../replay/chart.js'
import { formatComparison } from '../replay/compare-report.js'
import { runSizing } from '../replay/sizes.js'
import { formatSizing } from '../replay/sizes-report.js'
import { DEFAULT_REPLAY_RATE, type ReplayVariant, runComparison } from '../replay/compare.js'
import { formatReport } from '../replay/report.js'
import { DEFAULT_REPLAY_CONCURRENCY, DEFAULT_REPLAY_L1, type ReplayL3, type ReplayProgress, runReplay } from '../replay/run.js'
import { DEFAULT_WORKLOAD_REQUESTS, DEFAULT_WORKLOAD_SEED, isWorkloadSpec } from '../replay/workload.js'

interface ReplayFlags {
  readonly l1: boolean
  readonly l1Entries: number
  readonly l1Bytes: number
  readonly l3: ReplayL3
  readonly originLatency: number
  readonly concurrency: number
  readonly limit?: number
  readonly requests: number
  readonly seed: number
  readonly valueBytes: number
  readonly json?: boolean
  readonly ttl?: readonly number[]
  readonly policy?: readonly string[]
  readonly policyFile?: string
  readonly context: Readonly<Record<string, string>>
  readonly role?: ContextRole
  readonly rate: number
  readonly start?: number
  readonly sizes?: readonly number[]
  readonly eviction?: readonly L1Eviction[]
  readonly chart?: string
}

/** The flags that a sizing replay (--sizes) takes besides the trace's; it refuses the others. */
const SIZING_FLAGS = new Set(['sizes', 'eviction', 'chart', 'json', 'limit', 'requests', 'seed'])

/** The flags that only a comparison (--ttl, --policy) takes, and those it refuses. */
const COMPARISON_ONLY = ['policyFile', 'context', 'role', 'rate', 'start'] as const
const NOT_IN_COMPARISON = ['concurrency', 'originLatency'] as const

const HELP = `
<trace> is a file with one key per line, plain text or gzip, or a workload:
  zipf:<s>:<keys>   requests for keys "1".."<keys>", drawn with P(k) ~ 1/k^s
                    (s = 0 uniform, 0.99 the YCSB default); --requests, --seed

Each request is cache.getOrSet(key, origin), where the origin waits --origin-latency.
Hit ratios are fractions of all requests. With --concurrency > 1, requests start in trace
order but a missed key enters L1 only when its answer arrives, and a request for a key
whose origin call is in flight joins it (reported as "coalesced", not as a hit): use
--concurrency 1 for figures comparable to a cache simulator's.

With --sizes, the trace is replayed once through an L1 per size and per --eviction policy
(lru, tinylfu), unit-size entries bounded by count, and the hit ratio of each is printed: where
more memory stops paying. --chart draws those hit ratios against the size as an SVG file.

With --ttl and/or --policy, the trace is replayed once per ttl and per policy, each on a fresh
cache, and their hit ratios are printed side by side. Traces carry no timestamps: request i is
made at --start + i / --rate on a virtual clock, one request at a time, and the origin answers at
once. Policies are read from --policy-file; --role and --context give every call's context.

Examples:
  tiercache replay ./traces/oltp.keys.gz --l1-entries 1000
  tiercache replay zipf:0.99:1000000 --requests 2000000 --l3 none --json
  tiercache replay ./traces/oltp.keys.gz --sizes 1000,2000,5000,10000 --eviction lru,tinylfu --chart oltp.svg
  tiercache replay ./traces/oltp.keys.gz --l3 none --ttl 1m,1h --rate 1000
  tiercache replay ./search.keys --policy search,quote --policy-file ./policies.json --start 2027-06-01`

/**
 * `tiercache replay <trace>`: the sizing tool. Replays a trace or workload through a cache (see
 * {@link runReplay}) and prints a report, or with `--json` the {@link ReplayReport} as one object.
 * A progress bar is drawn on stderr when it is a terminal, unless `--json`. SIGINT stops the replay
 * (requests in flight finish, the temporary L3 is deleted) and exits 130.
 */
export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description('replay an access trace through a cache and report hit ratios and latencies (the sizing tool)')
    .argument('<trace>', 'trace file (plain or gzip, one key per line) or workload zipf:<s>:<keys>')
    .addOption(new Option('--l1-entries <n>', 'most entries in L1').argParser(integerFlag('--l1-entries')).default(DEFAULT_REPLAY_L1.maxEntries))
    .addOption(new Option('--l1-bytes <size>', 'most bytes in L1, e.g. 64MiB').argParser(bytesFlag('--l1-bytes')).default(DEFAULT_REPLAY_L1.maxBytes, '64MiB'))
    .option('--no-l1', 'replay without L1')
    .addOption(
      new Option('--l3 <l3>', 'none | temp | sqlite:<path> | postgres:<url> (temp: a new SQLite file, deleted afterwards)')
        .argParser(l3Flag('--l3'))
        .default('temporary', 'temp'),
    )
    .addOption(new Option('--origin-latency <duration>', 'delay of each origin call, e.g. 1ms, 0').argParser(durationMsFlag('--origin-latency')).default(1, '1ms'))
    .addOption(new Option('--concurrency <n>', 'requests in flight at once').argParser(integerFlag('--concurrency', 1, 100_000)).default(DEFAULT_REPLAY_CONCURRENCY))
    .addOption(new Option('--limit <n>', 'replay at most this many requests').argParser(integerFlag('--limit')))
    .addOption(new Option('--requests <n>', 'requests of a zipf workload').argParser(integerFlag('--requests')).default(DEFAULT_WORKLOAD_REQUESTS, '1000000'))
    .addOption(new Option('--seed <n>', 'seed of a zipf workload').argParser(integerFlag('--seed', 0)).default(DEFAULT_WORKLOAD_SEED))
    .addOption(new Option('--value-bytes <n>', 'size of each value').argParser(integerFlag('--value-bytes', 0, 1_000_000)).default(100))
    .option('--json', 'print the report as one JSON object')
    .addOption(new Option('--ttl <list>', 'compare runs with these ttls, e.g. 1m,5m,1h').argParser(listFlag('--ttl', durationMsFlag('--ttl'))))
    .addOption(new Option('--policy <list>', 'compare runs whose calls name these policies, e.g. search,quote').argParser(listFlag('--policy', (name) => name)))
    .addOption(policyFileOption('optional'))
    .addOption(new Option('--role <role>', "the role of the calls of a comparison").choices(['anon', 'authenticated', 'service']))
    .addOption(new Option('--context <key=value>', 'a context field of the calls naming a policy; repeatable').argParser(contextPairFlag('--context')).default({}, 'none'))
    .addOption(new Option('--rate <n>', 'requests per second of the virtual clock of a comparison').argParser(integerFlag('--rate', 1, 1_000_000_000)).default(DEFAULT_REPLAY_RATE))
    .addOption(new Option('--start <date>', 'virtual time of the first request of a comparison, e.g. 2027-06-01 (default: now)').argParser(dateFlag('--start')))
    .addOption(new Option('--sizes <list>', 'L1 sizes to compare in one pass, in entries, e.g. 1000,2000,5000').argParser(listFlag('--sizes', integerFlag('--sizes'))))
    .addOption(new Option('--eviction <list>', 'eviction policies of --sizes: lru, tinylfu (default tinylfu)').argParser(listFlag('--eviction', evictionFlag)))
    .addOption(new Option('--chart <file>', 'with --sizes: write the hit ratio against the size to this SVG file'))
    .addHelpText('after', HELP)
    .action(async (trace: string, flags: ReplayFlags, command: Command) => {
      if (flags.sizes !== undefined || flags.eviction !== undefined || flags.chart !== undefined) {
        await sizing(trace, flags, command, ctx)
        return
      }
      checkFlags(trace, flags, command)
      if (flags.ttl !== undefined || flags.policy !== undefined) {
        await compare(trace, flags, ctx)
        return
      }
      await interruptible(ctx, flags.json !== true, async (signal, bar) => {
        const report = await runReplay({
          trace,
          workload: { requests: flags.requests, seed: flags.seed },
          l1: flags.l1 ? { maxEntries: flags.l1Entries, maxBytes: flags.l1Bytes } : false,
          l3: flags.l3,
          originLatencyMs: flags.originLatency,
          concurrency: flags.concurrency,
          limit: flags.limit,
          valueBytes: flags.valueBytes,
          onProgress: bar?.update,
          signal,
        })
        bar?.stop()
        ctx.stdout.write((flags.json === true ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n')
      })
    })
}

function evictionFlag(value: string): L1Eviction {
  if (!(L1_EVICTIONS as readonly string[]).includes(value)) throw new InvalidOptionsError(`--eviction takes ${L1_EVICTIONS.join(', ')}, not '${value}'`)
  return value as L1Eviction
}

/** `tiercache replay <trace> --sizes ... [--eviction ...] [--chart <file>]`: one pass, an L1 per size and policy. */
async function sizing(trace: string, flags: ReplayFlags, command: Command, ctx: CliContext): Promise<void> {
  const sizes = flags.sizes
  if (sizes === undefined) throw new InvalidOptionsError('--eviction and --chart apply to a sizing replay: add --sizes')
  const flagName = (name: string) => '--' + name.replace(/[A-Z]/g, (letter) => '-' + letter.toLowerCase())
  const stray = command.options.map((option) => option.attributeName()).filter((name) => command.getOptionValueSource(name) === 'cli' && !SIZING_FLAGS.has(name))
  if (stray.length > 0) throw new InvalidOptionsError(`${stray.map(flagName).join(' and ')}: a sizing replay (--sizes) drives L1s alone, one request at a time`)
  if (!isWorkloadSpec(trace) && (command.getOptionValueSource('requests') === 'cli' || command.getOptionValueSource('seed') === 'cli')) {
    throw new InvalidOptionsError('--requests and --seed apply to zipf:<s>:<keys> workloads, not to trace files (use --limit)')
  }
  await interruptible(ctx, flags.json !== true, async (signal, bar) => {
    const report = await runSizing({
      trace,
      workload: { requests: flags.requests, seed: flags.seed },
      sizes,
      ...(flags.eviction === undefined ? {} : { evictions: flags.eviction }),
      ...(flags.limit === undefined ? {} : { limit: flags.limit }),
      onProgress: (fraction, requests) => bar?.update({ fraction, requests }),
      signal,
    })
    bar?.stop()
    if (flags.chart !== undefined) await writeFile(flags.chart, hitRatioChart(report))
    ctx.stdout.write((flags.json === true ? JSON.stringify(report, null, 2) : formatSizing(report) + (flags.chart === undefined ? '' : `\nchart: ${flags.chart}`)) + '\n')
  })
}

/** `tiercache replay <trace> --ttl ... --policy ...`: the runs side by side. */
async function compare(trace: string, flags: ReplayFlags, ctx: CliContext): Promise<void> {
  const variants: ReplayVariant[] = [...(flags.ttl ?? []).map((ttlMs) => ({ ttlMs })), ...(flags.policy ?? []).map((policy) => ({ policy }))]
  if (flags.policy !== undefined && flags.policyFile === undefined) throw new InvalidOptionsError('--policy needs --policy-file (or TIERCACHE_POLICY_FILE)')
  await interruptible(ctx, false, async (signal) => {
    const report = await runComparison({
      trace,
      workload: { requests: flags.requests, seed: flags.seed },
      variants,
      policies: flags.policyFile === undefined ? undefined : await loadPolicy(flags.policyFile),
      context: flags.context,
      role: flags.role,
      ratePerSecond: flags.rate,
      startMs: flags.start,
      l1: flags.l1 ? { maxEntries: flags.l1Entries, maxBytes: flags.l1Bytes } : false,
      l3: flags.l3,
      limit: flags.limit,
      valueBytes: flags.valueBytes,
      signal,
    })
    ctx.stdout.write((flags.json === true ? JSON.stringify(report, null, 2) : formatComparison(report)) + '\n')
  })
}

/**
 * Runs a replay that SIGINT stops (requests in flight finish; exit 130), with a progress bar on
 * stderr when it is a terminal and `withBar`.
 */
async function interruptible(ctx: CliContext, withBar: boolean, run: (signal: AbortSignal, bar: ReturnType<typeof progressBar> | undefined) => Promise<void>): Promise<void> {
  const controller = new AbortController()
  const onSigint = () => controller.abort()
  process.once('SIGINT', onSigint)
  const bar = ctx.stderr.isTTY === true && withBar ? progressBar(ctx) : undefined
  try {
    await run(controller.signal, bar)
  } catch (error) {
    bar?.stop()
    if (controller.signal.aborted) throw new CliError('replay interrupted', ExitCode.interrupted, undefined, { cause: error })
    throw error
  } finally {
    process.off('SIGINT', onSigint)
  }
}

/** A comma-separated list, each item parsed by `item`; repeating the flag adds to the list. */
function listFlag<T>(flag: string, item: (value: string) => T): (value: string, previous: readonly T[] | undefined) => T[] {
  return (value, previous) => {
    const items = value.split(',').map((text) => text.trim())
    if (items.some((text) => text === '')) throw new InvalidOptionsError(`${flag} must be a comma-separated list, not '${value}'`)
    return [...(previous ?? []), ...items.map(item)]
  }
}

function checkFlags(trace: string, flags: ReplayFlags, command: Command): void {
  const given = (name: string) => command.getOptionValueSource(name) === 'cli'
  const flagName = (name: string) => '--' + name.replace(/[A-Z]/g, (letter) => '-' + letter.toLowerCase())
  const comparing = flags.ttl !== undefined || flags.policy !== undefined
  if (comparing) {
    const refused = NOT_IN_COMPARISON.filter(given)
    if (refused.length > 0) {
      throw new InvalidOptionsError(`${refused.map(flagName).join(' and ')}: a comparison (--ttl, --policy) replays one request at a time on a virtual clock, with an origin that answers at once`)
    }
  } else {
    const stray = COMPARISON_ONLY.filter(given)
    if (stray.length > 0) throw new InvalidOptionsError(`${stray.map(flagName).join(' and ')} apply to a comparison: add --ttl or --policy`)
  }
  if (!flags.l1 && (given('l1Entries') || given('l1Bytes'))) {
    throw new InvalidOptionsError('--no-l1 cannot be combined with --l1-entries or --l1-bytes')
  }
  if (!isWorkloadSpec(trace) && (given('requests') || given('seed'))) {
    throw new InvalidOptionsError('--requests and --seed apply to zipf:<s>:<keys> workloads, not to trace files (use --limit)')
  }
}

/** A bar on stderr, in thousandths of the replay. */
function progressBar(ctx: CliContext): { update: (progress: ReplayProgress) => void; stop: () => void } {
  const bar = new SingleBar({
    stream: ctx.stderr,
    format: 'replay [{bar}] {percentage}% | {requests} requests | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  })
  bar.start(1000, 0, { requests: '0' })
  let stopped = false
  return {
    update: (progress) => bar.update(Math.round(progress.fraction * 1000), { requests: formatInteger(progress.requests) }),
    stop: () => {
      if (stopped) return
      stopped = true
      bar.stop()
    },
  }
}
