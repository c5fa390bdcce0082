import { SingleBar } from 'cli-progress'
import { type Command, Option } from 'commander'
import { type Cache, InvalidOptionsError, WarmIncompleteError, createCache, isTiercacheError } from '../../index.js'
import { loadPolicyConfig } from '../../policy/load.js'
import type { WarmProgress, WarmReport } from '../../policy/warm/run.js'
import { Warmer } from '../../policy/warm/warmer.js'
import type { CliContext } from '../context.js'
import { redisPrefixFlag } from '../flags.js'
import { policyFileOption } from '../policy-file.js'
import { CliError, ExitCode } from '../errors.js'
import { formatDuration, formatInteger } from '../format.js'
import { type StorageFlags, chooseL3, postgresOption, sqliteOption } from '../storage.js'

interface WarmFlags extends StorageFlags {
  readonly policyFile: string
  readonly redis?: string
  readonly redisPrefix?: string
  readonly namespace?: string
  readonly tenant?: string
  readonly key?: readonly string[]
  readonly json?: boolean
}

/** Failures the printed report lists one by one (the JSON report has up to 1,000). */
const PRINTED_FAILURES = 20

const HELP = `
The job is one of the warm section of --policy-file (docs/warming.md). Its keys are loaded from
their sources and written to every tier of the cache these flags open, as \`tiercache serve\` opens
it: L3 in PostgreSQL (--postgres, DATABASE_URL) or SQLite (--sqlite, TIERCACHE_SQLITE), L2 in Redis
(--redis, REDIS_URL). With --tenant, in that tenant's scope, as a service key of the tenant writes
(the policy's service multiplier applies), where the server's keys of the tenant read them; shared
tiers then need TIERCACHE_KEYS, as serve does.

Exit codes: 0 every key loaded; 1 some keys failed (TC_WARM_INCOMPLETE, after the report);
2 the command line or the policy file is wrong, or the job is not declared; 130 interrupted.

Examples:
  tiercache warm reference --policy-file ./tiercache.policy.json
  tiercache warm flights --policy-file ./policy.mjs --key BA117 --key LH400 --json`

/**
 * `tiercache warm <job> --policy-file <path>`: runs one warming job of the configuration against the
 * cache the storage flags open (the same as `serve`'s), with a progress bar on stderr when it is a
 * terminal (plain progress lines otherwise, none with `--json`), then prints the report (`--json`:
 * the {@link WarmReport}). Exits 1 with `TC_WARM_INCOMPLETE` when some keys failed, 130 on SIGINT
 * (the run stops: sources in flight are cut short).
 */
export function registerWarm(program: Command, ctx: CliContext): void {
  program
    .command('warm')
    .description('run a warming job of the policy configuration: load its keys into every tier')
    .argument('<job>', 'the job, as the warm section names it')
    .addOption(policyFileOption('required'))
    .addOption(postgresOption('L3 in PostgreSQL (takes precedence over --sqlite from the environment)'))
    .addOption(sqliteOption('L3 in this SQLite file, when no PostgreSQL URL is given'))
    .addOption(new Option('--redis <url>', 'L2 in Redis').env('REDIS_URL'))
    .addOption(new Option('--redis-prefix <prefix>', 'start of the Redis keys of the cache, as serve was given (default tc)').argParser(redisPrefixFlag('--redis-prefix')))
    .option('--namespace <namespace>', 'the namespace of a job that names none (default "default")')
    .option('--tenant <id>', "write in this tenant's scope, where the server's keys of the tenant read")
    .addOption(new Option('--key <key>', "load only this key, through the job's source (repeat it for more)").argParser(collect))
    .option('--json', 'print the report as one JSON object')
    .addHelpText('after', HELP)
    .action(async (job: string, flags: WarmFlags, command: Command) => {
      if (flags.redisPrefix !== undefined && flags.redis === undefined) throw new InvalidOptionsError('--redis-prefix needs --redis (or REDIS_URL)')
      const config = await loadPolicyConfig(flags.policyFile)
      const cache = createCache({
        policies: config,
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
        ...(flags.redis === undefined ? {} : { l2: { redis: flags.redis, ...(flags.redisPrefix === undefined ? {} : { prefix: flags.redisPrefix }) } }),
        l3: chooseL3(flags, command),
      })
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.once('SIGINT', onSigint)
      let warmer: Warmer | undefined
      try {
        const view: Cache = flags.tenant === undefined ? cache : cache.withContext({ role: 'service', tenantId: flags.tenant })
        warmer = new Warmer(cache, config)
        const report = await runJob(warmer, job, view, flags, controller.signal, ctx)
        ctx.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report))
        if (controller.signal.aborted) throw new CliError(`warm ${job} interrupted`, ExitCode.interrupted)
        if (report.failed > 0) throw new WarmIncompleteError(`${formatInteger(report.failed)} of ${formatInteger(report.total)} keys of ${job} failed to warm`)
      } finally {
        process.off('SIGINT', onSigint)
        await warmer?.close()
        await cache.close()
      }
    })
}

