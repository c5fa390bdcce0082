import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { BusMessage } from '../../src/bus/bus.js'
import { createRedisBus, type RedisBus, type RedisBusOptions } from '../../src/bus/redis.js'
import { isTiercacheError } from '../../src/errors.js'
import { type RedisProcess, startRedisServer, TEST_REDIS_URL } from '../helpers/redis-server.js'
import { envelope, killClientsNamed, percentile, rawPublish, Recorder, serverPid, sleep, uniqueChannel, waitFor } from './helpers.js'

const opened: RedisBus[] = []
const clients: Redis[] = []

/** A bus the test closes after it, on the shared Redis unless told otherwise. */
function bus(options: Partial<RedisBusOptions> & { channel: string }): RedisBus {
  const created = createRedisBus({ connection: TEST_REDIS_URL, heartbeatMs: 200, heartbeatTimeoutMs: 300, ...options })
  opened.push(created)
  return created
}

async function started(options: Partial<RedisBusOptions> & { channel: string }): Promise<{ bus: RedisBus; recorder: Recorder }> {
  const created = bus(options)
  const recorder = new Recorder()
  await created.start(recorder)
  return { bus: created, recorder }
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()))
  for (const client of clients.splice(0)) client.disconnect()
})

const allTypes: BusMessage[] = [
  { type: 'set', namespace: 'users', keys: ['u:1', 'u:2', 'ключ 🔑'] },
  { type: 'delete', namespace: 'users', keys: ['u:3'] },
  { type: 'invalidate-tags', namespace: 'users', tags: ['team:7', 'plan'] },
  { type: 'invalidate-tags', tags: ['everywhere'] },
  { type: 'clear', namespace: 'sessions' },
  { type: 'clear' },
]

