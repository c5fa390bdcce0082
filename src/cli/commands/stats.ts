import type { Command } from 'commander'
import { z } from 'zod'
import type { CliContext } from '../context.js'
import { CliError } from '../errors.js'
import { formatFields, formatInteger, formatPercent, formatTable } from '../format.js'
import { callServer, isRecord } from '../http.js'
import { type RemoteFlags, addRemoteOptions } from './remote.js'

// The shape of CacheStats, checked loosely: fields added later must not break an older CLI.
const tierSchema = z.object({
  kind: z.string().optional(),
  hits: z.number(),
  misses: z.number(),
  hitRatio: z.number(),
  writes: z.number().optional(),
  errors: z.number().optional(),
  entries: z.number().optional(),
})
const statsSchema = z.object({
  requests: z.number(),
  hits: z.number(),
  hitRatio: z.number(),
  tiers: z.record(z.string(), tierSchema),
  origin: z.object({ calls: z.number(), errors: z.number().optional(), timeouts: z.number().optional() }).optional(),
  staleServed: z.number().optional(),
  coalesced: z.number().optional(),
})

/** Cache statistics as `GET /v1/stats` answers them (a `CacheStats`). */
export type StatsAnswer = z.infer<typeof statsSchema>

/**
 * `tiercache stats`: fetches `GET <url>/v1/stats` from a running server and prints a table per tier
 * (hits, misses, hit ratio as a percentage of all requests, entries), or the JSON as is with `--json`.
 */
export function registerStats(program: Command, ctx: CliContext): void {
  addRemoteOptions(program.command('stats').description('show the hit ratios and counters of a running server')).action(
    async (flags: RemoteFlags) => {
      const answer = await callServer({ url: flags.url, path: '/v1/stats', token: flags.token })
      if (flags.json === true) {
        ctx.stdout.write(answer.text.endsWith('\n') ? answer.text : answer.text + '\n')
        return
      }
      ctx.stdout.write(formatStats(parseStats(answer.json, flags.url)) + '\n')
    },
  )
}

/**
 * Checks a stats answer; a `{ stats: ... }` envelope is unwrapped.
 * @throws CliError when it does not look like cache statistics
 */
export function parseStats(json: unknown, url: string): StatsAnswer {
  const body = isRecord(json) && isRecord(json.stats) ? json.stats : json
  const parsed = statsSchema.safeParse(body)
  if (!parsed.success) throw new CliError(`the server at ${url} answered /v1/stats with something other than cache statistics`)
  return parsed.data
}

/** Stats as a per-tier table and a few totals, for people. */
export function formatStats(stats: StatsAnswer): string {
  const rows: string[][] = [['tier', 'kind', 'hits', 'misses', 'hit ratio', 'entries']]
  for (const [level, tier] of Object.entries(stats.tiers).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push([
      level.toUpperCase(),
      tier.kind ?? '',
      formatInteger(tier.hits),
      formatInteger(tier.misses),
      formatPercent(tier.hitRatio),
      tier.entries === undefined ? '-' : formatInteger(tier.entries),
    ])
  }
  rows.push(['total', '', formatInteger(stats.hits), '', formatPercent(stats.hitRatio), ''])
  const origin = stats.origin
  const fields: [string, string][] = [['requests', formatInteger(stats.requests)]]
  if (origin !== undefined) {
    fields.push(['origin calls', `${formatInteger(origin.calls)} (${formatInteger(origin.errors ?? 0)} failed, ${formatInteger(origin.timeouts ?? 0)} timed out)`])
  }
  if (stats.staleServed !== undefined) fields.push(['stale served', formatInteger(stats.staleServed)])
  if (stats.coalesced !== undefined) fields.push(['coalesced', formatInteger(stats.coalesced)])
  const errors = Object.entries(stats.tiers).filter(([, tier]) => (tier.errors ?? 0) > 0)
  return [
    formatFields(fields),
    '',
    formatTable(rows, ['left', 'left', 'right', 'right', 'right', 'right']),
    '(hit ratios are fractions of all requests)',
    ...errors.map(([level, tier]) => `warning: ${level.toUpperCase()} (${tier.kind ?? ''}) has failed ${formatInteger(tier.errors ?? 0)} times`),
  ].join('\n')
}
