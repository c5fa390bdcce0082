import { type Command, Option } from 'commander'
import type { CliContext } from '../context.js'
import { integerFlag } from '../flags.js'
import { formatTop } from '../stats-format.js'
import { type StatsFlags, addStatsOptions, showReports } from './stats.js'

interface TopFlags extends StatsFlags {
  readonly limit: number
}

/**
 * `tiercache top`: the busiest keys of the API key's tenant on a running server (its Space-Saving
 * sketch: each count an upper bound, with its error) and the busiest namespaces over `--range`, from
 * `GET /v1/stats`; `--json` prints the server's answer as is, `--watch` redraws until Ctrl-C.
 */
export function registerTop(program: Command, ctx: CliContext): void {
  const command = program
    .command('top')
    .description('show the busiest keys and namespaces of a running server')
    .addOption(new Option('--limit <n>', 'rows of each table (the server lists at most 20)').argParser(integerFlag('--limit', 1, 20)).default(20))
  addStatsOptions(command).action((flags: TopFlags) => showReports(ctx, flags, (report) => formatTop(report, flags.limit)))
}
