import type { Command } from 'commander'
import { z } from 'zod'
import { InvalidKeyError, UnexpectedAnswerError } from '../../errors.js'
import type { CliContext } from '../context.js'
import { formatBytes, formatDuration, formatFields, formatTable } from '../format.js'
import { callServer } from '../http.js'
import { type RemoteFlags, addRemoteOptions } from './remote.js'

// The server's Explanation (cache/explain.ts), checked loosely: fields added later must not break an older CLI.
const removalSchema = z.object({
  kind: z.string(),
  at: z.number(),
  remote: z.boolean(),
  tiers: z.array(z.string()),
  certain: z.boolean(),
  tags: z.array(z.string()).optional(),
  tag: z.string().optional(),
  allNamespaces: z.boolean().optional(),
  scope: z.string().optional(),
  reason: z.string().optional(),
})

const explanationSchema = z.object({
  namespace: z.string(),
  scope: z.string(),
  key: z.string(),
  at: z.number(),
  answer: z.string(),
  source: z.string().optional(),
  tiers: z.array(
    z.object({
      level: z.string(),
      kind: z.string(),
      state: z.string(),
      circuit: z.string().optional(),
      freshness: z.string().optional(),
      ttlRemainingMs: z.number().optional(),
      graceRemainingMs: z.number().optional(),
      ageMs: z.number().optional(),
      tags: z.array(z.string()).optional(),
      sizeBytes: z.number().optional(),
      departed: z.object({ reason: z.string(), at: z.number() }).optional(),
    }),
  ),
  lastRemoval: removalSchema.optional(),
  removals: z.array(removalSchema),
  bus: z.string(),
})

/** An explanation as `GET /v1/entries/:namespace/:key?explain=true` answers it. */
export type ExplainAnswer = z.infer<typeof explanationSchema>
type RemovalAnswer = z.infer<typeof removalSchema>

/**
 * `tiercache explain <namespace> <key>`: fetches `GET <url>/v1/entries/<namespace>/<key>?explain=true`
 * from a running server with the API key of `--token`/TIERCACHE_TOKEN (role read), in the key's
 * tenant, and prints what each tier holds of the key and the removals that last touched it, or the
 * JSON as is with `--json`. It asks the server, not the database: L1 and the removal log live in the
 * server's memory.
 * @throws InvalidKeyError (`TC_INVALID_KEY`) for the keys `.` and `..`, which no URL path carries
 */
export function registerExplain(program: Command, ctx: CliContext): void {
  const command = program
    .command('explain')
    .description("say where a key is in each tier of a running server, how fresh, and what last removed it (in the API key's tenant)")
    .argument('<namespace>', 'namespace of the key')
    .argument('<key>', 'the key, as stored (it is percent-encoded for the URL)')
  addRemoteOptions(command).action(async (namespace: string, key: string, flags: RemoteFlags) => {
    if (key === '.' || key === '..') throw new InvalidKeyError(`the key "${key}" cannot travel in a URL path (clients resolve it as a dot segment)`)
    const path = `/v1/entries/${encodeURIComponent(namespace)}/${encodeURIComponent(key)}?explain=true`
    const answer = await callServer({ url: flags.url, path, token: flags.token })
    if (flags.json === true) {
      ctx.stdout.write(answer.text.endsWith('\n') ? answer.text : answer.text + '\n')
      return
    }
    ctx.stdout.write(formatExplanation(parseExplanation(answer.json, flags.url)) + '\n')
  })
}

/** @throws UnexpectedAnswerError (`TC_UNEXPECTED_ANSWER`) when the answer is not an explanation */
export function parseExplanation(json: unknown, url: string): ExplainAnswer {
  const parsed = explanationSchema.safeParse(json)
  if (!parsed.success) throw new UnexpectedAnswerError(`the server at ${url} answered ?explain=true with something other than an explanation; is it an older server?`)
  return parsed.data
}

const time = (at: number) => new Date(at).toISOString()
const ms = (value: number | undefined) => (value === undefined ? '-' : formatDuration(value))

/** An explanation for people: a summary, one line per tier, then the removals, newest first. */
export function formatExplanation(explained: ExplainAnswer): string {
  const summary = formatFields([
    ['key', `${explained.namespace} / ${explained.key} (${explained.scope} scope)`],
    ['answer', explained.source === undefined ? explained.answer : `${explained.answer}, from ${explained.source}`],
    ['last removal', explained.lastRemoval === undefined ? 'none remembered' : `${describeRemoval(explained.lastRemoval)}; at ${time(explained.lastRemoval.at)}`],
    ['bus', explained.bus],
  ])
  const rows = [['tier', 'kind', 'state', 'freshness', 'ttl left', 'grace left', 'age', 'size', 'tags']]
  for (const tier of explained.tiers) {
    const state = tier.departed !== undefined ? `absent (${tier.departed.reason} at ${time(tier.departed.at)})` : tier.circuit === 'open' ? `${tier.state} (circuit open)` : tier.state
    rows.push([
      tier.level,
      tier.kind,
      state,
      tier.freshness ?? '-',
      ms(tier.ttlRemainingMs),
      ms(tier.graceRemainingMs),
      ms(tier.ageMs),
      tier.sizeBytes === undefined ? '-' : formatBytes(tier.sizeBytes),
      tier.tags === undefined ? '-' : tier.tags.join(',') || '(none)',
    ])
  }
  const table = formatTable(rows, ['left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'])
  const removals = explained.removals.map((removal) => `  ${time(removal.at)}  ${describeRemoval(removal)}`)
  return [summary, '', table, '', removals.length === 0 ? 'no removal of this key remembered' : ['removals, newest first:', ...removals].join('\n')].join('\n')
}

/** One removal in words: what, where it was asked, and the tiers here it reached. */
function describeRemoval(removal: RemovalAnswer): string {
  const where = `${removal.remote ? 'heard from another instance' : 'here'}, in ${removal.tiers.join(', ') || 'no tier'}`
  return `${whatRemoved(removal)}${removal.certain ? '' : ' (may not have touched the key: its tags are unknown)'}; ${where}`
}

function whatRemoved(removal: RemovalAnswer): string {
  const everywhere = removal.allNamespaces === true ? ' in every namespace' : ''
  switch (removal.kind) {
    case 'delete':
      return 'deleted'
    case 'replaced':
      return 'set by another instance (L1 dropped its copy)'
    case 'tags':
      return `tag invalidation of ${removal.tag ?? (removal.tags ?? []).join(', ')}${everywhere}`
    case 'clear':
      return removal.allNamespaces === true ? 'every namespace cleared' : 'namespace cleared'
    case 'erase':
      return `${removal.scope ?? 'scope'} erased`
    case 'evict':
      return `evicted from L1 (${removal.reason === 'size' ? 'maxBytes' : 'maxEntries'})`
    case 'expire':
      return 'expired from L1, past its grace'
    case 'deaf':
      return `L1 emptied: the bus went deaf${removal.reason === undefined ? '' : ` (${removal.reason})`}`
    case 'repair':
      return 'cleared by a recovering tier that had missed removals'
    default:
      return removal.kind
  }
}
