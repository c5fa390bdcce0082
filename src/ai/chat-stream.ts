/**
 * Streamed chat completions through the cache: a miss streams the upstream's bytes to the caller as
 * they come and stores them once the terminal event (`[DONE]`) arrives; callers asking the same
 * thing meanwhile follow that stream (one upstream call); a hit replays the stored bytes, or writes
 * the cached completion as a stream when it was not streamed the same way.
 */
import { createHash } from 'node:crypto'
import type { Cache, SetOptions } from '../cache/cache.js'
import type { Served } from '../core/entry.js'
import { UpstreamError } from '../errors.js'
import type { Saving } from './accounting.js'
import { type ChatRecord, UpstreamRefusal, isOk, rootCause } from './chat-record.js'
import type { StreamFormat } from './operations.js'
import type { StreamRelay } from './stream-relay.js'
import { StreamFlight } from './stream-flight.js'
import type { Upstream } from './upstream.js'

/** How a streamed answer was served; see `AiCacheStatus`. */
export type StreamStatus = 'HIT' | 'SEMANTIC-HIT' | 'STALE' | 'MISS' | 'REFRESH' | 'BYPASS'

/** A streamed request's answer: bytes to send as they come, with their status and content type. */
export interface AiStreamAnswer {
  readonly status: number
  readonly contentType: string
  readonly cache: StreamStatus
  /** Milliseconds since the upstream produced the answer; 0 when it is producing it now. */
  readonly ageMs: number
  readonly bypassReason?: 'requested' | 'sampled'
  /** What serving it from the cache saved; absent when it came from the upstream. */
  readonly saved?: Saving
  /** For a `SEMANTIC-HIT`: the cosine similarity of the question to the cached one that answered. */
  readonly similarity?: number
  /** All the bytes (a replay, an error body), or the bytes as they come. */
  readonly body: Uint8Array | AsyncIterable<Uint8Array>
}

type Outcome = { readonly kind: 'served'; readonly served: Served<ChatRecord> } | { readonly kind: 'error'; readonly error: unknown }

type RunningFlight = StreamFlight<Outcome> & { readonly done: Promise<void> }

/** Flights in progress, by view, key and usage option: shared by every view of one AI cache. */
export type Flights = Map<string, RunningFlight>

/** What {@link streamChat} needs of a request, once the AI cache has planned it. */
export interface StreamPlan {
  /** The endpoint, with its stream format. */
  readonly path: string
  readonly format: StreamFormat
  readonly view: Cache
  readonly key: string
  readonly request: Readonly<Record<string, unknown>>
  readonly write: SetOptions
  /** Ask the upstream even when an answer is cached, and store the new one over it. */
  readonly refresh: boolean
  /** Where streams in progress are shared with other processes. @default none */
  readonly relay?: StreamRelay
  /** Called with the completion once the upstream's stream is stored (the semantic layer indexes it). */
  readonly onStored?: (completion: unknown) => Promise<void>
}

const encoder = new TextEncoder()

/** An upstream's error body: JSON as sent, or its text in the OpenAI error shape. */
async function errorBodyOf(body: AsyncIterable<Uint8Array>): Promise<unknown> {
  const chunks: Uint8Array[] = []
  for await (const chunk of body) chunks.push(chunk)
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch {
    return { error: { message: text, type: 'upstream_error', param: null, code: null } }
  }
}

/**
 * Answers a streamed chat completion request (`stream: true`) from the cache, a stream in progress,
 * or the upstream.
 * @throws UpstreamError (`TC_UPSTREAM_ERROR`), UpstreamTimeoutError (`TC_UPSTREAM_TIMEOUT`) when the
 *   upstream fails before its stream starts and no stale answer can stand in; a failure after it
 *   started ends the answer's body with that error, and nothing is stored
 */
export async function streamChat(
  plan: StreamPlan,
  upstream: Upstream,
  flights: Flights,
  savingOf: (completion: unknown) => Saving | undefined,
): Promise<AiStreamAnswer> {
  const includeUsage = plan.format.includesUsage(plan.request)
  const held = plan.refresh ? undefined : plan.view.getWithInfoNow<ChatRecord>(plan.key)
  if (held !== undefined) return replay(plan.format, held, includeUsage, savingOf)
  const flightKey = `${plan.view.scope.prefix}${plan.view.name}\u0000${plan.key}\u0000${includeUsage}`
  const joined = plan.refresh ? undefined : flights.get(flightKey)
  const relayed = plan.relay === undefined ? undefined : { relay: plan.relay, id: createHash('sha256').update(flightKey).digest('hex') }
  const flight = joined ?? startFlight(plan, upstream, includeUsage, relayed)
  if (joined === undefined && !plan.refresh) {
    flights.set(flightKey, flight)
    void flight.done.finally(() => {
      if (flights.get(flightKey) === flight) flights.delete(flightKey)
    })
  }
  const start = await flight.ready
  if (start.kind === 'stream') {
    return { status: 200, contentType: start.contentType, cache: plan.refresh ? 'REFRESH' : 'MISS', ageMs: 0, body: flight.subscribe() }
  }
  if (start.outcome.kind === 'error') {
    const cause = rootCause(start.outcome.error)
    if (!(cause instanceof UpstreamRefusal)) throw cause
    const { status, body } = cause.answer
    return { status, contentType: 'application/json', cache: 'MISS', ageMs: 0, body: encoder.encode(JSON.stringify(body)) }
  }
  return replay(plan.format, start.outcome.served, includeUsage, savingOf)
}