function collect(value: string, previous: readonly string[] | undefined): readonly string[] {
  return [...(previous ?? []), value]
}

async function runJob(warmer: Warmer, job: string, view: Cache, flags: WarmFlags, stop: AbortSignal, ctx: CliContext): Promise<WarmReport> {
  const progress = flags.json === true ? undefined : ctx.stderr.isTTY === true ? progressBar(job, ctx) : progressLines(job, ctx)
  let run
  try {
    run = warmer.start(job, { cache: view, ...(flags.key === undefined ? {} : { keys: flags.key }), ...(progress === undefined ? {} : { onProgress: progress.update }) })
  } catch (error) {
    // The job is named on the command line: a usage error, as a bad flag is.
    if (isTiercacheError(error, 'TC_UNKNOWN_WARM_JOB')) throw new CliError(error.message, ExitCode.usage, error.code, { cause: error })
    throw error
  }
  const onStop = () => void warmer.close()
  stop.addEventListener('abort', onStop, { once: true })
  try {
    return await run.done
  } finally {
    stop.removeEventListener('abort', onStop)
    progress?.stop()
  }
}

interface Progress {
  readonly update: (progress: WarmProgress) => void
  readonly stop: () => void
}

/** A bar on stderr, for a terminal. */
function progressBar(job: string, ctx: CliContext): Progress {
  const bar = new SingleBar({
    stream: ctx.stderr,
    format: `warm ${job} [{bar}] {percentage}% | {value}/{total} keys | {failed} failed | ETA {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: true,
  })
  let started = false
  let stopped = false
  return {
    update: (progress) => {
      if (stopped) return
      if (!started) bar.start(progress.total, 0, { failed: 0 })
      started = true
      bar.update(progress.done, { failed: progress.failed })
    },
    stop: () => {
      if (started && !stopped) bar.stop()
      stopped = true
    },
  }
}

/** Plain lines on stderr for a log: one at each tenth of the keys, so that a long job says how far it is without a line per key. */
function progressLines(job: string, ctx: CliContext): Progress {
  let tenth = 0
  return {
    update: ({ done, total, failed }) => {
      const reached = total === 0 ? 10 : Math.floor((done * 10) / total)
      if (reached <= tenth) return
      tenth = reached
      ctx.stderr.write(`warm ${job}: ${formatInteger(done)}/${formatInteger(total)} keys, ${formatInteger(failed)} failed\n`)
    },
    stop: () => {},
  }
}

function formatReport(report: WarmReport): string {
  const lines = [
    `warm ${report.job}: ${formatInteger(report.loaded)} of ${formatInteger(report.total)} keys loaded, ${formatInteger(report.failed)} failed` +
      `${report.skipped > 0 ? `, ${formatInteger(report.skipped)} skipped` : ''} in ${formatDuration(report.durationMs)} (namespace ${report.namespace})`,
  ]
  if (report.failures.length > 0) {
    lines.push('failed:')
    for (const failure of report.failures.slice(0, PRINTED_FAILURES)) lines.push(`  ${failure.key}  ${failure.code}  ${failure.message}`)
    const more = report.failed - Math.min(report.failures.length, PRINTED_FAILURES)
    if (more > 0) lines.push(`  ... and ${formatInteger(more)} more (--json lists up to 1,000)`)
  }
  return `${lines.join('\n')}\n`
}
