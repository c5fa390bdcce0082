import { Cluster, Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBus, type RedisBus } from '../../src/bus/redis.js'
import { createRedisLock, type RedisLock } from '../../src/bus/redis-lock.js'
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js'
import { killClientsNamed, Recorder, sleep, uniqueChannel, waitFor } from './helpers.js'

let cluster: RedisClusterProcess
const clients: Cluster[] = []
const closables: (RedisBus | RedisLock)[] = []

beforeAll(async () => {
  cluster = await startRedisCluster(3)
}, 60_000)
afterAll(async () => {
  await cluster.stop()
})
afterEach(async () => {
  await Promise.all(closables.splice(0).map((c) => c.close()))
  for (const client of clients.splice(0)) client.disconnect()
})

/** A Cluster client that starts from the given node. */
function clusterClient(startAt = 0): Cluster {
  const node = cluster.nodes[startAt % cluster.nodes.length]
  const client = new Cluster([{ host: '127.0.0.1', port: node?.port ?? 0 }], { enableOfflineQueue: true })
  client.on('error', () => {})
  clients.push(client)
  return client
}

async function startedBus(channel: string, startAt: number): Promise<{ bus: RedisBus; recorder: Recorder }> {
  const client = clusterClient(startAt)
  await waitFor(() => client.status === 'ready', 10_000, 'cluster client ready')
  const bus = createRedisBus({ connection: client, channel, heartbeatMs: 200, heartbeatTimeoutMs: 300 })
  closables.push(bus)
  const recorder = new Recorder()
  await bus.start(recorder)
  return { bus, recorder }
}

/** The port of the node whose connection list has a client named `name`. */
async function nodeOf(name: string): Promise<number | undefined> {
  for (const node of cluster.nodes) {
    const admin = new Redis(node.url)
    admin.on('error', () => {})
    try {
      if (String(await admin.client('LIST')).includes(` name=${name} `)) return node.port
    } catch {
      // a killed node
    } finally {
      admin.disconnect()
    }
  }
  return undefined
}

async function slotOwnerPort(key: string): Promise<number> {
  const admin = new Redis(cluster.nodes[0]?.url ?? '')
  try {
    const slot = Number(await admin.cluster('KEYSLOT', key))
    const ranges = await admin.cluster('SLOTS')
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)
    return owner?.[2]?.[1] ?? -1
  } finally {
    admin.disconnect()
  }
}

describe('RedisBus on a Redis Cluster', () => {
  it('delivers across nodes, once each, in order per sender', async () => {
    const channel = uniqueChannel()
    const owner = await slotOwnerPort(channel)
    const a = await startedBus(channel, 0)
    const receivers = [await startedBus(channel, 1), await startedBus(channel, 2)]
    // Subscribers start on a random node; make sure at least one listens on a node that does not
    // own the channel's slot, so that the message travels over the cluster bus.
    while ((await Promise.all(receivers.map((r) => nodeOf(`tiercache:sub:${r.bus.id}`)))).every((port) => port === owner)) {
      receivers.push(await startedBus(channel, receivers.length))
    }
    const count = 300
    await Promise.all(Array.from({ length: count }, (_, i) => a.bus.publish({ type: 'delete', namespace: 'n', keys: [String(i)] })))
    for (const r of receivers) {
      await waitFor(() => r.recorder.messages.length === count, 5_000, 'all messages')
      expect(r.recorder.envelopes.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
      expect(r.recorder.deafReasons).toEqual([])
    }
    await sleep(50)
    expect(a.recorder.messages).toEqual([])
  })

  it('a killed subscriber connection reports deaf, then listens again', async () => {
    const channel = uniqueChannel()
    const a = await startedBus(channel, 0)
    const b = await startedBus(channel, 1)
    await waitFor(() => b.recorder.listenings === 1)
    let killed = 0
    for (const node of cluster.nodes) killed += await killClientsNamed(node.url, `tiercache:sub:${b.bus.id}`)
    expect(killed).toBe(1)
    await waitFor(() => b.recorder.deafReasons.length === 1, 2_000, 'deaf')
    await waitFor(() => b.bus.listening, 5_000, 'listening again')
    await a.bus.publish({ type: 'clear' })
    await waitFor(() => b.recorder.messages.length === 1)
    expect(b.recorder.trace).toEqual(['listening', 'deaf:disconnected', 'listening', 'message'])
  })
})

describe('RedisLock on a Redis Cluster', () => {
  it('locks keys on every node, and release wakes waiters subscribed on any node', async () => {
    const prefix = `${uniqueChannel('lock')}:`
    const channel = uniqueChannel('lock-released')
    const [holder, waiter] = [0, 1].map((i) => {
      const lock = createRedisLock({ connection: clusterClient(i), prefix, channel })
      closables.push(lock)
      return lock
    }) as [RedisLock, RedisLock]
    const names = Array.from({ length: 12 }, (_, i) => `name-${i}`)
    expect(new Set(await Promise.all(names.map((n) => slotOwnerPort(prefix + n)))).size).toBeGreaterThan(1)
    const tokens = await Promise.all(names.map((n) => holder.acquire(n, 10_000)))
    expect(tokens.every((t) => typeof t === 'string')).toBe(true)
    expect(await Promise.all(names.map((n) => waiter.acquire(n, 10_000)))).toEqual(names.map(() => undefined))
    const woke: number[] = []
    const waits = names.map((n, i) => waiter.waitForRelease(n, 5_000).then(() => woke.push(i)))
    await sleep(200)
    expect(woke).toEqual([])
    const releasedAt = performance.now()
    await Promise.all(names.map((n, i) => holder.release(n, tokens[i] ?? '')))
    await Promise.all(waits)
    expect(performance.now() - releasedAt).toBeLessThan(500)
    expect(await holder.extend(names[0] ?? '', tokens[0] ?? '', 1_000)).toBe(false)
  })
})

// Last: it kills a node.
describe('RedisBus when a cluster node dies', () => {
  it('moves the subscription to another node: deaf, then listening there', async () => {
    const channel = uniqueChannel()
    const b = await startedBus(channel, 1)
    const name = `tiercache:sub:${b.bus.id}`
    const port = await nodeOf(name)
    const victim = cluster.nodes.find((node) => node.port === port)
    const survivor = cluster.nodes.find((node) => node.port !== port)
    if (victim === undefined || survivor === undefined) throw new Error('subscriber not found')
    await victim.kill()
    await waitFor(() => b.recorder.deafReasons.length === 1, 2_000, 'deaf')
    await waitFor(() => b.bus.listening, 10_000, 'listening on another node')
    const now = await nodeOf(name)
    expect(now).toBeDefined()
    expect(now).not.toBe(port)
    const publisher = new Redis(survivor.url)
    try {
      await publisher.publish(channel, JSON.stringify({ v: 1, sender: 'x', seq: 1, at: Date.now(), message: { type: 'clear' } }))
    } finally {
      publisher.disconnect()
    }
    await waitFor(() => b.recorder.messages.length === 1)
    expect(b.recorder.trace).toEqual(['listening', 'deaf:disconnected', 'listening', 'message'])
  })
})