/** A cached answer as a stream: the stored bytes when streamed the same way, else the completion written as one. */
export function replay(
  format: StreamFormat,
  served: Served<ChatRecord>,
  includeUsage: boolean,
  savingOf: (completion: unknown) => Saving | undefined,
): AiStreamAnswer {
  const { stream, body } = served.value
  const same = stream !== undefined && stream.includeUsage === includeUsage
  const text = same ? stream.sse : format.write(body, includeUsage)
  const cache: StreamStatus = served.source === 'origin' ? 'MISS' : served.stale ? 'STALE' : 'HIT'
  return {
    status: 200,
    contentType: same ? stream.contentType : 'text/event-stream; charset=utf-8',
    cache,
    ageMs: served.source === 'origin' ? 0 : served.ageMs,
    ...(served.source === 'origin' ? {} : { saved: savingOf(body) }),
    body: encoder.encode(text),
  }
}

/** A flight's relay across processes: where its stream is published, under which id. */
interface Relayed {
  readonly relay: StreamRelay
  readonly id: string
}

function startFlight(plan: StreamPlan, upstream: Upstream, includeUsage: boolean, relayed: Relayed | undefined): RunningFlight {
  const flight = new StreamFlight<Outcome>()
  const following = new AbortController()
  const produce = async ({ signal }: { readonly signal?: AbortSignal }): Promise<ChatRecord> => {
    // This process runs the upstream call: it stops following another's, and cannot splice its own
    // stream onto bytes it relayed from one that broke off.
    following.abort()
    if (flight.opened) flight.fail(new UpstreamError('the stream in progress in another process broke off'))
    const answer = await upstream.stream(plan.path, plan.request, signal)
    if (!isOk(answer.status)) throw new UpstreamRefusal({ status: answer.status, body: await errorBodyOf(answer.body) })
    const writer = plan.refresh ? undefined : relayed?.relay.publish(relayed.id)
    writer?.write({ kind: 'open', contentType: answer.contentType })
    flight.open(answer.contentType)
    try {
      for await (const chunk of answer.body) {
        flight.push(chunk)
        writer?.write({ kind: 'chunk', bytes: chunk })
      }
    } catch (error) {
      writer?.write({ kind: 'fail', message: 'the upstream stream broke off' })
      throw error
    }
    const bytes = flight.bytes()
    const sse = bytes.toString('utf8')
    const assembled = plan.format.assemble(sse)
    const ending = assembled.complete ? { kind: 'end' as const } : { kind: 'fail' as const, message: 'the upstream stream ended before its terminal event' }
    writer?.write(ending)
    if (!assembled.complete) throw new UpstreamError('the upstream stream ended before its terminal event; nothing was stored')
    flight.end()
    // Bytes that are not UTF-8 would not come back the same from text: keep the completion only.
    const exact = Buffer.from(sse, 'utf8').equals(bytes)
    return { body: assembled.body, stream: exact ? { sse, contentType: answer.contentType, includeUsage } : undefined }
  }
  const settled: Promise<Served<ChatRecord>> = plan.refresh
    ? produce({}).then(async (record) => {
        await plan.view.set(plan.key, record, plan.write)
        return { value: record, source: 'origin', stale: false, ageMs: 0, freshUntil: Date.now() }
      })
    : plan.view.getOrSetWithInfo(plan.key, produce, plan.write)
  // While another process runs the call (this one waits on the lock), its stream comes through the relay.
  const relaying = relayed === undefined || plan.refresh ? Promise.resolve(false) : follow(flight, relayed, following.signal)
  const stopFollowing = () => {
    if (!flight.opened) following.abort()
  }
  settled.then(stopFollowing, stopFollowing)
  const done = settled.then(
    async (served) => {
      const relayedToTheEnd = await relaying
      // The stream broke and the fail-safe answered a stale entry: too late for those following it.
      if (flight.opened && served.source !== 'origin' && !relayedToTheEnd) flight.fail(new UpstreamError('the upstream stream broke off'))
      flight.settle({ kind: 'served', served })
      // The semantic layer's bookkeeping: its failure must not fail an answer already given.
      if (served.source === 'origin') void plan.onStored?.(served.value.body).catch(() => {})
    },
    (error: unknown) => {
      following.abort()
      flight.fail(rootCause(error))
      flight.settle({ kind: 'error', error })
    },
  )
  return Object.assign(flight, { done })
}

/** Feeds `flight` with the stream another process publishes; resolves true once that stream ended (or failed) through it. */
async function follow(flight: StreamFlight<Outcome>, { relay, id }: Relayed, signal: AbortSignal): Promise<boolean> {
  try {
    for await (const event of relay.follow(id, signal)) {
      if (signal.aborted) return false
      if (event.kind === 'open') flight.open(event.contentType)
      else if (event.kind === 'chunk') flight.push(event.bytes)
      else if (event.kind === 'end') {
        flight.end()
        return true
      } else {
        flight.fail(new UpstreamError(event.message))
        return true
      }
    }
  } catch {
    // A relay that cannot be read leaves the wait to the read-through: the stored answer comes whole.
  }
  return false
}
