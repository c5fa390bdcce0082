// What this proves: an instance that may have missed bus messages never serves, from its L1, a value
// another instance changed meanwhile. Two real worker processes, A and B, share a private Redis
// (L2, bus, lock; no L3). B reaches Redis through a TCP proxy in the test process that can drop or
// freeze ONLY B's bus subscriber connection; B's L2 connection keeps working throughout.
//
// - Dropped subscription: B holds v1 of `k` (and a tagged `k2`) in L1; B's subscriber connection is
//   closed (and kept from reconnecting); once B knows it is deaf, A sets k = v2 and invalidates k2's
//   tag, messages B cannot hear. From then on, during the outage and after B's subscription is back,
//   B must serve v2 (or a miss) for k and nothing for k2, never the old values; and once back, B
//   serves k from L1 again (L1 resumed, with the new value).
// - Frozen subscription (silent loss: no close, no error; only the heartbeat can tell): A sets
//   k3 = v2 while B's subscriber is frozen. B may serve v1 until its heartbeat notices (PING every
//   1 s, 1 s to answer: 2 s at most, asserted below 3 s), never after it went deaf, and never after
//   the subscription is back. The exposure window is printed.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type RedisProcess, startRedisServer } from '../helpers/redis-server.js'
import { type RedisProxy, startRedisProxy } from './redis-proxy.js'
import { type Worker, killAllWorkers, startWorkers, uniqueName } from './workers.js'

/** Longest a silently dead subscription may go unnoticed: heartbeat interval + timeout (1 s + 1 s), plus slack. */
const HEARTBEAT_BOUND_MS = 3_000

let redis: RedisProcess
let proxy: RedisProxy
let a: Worker
let b: Worker

beforeAll(async () => {
  redis = await startRedisServer()
  proxy = await startRedisProxy(redis.port)
  const prefix = uniqueName('missed')
  const namespace = uniqueName('missed')
  ;[a, b] = (await startWorkers(2, (i) => ({
    cache: { namespace, l2: { redis: i === 0 ? redis.url : proxy.url, prefix }, l3: false },
  }))) as [Worker, Worker]
}, 90_000)
// A test that fails half-way must not leave the next one with a dead subscription.
afterEach(() => proxy?.restore())
afterAll(async () => {
  await killAllWorkers()
  await proxy?.close()
  await redis?.stop()
})

async function holdInL1(worker: Worker, key: string, value: string): Promise<void> {
  await vi.waitFor(async () => expect(await worker.call({ op: 'get', key })).toEqual({ value, source: 'l1' }), { timeout: 3_000, interval: 20 })
}

async function waitForListening(worker: Worker, listening: boolean, timeout: number): Promise<void> {
  await vi.waitFor(async () => expect((await worker.call({ op: 'state' })).listening, `bus listening in ${worker.pid}`).toBe(listening), {
    timeout,
    interval: 10,
  })
}

describe('an instance that misses bus messages (private Redis, proxied subscriber)', () => {
  it('never serves a value changed while its subscription was dropped', async () => {
    expect(proxy.liveSubscribers, "B's bus subscriber goes through the proxy").toBe(1)
    await a.call({ op: 'set', key: 'k', value: 'v1' })
    await a.call({ op: 'set', key: 'k2', value: 'w1', tags: ['t2'] })
    await holdInL1(b, 'k', 'v1')
    await holdInL1(b, 'k2', 'w1')

    proxy.cutSubscribers()
    await waitForListening(b, false, 3_000)
    await a.call({ op: 'set', key: 'k', value: 'v2' })
    await a.call({ op: 'invalidate', tags: ['t2'] })
    await b.call({ op: 'guard', key: 'k', forbidden: 'v1' })
    await b.call({ op: 'guard', key: 'k2', forbidden: 'w1' })

    // During the outage: the new value from L2 (B's L2 connection works), nothing for k2.
    expect(await b.call({ op: 'get', key: 'k' })).toEqual({ value: 'v2', source: 'l2' })
    expect(await b.call({ op: 'get', key: 'k2' })).toEqual({ value: undefined, source: undefined })
    expect((await b.call({ op: 'state' })).listening, 'B still deaf: the change happened during the outage').toBe(false)

    proxy.restore()
    await waitForListening(b, true, 5_000)
    // Back: L1 in use again, with the new value.
    await holdInL1(b, 'k', 'v2')
    expect(await b.call({ op: 'get', key: 'k2' })).toEqual({ value: undefined, source: undefined })

    const [k, k2] = [await b.call({ op: 'guardResult', key: 'k' }), await b.call({ op: 'guardResult', key: 'k2' })]
    expect(k.reads).toBeGreaterThan(0)
    expect(k2.reads).toBeGreaterThan(0)
    expect(k.forbidden, `reads of k that served v1 (sources: ${JSON.stringify(k.sources)})`).toBe(0)
    expect(k2.forbidden, `reads of k2 that served w1 (sources: ${JSON.stringify(k2.sources)})`).toBe(0)
    expect((await b.call({ op: 'state' })).busStates.map(({ listening }) => listening)).toEqual([true, false, true])
  })

  it('stops serving a value changed while its subscription was frozen once the heartbeat notices, and never after', async () => {
    await waitForListening(b, true, 5_000)
    expect(proxy.liveSubscribers, "B's bus subscriber goes through the proxy").toBe(1)
    const statesBefore = (await b.call({ op: 'state' })).busStates.length
    await a.call({ op: 'set', key: 'k3', value: 'v1' })
    await holdInL1(b, 'k3', 'v1')

    proxy.freezeSubscribers()
    const { doneAt: changedAt } = await a.call({ op: 'set', key: 'k3', value: 'v2' })
    await b.call({ op: 'guard', key: 'k3', forbidden: 'v1' })
    await waitForListening(b, false, HEARTBEAT_BOUND_MS + 2_000)
    expect(await b.call({ op: 'get', key: 'k3' })).toEqual({ value: 'v2', source: 'l2' })

    proxy.restore()
    await waitForListening(b, true, 5_000)
    await holdInL1(b, 'k3', 'v2')

    const guard = await b.call({ op: 'guardResult', key: 'k3' })
    const deafAt = (await b.call({ op: 'state' })).busStates.slice(statesBefore).find(({ listening }) => !listening)?.at
    expect(deafAt, 'B went deaf').toBeDefined()
    const noticedAfter = (deafAt as number) - changedAt
    const exposure = guard.lastForbiddenAt === undefined ? 0 : guard.lastForbiddenAt - changedAt
    console.log(
      `frozen subscription: B went deaf ${noticedAfter.toFixed(0)} ms after A's change; ` +
        `B served the old value ${guard.forbidden} times (of ${guard.reads} reads), the last ${exposure.toFixed(0)} ms after the change`,
    )
    expect(noticedAfter, 'ms from the change to B noticing its subscription was dead').toBeLessThan(HEARTBEAT_BOUND_MS)
    if (guard.lastForbiddenAt !== undefined) expect(guard.lastForbiddenAt, 'old value served after B went deaf').toBeLessThan(deafAt as number)
  })
})