describe('RedisBus on a shared Redis', () => {
  it('delivers each message to every other instance once, never to its sender, all types exactly', async () => {
    const channel = uniqueChannel()
    const [a, b, c] = await Promise.all([started({ channel }), started({ channel }), started({ channel })])
    expect(a.bus.listening && b.bus.listening && c.bus.listening).toBe(true)
    for (const message of allTypes) await a.bus.publish(message)
    await b.bus.publish({ type: 'delete', namespace: 'x', keys: ['from-b'] })
    await waitFor(() => b.recorder.messages.length === allTypes.length && c.recorder.messages.length === allTypes.length + 1)
    await sleep(50) // nothing more arrives
    expect(b.recorder.messages).toEqual(allTypes)
    expect(c.recorder.messages).toEqual([...allTypes, { type: 'delete', namespace: 'x', keys: ['from-b'] }])
    expect(a.recorder.messages).toEqual([{ type: 'delete', namespace: 'x', keys: ['from-b'] }])
    // The optional namespace stays absent, not undefined-valued.
    expect('namespace' in (b.recorder.messages[5] ?? {})).toBe(false)
    const first = b.recorder.envelopes[0]
    expect(first).toMatchObject({ v: 1, sender: a.bus.id, seq: 1 })
    expect(Math.abs((first?.at ?? 0) - Date.now())).toBeLessThan(5_000)
    for (const { recorder } of [a, b, c]) expect(recorder.deafReasons).toEqual([])
    expect(a.recorder.trace[0]).toBe('listening')
  })

  it('keeps the order of each sender under concurrent publishing', async () => {
    const channel = uniqueChannel()
    const [a, b, c] = await Promise.all([started({ channel }), started({ channel }), started({ channel })])
    const count = 300
    await Promise.all([
      ...Array.from({ length: count }, (_, i) => a.bus.publish({ type: 'delete', namespace: 'a', keys: [String(i)] })),
      ...Array.from({ length: count }, (_, i) => b.bus.publish({ type: 'delete', namespace: 'b', keys: [String(i)] })),
    ])
    await waitFor(() => c.recorder.messages.length === 2 * count)
    const from = (sender: string) => c.recorder.envelopes.filter((e) => e.sender === sender)
    expect(from(a.bus.id).map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    expect(from(b.bus.id).map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    expect(from(a.bus.id).map((e) => (e.message.type === 'delete' ? e.message.keys[0] : ''))).toEqual(
      Array.from({ length: count }, (_, i) => String(i)),
    )
    expect(c.recorder.deafReasons).toEqual([])
  })

  it('reports a gap in a sender’s sequence, and keeps listening', async () => {
    const channel = uniqueChannel()
    const { bus: b, recorder } = await started({ channel })
    recorder.clear()
    const payload = (seq: number) => JSON.stringify(envelope('other', seq))
    await rawPublish(TEST_REDIS_URL, channel, payload(57)) // first seen: no gap whatever its seq
    await rawPublish(TEST_REDIS_URL, channel, payload(58))
    await rawPublish(TEST_REDIS_URL, channel, payload(60)) // 59 missed
    await rawPublish(TEST_REDIS_URL, channel, payload(61))
    await waitFor(() => recorder.messages.length === 4)
    expect(recorder.trace).toEqual(['message', 'message', 'deaf:gap', 'listening', 'message', 'message'])
    expect(b.listening).toBe(true)
  })

  it('reports malformed or other-version envelopes as bad messages, drops them and keeps working', async () => {
    const channel = uniqueChannel()
    const { bus: b, recorder } = await started({ channel })
    const a = await started({ channel })
    recorder.clear()
    const bad = [
      'not json {',
      JSON.stringify({ ...envelope('x', 1), v: 2 }),
      JSON.stringify({ ...envelope('x', 1), extra: true }),
      JSON.stringify(envelope('x', 0)),
      JSON.stringify({ ...envelope('x', 1), message: { type: 'drop-all' } }),
      JSON.stringify({ ...envelope('x', 1), message: { type: 'set', namespace: 'n', keys: [1] } }),
      JSON.stringify(null),
      '',
    ]
    await rawPublish(TEST_REDIS_URL, channel, ...bad)
    await waitFor(() => recorder.deafReasons.length === bad.length)
    expect(recorder.messages).toEqual([])
    expect(recorder.trace).toEqual(bad.flatMap(() => ['deaf:bad-message', 'listening']))
    expect(b.listening).toBe(true)
    await a.bus.publish({ type: 'clear' })
    await waitFor(() => recorder.messages.length === 1)
    expect(recorder.messages).toEqual([{ type: 'clear' }])
  })

  it('ignores its own messages, even with a gap in them', async () => {
    const channel = uniqueChannel()
    const { bus: b, recorder } = await started({ channel })
    await rawPublish(TEST_REDIS_URL, channel, JSON.stringify(envelope(b.id, 5)), JSON.stringify(envelope(b.id, 9)))
    await b.publish({ type: 'clear' })
    await sleep(100)
    expect(recorder.trace).toEqual(['listening'])
  })

  it('works on a client passed in, and leaves it open on close', async () => {
    const channel = uniqueChannel()
    const client = new Redis(TEST_REDIS_URL)
    clients.push(client)
    const a = await started({ channel, connection: client, id: 'instance a' })
    const b = await started({ channel, connection: client })
    await a.bus.publish({ type: 'delete', namespace: 'n', keys: ['k'] })
    await waitFor(() => b.recorder.messages.length === 1)
    expect(b.recorder.envelopes[0]?.sender).toBe('instance a')
    await a.bus.close()
    await b.bus.close()
    expect(await client.ping()).toBe('PONG')
  })

  it('closes idempotently, reports itself unsubscribed, then refuses to publish or start', async () => {
    const channel = uniqueChannel()
    const { bus: b, recorder } = await started({ channel })
    await Promise.all([b.close(), b.close()])
    await b.close()
    expect(b.listening).toBe(false)
    expect(recorder.trace).toEqual(['listening', 'deaf:unsubscribed'])
    await expect(b.publish({ type: 'clear' })).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_CACHE_CLOSED'))
    await expect(b.start(new Recorder())).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_CACHE_CLOSED'))
  })

  it('validates its options and what it publishes, and starts once', async () => {
    const channel = uniqueChannel()
    for (const options of [{ channel: '' }, { heartbeatMs: -1 }, { id: '' }, { connection: 42 }, { unknown: 1 }]) {
      expect(() => createRedisBus({ connection: TEST_REDIS_URL, ...options } as unknown as RedisBusOptions)).toThrow(
        expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }),
      )
    }
    const { bus: b } = await started({ channel })
    await expect(b.start(new Recorder())).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_INVALID_OPTIONS'))
    await expect(b.publish({ type: 'nope' } as unknown as BusMessage)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_INVALID_OPTIONS'))
    expect(b.id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('passes what a handler throws to onError and carries on', async () => {
    const channel = uniqueChannel()
    const errors: unknown[] = []
    const b = bus({ channel, onError: (error) => errors.push(error) })
    const seen: BusMessage[] = []
    await b.start({
      message: (message) => {
        seen.push(message)
        throw new Error('handler bug')
      },
      deaf: () => {},
      listening: () => {},
    })
    const a = await started({ channel })
    await a.bus.publish({ type: 'clear' })
    await a.bus.publish({ type: 'clear', namespace: 'n' })
    await waitFor(() => seen.length === 2)
    expect(errors).toHaveLength(2)
  })

  it('a subscriber whose connection is killed while another instance publishes reports itself deaf, then listens again', async () => {
    const channel = uniqueChannel()
    const a = await started({ channel })
    const b = await started({ channel, id: `victim-${Date.now()}` })
    let publishing = true
    let sent = 0
    const publisher = (async () => {
      while (publishing) {
        await a.bus.publish({ type: 'delete', namespace: 'n', keys: [`k${++sent}`] })
        await sleep(2)
      }
    })()
    await waitFor(() => b.recorder.messages.length > 10)
    expect(await killClientsNamed(TEST_REDIS_URL, `tiercache:sub:${b.bus.id}`)).toBe(1)
    await waitFor(() => b.recorder.deafReasons.length > 0, 2_000, 'deaf')
    expect(b.recorder.deafReasons[0]).toBe('disconnected')
    await waitFor(() => b.bus.listening, 5_000, 'listening again')
    const afterListening = b.recorder.messages.length
    await waitFor(() => b.recorder.messages.length > afterListening + 10)
    publishing = false
    await publisher
    // The messages published while it was deaf are lost (pub/sub), which is what deaf said; after
    // listening() it hears everything again, and its sequence tracking restarted without a gap.
    expect(b.recorder.messages.length).toBeLessThanOrEqual(sent)
    expect(b.recorder.trace.filter((kind) => kind !== 'message')).toEqual(['listening', 'deaf:disconnected', 'listening'])
    const seqs = b.recorder.envelopes.map((e) => e.seq)
    const lastRun = seqs.slice(seqs.length - 10)
    expect(lastRun).toEqual(Array.from({ length: 10 }, (_, i) => (lastRun[0] ?? 0) + i))
  })

  it('measures publish-to-delivery latency on localhost', async () => {
    const channel = uniqueChannel()
    const a = await started({ channel })
    const b = await started({ channel })
    const samples: number[] = []
    for (let i = 0; i < 1_000; i++) {
      const before = b.recorder.events.length
      const sentAt = performance.now()
      await a.bus.publish({ type: 'delete', namespace: 'n', keys: [`k${i}`] })
      while (b.recorder.events.length === before) await new Promise<void>((resolve) => setImmediate(resolve))
      const event = b.recorder.events[before]
      samples.push((event?.at ?? Number.NaN) - sentAt)
    }
    const burst = 1_000
    const base = b.recorder.events.length
    const burstStart = performance.now()
    await Promise.all(Array.from({ length: burst }, (_, i) => a.bus.publish({ type: 'delete', namespace: 'n', keys: [`b${i}`] })))
    await waitFor(() => b.recorder.events.length === base + burst)
    const burstMs = performance.now() - burstStart
    const fmt = (ms: number) => `${(ms * 1_000).toFixed(0)} µs`
    console.info(
      `[bus latency] sequential, 1000 msgs: p50 ${fmt(percentile(samples, 50))}, p99 ${fmt(percentile(samples, 99))}, max ${fmt(Math.max(...samples))}; ` +
        `burst of ${burst}: ${burstMs.toFixed(1)} ms (${Math.round((burst / burstMs) * 1_000)} msg/s)`,
    )
    expect(samples.every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true)
    expect(b.recorder.deafReasons).toEqual([])
  })
})

describe('RedisBus on a private Redis that fails', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server.stop()
  })
  afterEach(async () => {
    // Whatever a test did, the server is up for the next one.
    if (!(await pingable(server.url))) await server.restart()
  })

  it('reports deaf at once when the server dies, fails publishes fast, and listens again after restart', async () => {
    const channel = uniqueChannel()
    const a = await started({ channel, connection: server.url })
    const b = await started({ channel, connection: server.url })
    const killedAt = performance.now()
    await server.kill()
    await waitFor(() => b.recorder.deafReasons.length > 0, 2_000, 'deaf')
    const deafAfter = (b.recorder.events.find((e) => e.kind === 'deaf')?.at ?? Infinity) - killedAt
    expect(deafAfter).toBeLessThan(500)
    expect(b.recorder.deafReasons).toEqual(['disconnected'])
    expect(b.bus.listening).toBe(false)
    const publishStart = performance.now()
    await expect(a.bus.publish({ type: 'clear' })).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_TIER_UNAVAILABLE'))
    expect(performance.now() - publishStart).toBeLessThan(1_500)

    await server.restart()
    await waitFor(() => a.bus.listening && b.bus.listening, 5_000, 'listening after restart')
    expect(b.recorder.trace).toEqual(['listening', 'deaf:disconnected', 'listening'])
    // The publisher reconnects too (in the background); messages flow again.
    await retry(() => a.bus.publish({ type: 'delete', namespace: 'n', keys: ['after'] }))
    await waitFor(() => b.recorder.messages.length >= 1)
    expect(b.recorder.messages.at(-1)).toEqual({ type: 'delete', namespace: 'n', keys: ['after'] })
    // The failed publish used a seq: b started tracking again after its reconnection, so no gap.
    expect(b.recorder.deafReasons).toEqual(['disconnected'])
  })

  it('detects a silently dead subscription by its heartbeat (server frozen), and recovers', async () => {
    const channel = uniqueChannel()
    const b = await started({ channel, connection: server.url, heartbeatMs: 200, heartbeatTimeoutMs: 300 })
    const pid = await serverPid(server.url)
    process.kill(pid, 'SIGSTOP')
    const frozenAt = performance.now()
    try {
      await waitFor(() => b.recorder.deafReasons.length > 0, 3_000, 'deaf')
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    const deafAfter = (b.recorder.events.find((e) => e.kind === 'deaf')?.at ?? Infinity) - frozenAt
    expect(deafAfter).toBeLessThan(200 + 300 + 300) // one interval + timeout, and slack
    expect(b.recorder.deafReasons).toEqual(['disconnected'])
    await waitFor(() => b.bus.listening, 5_000, 'listening after thaw')
    await rawPublish(server.url, channel, JSON.stringify(envelope('other', 1)))
    await waitFor(() => b.recorder.messages.length === 1)
  })

  it('a publisher’s failed PUBLISH shows as a gap at its next message', async () => {
    const channel = uniqueChannel()
    const client = new Redis(server.url, { enableOfflineQueue: false })
    clients.push(client)
    const a = await started({ channel, connection: client })
    const b = await started({ channel, connection: server.url })
    await a.bus.publish({ type: 'clear', namespace: '1' })
    // Make just a's PUBLISH fail: its command connection is down, b's subscription is not.
    const ended = new Promise((resolve) => client.once('end', resolve))
    client.disconnect()
    await ended
    await expect(a.bus.publish({ type: 'clear', namespace: '2' })).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_TIER_UNAVAILABLE'))
    await client.connect()
    await a.bus.publish({ type: 'clear', namespace: '3' })
    await waitFor(() => b.recorder.messages.length === 2)
    expect(b.recorder.trace).toEqual(['listening', 'message', 'deaf:gap', 'listening', 'message'])
    expect(b.recorder.envelopes.map((e) => e.seq)).toEqual([1, 3])
  })

  it('start rejects when Redis is down, reports deaf, and listens once it is back', async () => {
    const channel = uniqueChannel()
    await server.kill()
    const b = bus({ channel, connection: server.url, startTimeoutMs: 300 })
    const recorder = new Recorder()
    await expect(b.start(recorder)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_TIER_UNAVAILABLE'))
    expect(recorder.trace).toEqual(['deaf:disconnected'])
    await server.restart()
    await waitFor(() => b.listening, 5_000, 'listening')
    expect(recorder.trace).toEqual(['deaf:disconnected', 'listening'])
  })
})

async function pingable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function retry<T>(operation: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await operation()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(50)
    }
  }
}
