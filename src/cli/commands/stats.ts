import { type Command, Option } from 'commander'
import { UnexpectedAnswerError } from '../../errors.js'
import { STATS_RANGES, type StatsRange, type StatsReport, statsReportSchema } from '../../metrics/stats/report.js'
import type { CliContext } from '../context.js'
import { durationMsFlag } from '../flags.js'
import { callServer, isRecord } from '../http.js'
import { formatStatsReport } from '../stats-format.js'
import { isTerminal, watch } from '../watch.js'
import { type RemoteFlags, addRemoteOptions } from './remote.js'

/** Flags of `stats` and `top`. */
export interface StatsFlags extends RemoteFlags {
  readonly range: StatsRange
  readonly namespace?: string
  readonly tenant?: string
  readonly watch?: boolean
  readonly interval: number
}

/** Default of `--interval`: how often `--watch` redraws, ms. */
export const DEFAULT_WATCH_INTERVAL_MS = 2000

/** Adds the flags `stats` and `top` share: `--range`, `--namespace`, `--tenant`, `--watch`, `--interval`, and the remote ones. */
export function addStatsOptions(command: Command): Command {
  command
    .addOption(new Option('--range <range>', 'window of the history').choices(STATS_RANGES).default('1h'))
    .option('--namespace <namespace>', 'only this namespace')
    .option('--tenant <tenant>', 'with a service key: this tenant only (else the whole deployment)')
    .option('--watch', 'redraw every --interval until Ctrl-C')
    .addOption(new Option('--interval <duration>', 'time between redraws of --watch, e.g. 5s').argParser(durationMsFlag('--interval')).default(DEFAULT_WATCH_INTERVAL_MS, '2s'))
  return addRemoteOptions(command)
}

/** Fetches and checks one report, with the server's text for `--json`. */
export async function fetchReport(flags: StatsFlags, signal?: AbortSignal): Promise<{ report: StatsReport; text: string }> {
  const query = new URLSearchParams({ range: flags.range, ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }) })
  const answer = await callServer({
    url: flags.url,
    path: `/v1/stats?${query.toString()}`,
    token: flags.token,
    ...(flags.tenant === undefined ? {} : { headers: { 'x-tiercache-tenant': flags.tenant } }),
    ...(signal === undefined ? {} : { signal }),
  })
  return { report: parseStats(answer.json, flags.url), text: answer.text.trimEnd() }
}

/**
 * Prints one report (`render` for people, the server's JSON as is with `--json`), or with `--watch`
 * one every `--interval` until Ctrl-C: redrawn in place on a terminal, else appended (with `--json`,
 * one JSON object a line).
 */
export async function showReports(ctx: CliContext, flags: StatsFlags, render: (report: StatsReport) => string): Promise<void> {
  const frame = async (signal?: AbortSignal): Promise<string> => {
    const { report, text } = await fetchReport(flags, signal)
    if (flags.json === true) return flags.watch === true ? JSON.stringify(JSON.parse(text)) : text
    return flags.watch === true ? `${render(report)}\n\n${new Date().toISOString()}, every ${flags.interval / 1000} s; Ctrl-C to stop` : render(report)
  }
  if (flags.watch !== true) {
    ctx.stdout.write(`${await frame()}\n`)
    return
  }
  const redraw = flags.json !== true && isTerminal(ctx.stdout)
  await watch(ctx, { frame: async (signal) => `${await frame(signal)}${redraw || flags.json === true ? '' : '\n'}`, intervalMs: flags.interval, redraw })
}

/**
 * `tiercache stats`: fetches `GET <url>/v1/stats?range=` from a running server with the API key of
 * `--token`/TIERCACHE_TOKEN and prints the report of the key's tenant (a service key: the whole
 * deployment, or `--tenant`): hit ratio overall and per tier, latency percentiles, miss reasons,
 * origin calls and cost saved, the busiest namespaces and the suggestions (docs/stats.md); the JSON
 * as is with `--json`; again every `--interval` with `--watch`, until Ctrl-C (exit 0).
 */
export function registerStats(program: Command, ctx: CliContext): void {
  addStatsOptions(program.command('stats').description('show hit ratios, latencies, origin calls saved and suggestions of a running server')).action(
    (flags: StatsFlags) => showReports(ctx, flags, formatStatsReport),
  )
}

/**
 * Checks a stats answer.
 * @throws UnexpectedAnswerError (`TC_UNEXPECTED_ANSWER`) when it is not a statistics report (an
 *   older server's counters are named as such)
 */
export function parseStats(json: unknown, url: string): StatsReport {
  const parsed = statsReportSchema.safeParse(json)
  if (parsed.success) return parsed.data
  if (isRecord(json) && typeof json.tenant === 'string' && typeof json.since === 'number') {
    throw new UnexpectedAnswerError(`the server at ${url} is an older tiercache, which answers /v1/stats with counters only; upgrade it, or use --json to see them`)
  }
  throw new UnexpectedAnswerError(`the server at ${url} answered /v1/stats with something other than a statistics report`)
}
