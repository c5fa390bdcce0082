import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatExplanation, parseExplanation } from '../../src/cli/commands/explain.js'
import { formatDuration } from '../../src/cli/format.js'
import type { Cache } from '../../src/index.js'
import { createCache } from '../../src/index.js'
import { openCredentialStore } from '../../src/security/credentials/index.js'
import { startServer } from '../../src/server/index.js'
import { freePort } from '../helpers/redis-server.js'
import { inProcess } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-explain-cli-'))
let cache: Cache
let app: FastifyInstance
let url: string
let key: string
let view: Cache

beforeAll(async () => {
  const file = join(dir, 'cache.db')
  cache = createCache({ l1: { maxEntries: 2 }, l3: { sqlite: file, cleanupInterval: 0 } })
  const credentials = await openCredentialStore({ sqlite: file })
  key = (await credentials.create({ tenant: 'acme', roles: ['read', 'write'] })).key
  ;({ app, url } = await startServer({ cache, credentials, port: 0 }))
  view = cache.withContext({ role: 'authenticated', tenantId: 'acme' })
})
afterAll(async () => {
  await app.close()
  await cache.close()
  rmSync(dir, { recursive: true, force: true })
})

const explain = (...args: string[]) => inProcess(['explain', ...args, '--url', url, '--token', key])

describe('tiercache explain', () => {
  it('prints where the key is in each tier, for people', async () => {
    await view.namespace('flights').set('JFK/LHR é', { fare: 420 }, { ttl: '5m', grace: '1h', tags: ['route', 'fares'] })
    const run = await explain('flights', 'JFK/LHR é')
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^key\s+flights \/ JFK\/LHR é \(tenant scope\)$/m)
    expect(run.stdout).toMatch(/^answer\s+fresh, from l1$/m)
    expect(run.stdout).toMatch(/^last removal\s+none remembered$/m)
    expect(run.stdout).toMatch(/^l1\s+memory\s+present\s+fresh\s+\d+ min \d+ s\s+60 min 0 s\s+[\d.]+ (µs|ms|s)\s+\d+ B\s+route,fares$/m)
    expect(run.stdout).toMatch(/^l3\s+sqlite\s+present\s+fresh\s+/m)
    expect(run.stdout).toMatch(/^no removal of this key remembered$/m)
  })

  it('says which tag invalidation took a key away, and prints the JSON as is with --json', async () => {
    await view.namespace('flights').set('k', 1, { tags: ['red'] })
    const purge = await inProcess(['purge', '--tags', 'red', '--namespace', 'flights', '--url', url, '--token', key])
    expect(purge.code).toBe(0)
    const run = await explain('flights', 'k')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^answer\s+miss$/m)
    expect(run.stdout).toMatch(/^last removal\s+tag invalidation of red; here, in l1, l3; at \d{4}-\d\d-\d\dT/m)
    expect(run.stdout).toMatch(/^l1\s+memory\s+absent \(invalidated at \d{4}-/m)
    expect(run.stdout).toMatch(/^removals, newest first:\n {2}\d{4}-\S+ {2}tag invalidation of red; here, in l1, l3$/m)

    const json = await explain('flights', 'k', '--json')
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.stdout) as { lastRemoval: unknown; answer: string }
    expect(parsed).toMatchObject({ namespace: 'flights', key: 'k', answer: 'miss' })
    expect(parsed.lastRemoval).toMatchObject({ kind: 'tags', tag: 'red', certain: true })
  })

  it('says when L1 evicted a key that L3 still serves', async () => {
    const ns = view.namespace('evictions')
    await ns.set('a', 1)
    await ns.set('b', 2)
    await ns.set('c', 3)
    const run = await explain('evictions', 'a')
    expect(run.stdout).toMatch(/^answer\s+fresh, from l3$/m)
    expect(run.stdout).toMatch(/^last removal\s+evicted from L1 \(maxEntries\); here, in l1; /m)
    expect(run.stdout).toMatch(/^l1\s+memory\s+absent \(evicted at /m)
  })

  it('reports every failure with a TC_ code', async () => {
    const anonymous = await inProcess(['explain', 'flights', 'k', '--url', url])
    expect(anonymous.code).toBe(1)
    expect(anonymous.stderr).toMatch(/^error TC_UNAUTHORIZED: .*--token/)
    const badNamespace = await explain('no/slash', 'k')
    expect(badNamespace.code).toBe(1)
    expect(badNamespace.stderr).toMatch(/^error TC_INVALID_NAMESPACE: .*\(HTTP 400 from /)
    const dot = await explain('flights', '..')
    expect(dot.code).toBe(1)
    expect(dot.stderr).toMatch(/^error TC_INVALID_KEY: the key "\.\." cannot travel in a URL path/)
    const missing = await inProcess(['explain', 'flights'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^error TC_INVALID_OPTIONS: missing required argument 'key'/)
    const nobody = await inProcess(['explain', 'flights', 'k', '--url', `http://127.0.0.1:${await freePort()}`, '--token', key])
    expect(nobody.code).toBe(1)
    expect(nobody.stderr).toMatch(/^error TC_SERVER_UNREACHABLE: /)
    expect(() => parseExplanation({ value: 1, source: 'l1' }, 'http://x')).toThrow(expect.objectContaining({ code: 'TC_UNEXPECTED_ANSWER' }))
  })

  it('words every kind of removal', () => {
    const removal = (kind: string, extra: object = {}) => ({ kind, at: 0, remote: true, tiers: ['l1'], certain: true, ...extra })
    const text = formatExplanation(
      parseExplanation(
        {
          namespace: 'n',
          scope: 'public',
          key: 'k',
          at: 0,
          answer: 'miss',
          tiers: [{ level: 'l2', kind: 'redis', state: 'unavailable', circuit: 'open' }],
          removals: [
            removal('delete'),
            removal('replaced'),
            removal('tags', { tags: ['a', 'b'], certain: false, allNamespaces: true }),
            removal('clear', { allNamespaces: true }),
            removal('erase', { scope: 'user' }),
            removal('evict', { reason: 'size' }),
            removal('expire'),
            removal('deaf', { reason: 'gap' }),
            removal('repair', { tiers: ['l3'] }),
          ],
          bus: 'deaf',
        },
        'http://x',
      ),
    )
    expect(text).toMatch(/^l2\s+redis\s+unavailable \(circuit open\)/m)
    // A ttl a few ms short of 5 minutes reads as 5 minutes, not "4 min 60 s".
    expect([formatDuration(299_988), formatDuration(61_400)]).toEqual(['5 min 0 s', '1 min 1 s'])
    expect(text.split('\n').filter((line) => line.startsWith('  1970-')).map((line) => line.slice(28))).toEqual([
      'deleted; heard from another instance, in l1',
      'set by another instance (L1 dropped its copy); heard from another instance, in l1',
      'tag invalidation of a, b in every namespace (may not have touched the key: its tags are unknown); heard from another instance, in l1',
      'every namespace cleared; heard from another instance, in l1',
      'user erased; heard from another instance, in l1',
      'evicted from L1 (maxBytes); heard from another instance, in l1',
      'expired from L1, past its grace; heard from another instance, in l1',
      'L1 emptied: the bus went deaf (gap); heard from another instance, in l1',
      'cleared by a recovering tier that had missed removals; heard from another instance, in l3',
    ])
  })
})
