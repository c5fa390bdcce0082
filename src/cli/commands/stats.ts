import type { Command } from 'commander'
import { z } from 'zod'
import type { CliContext } from '../context.js'
import { UnexpectedAnswerError } from '../../errors.js'
import { formatFields, formatInteger, formatPercent } from '../format.js'
import { callServer, isRecord } from '../http.js'
import { type RemoteFlags, addRemoteOptions } from './remote.js'

// The shape of the server's TenantStats, checked loosely: fields added later must not break an older CLI.
const statsSchema = z.object({
  tenant: z.string(),
  since: z.number().optional(),
  requests: z.number(),
  hits: z.number(),
  misses: z.number().optional(),
  hitRatio: z.number(),
  writes: z.number().optional(),
  deletes: z.number().optional(),
  invalidations: z.number().optional(),
  clears: z.number().optional(),
})

/** A tenant's counters as `GET /v1/stats` answers them (a `TenantStats`). */
export type StatsAnswer = z.infer<typeof statsSchema>

/**
 * `tiercache stats`: fetches `GET <url>/v1/stats` from a running server with the API key of
 * `--token`/TIERCACHE_TOKEN and prints the counters of the key's tenant on that server instance
 * (lookups, hits, hit ratio, writes, deletes, invalidations, clears), or the JSON as is with `--json`.
 * Without a key, the server's refusal (`TC_UNAUTHORIZED`) says how to give one.
 */
export function registerStats(program: Command, ctx: CliContext): void {
  addRemoteOptions(program.command('stats').description("show the counters of an API key's tenant on a running server")).action(
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
 * @throws UnexpectedAnswerError (`TC_UNEXPECTED_ANSWER`) when it does not look like a tenant's statistics
 */
export function parseStats(json: unknown, url: string): StatsAnswer {
  const body = isRecord(json) && isRecord(json.stats) ? json.stats : json
  const parsed = statsSchema.safeParse(body)
  if (!parsed.success) throw new UnexpectedAnswerError(`the server at ${url} answered /v1/stats with something other than a tenant's statistics`)
  return parsed.data
}

/** A tenant's counters, one per line, for people. */
export function formatStats(stats: StatsAnswer): string {
  const fields: [string, string][] = [
    ['tenant', stats.tenant],
    ['lookups', formatInteger(stats.requests)],
    ['hits', `${formatInteger(stats.hits)} (${formatPercent(stats.hitRatio)})`],
  ]
  if (stats.misses !== undefined) fields.push(['misses', formatInteger(stats.misses)])
  for (const name of ['writes', 'deletes', 'invalidations', 'clears'] as const) {
    const value = stats[name]
    if (value !== undefined) fields.push([name, formatInteger(value)])
  }
  if (stats.since !== undefined) fields.push(['since', `${new Date(stats.since).toISOString().replace(/\.\d{3}Z$/, 'Z')} (this server instance)`])
  return formatFields(fields)
}
