// `tiercache warm <job> --policy-file <path>`: a job of a JSON configuration (URL sources, a local
// HTTP server) and of an ES module (function sources) loaded into SQLite and Redis, as the built
// command in its own process and in this one; the progress bar on a terminal, plain lines otherwise;
// the report; the exit codes.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { ensureBuilt } from '../consumer/project.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type Run, bin, cleanEnv, inProcess } from './run.js'

let dir: string
let server: Server
let base: string
let jsonPolicy: string
let modulePolicy: string

beforeAll(async () => {
  ensureBuilt()
  dir = mkdtempSync(join(tmpdir(), 'tiercache-warm-cli-'))
  server = createServer((request, response) => {
    const id = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname.slice('/airports/'.length))
    if (id.startsWith('BAD')) return void response.writeHead(503, 'Service Unavailable').end()
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: id }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  jsonPolicy = join(dir, 'policy.json')
  const airports = Array.from({ length: 20 }, (_, i) => `A${String(i).padStart(2, '0')}`)
  writeFileSync(
    jsonPolicy,
    JSON.stringify({
      policies: { reference: { ttl: '12h', grace: '1d' } },
      warm: {
        jobs: {
          airports: { namespace: 'airports', policy: 'reference', concurrency: 3, source: `${base}/airports/{key}`, keys: airports },
          partly: { source: `${base}/airports/{key}`, keys: ['LHR', 'BAD1', 'BAD2'] },
        },
      },
    }),
  )
  modulePolicy = join(dir, 'policy.mjs')
  writeFileSync(
    modulePolicy,
    `export default {
  warm: { jobs: { flights: { namespace: 'flights', tags: ['flights'], source: ({ key }) => ({ flight: key, status: 'on time' }), keys: ['BA117'] } } },
}
`,
  )
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  rmSync(dir, { recursive: true, force: true })
})

/** Runs the built command in its own process, without blocking this one (which serves the sources). */
function spawned(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout: out, stderr: err }))
  })
}

describe('tiercache warm', () => {
  it('loads a job of a JSON configuration into the SQLite file, printing plain progress lines and the report (its own process)', async () => {
    const db = join(dir, 'spawned.db')
    const run = await spawned(['warm', 'airports', '--policy-file', jsonPolicy, '--sqlite', db])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^warm airports: 20 of 20 keys loaded, 0 failed in .+ \(namespace airports\)\n$/)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(10)
    expect(lines[9]).toBe('warm airports: 20/20 keys, 0 failed')
    const cache = createCache({ l1: false, l3: { sqlite: db } })
    try {
      const explained = await cache.namespace('airports').explain('A07')
      const l3 = explained.tiers.find((tier) => tier.level === 'l3')
      expect(l3?.state).toBe('present')
      expect(l3!.freshUntil! - l3!.createdAt!).toBe(12 * 3_600_000)
      expect(await cache.namespace('airports').get('A19')).toEqual({ code: 'A19' })
    } finally {
      await cache.close()
    }
  })

  it('draws a progress bar on a terminal', async () => {
    const run = await inProcess(['warm', 'airports', '--policy-file', jsonPolicy, '--sqlite', join(dir, 'tty.db')], { terminal: true })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/warm airports \[.*\] \d+% \| \d+\/20 keys \| 0 failed/)
    expect(run.stdout).toMatch(/20 of 20 keys loaded/)
  })

  it('reports the keys that failed with their codes and exits 1 with TC_WARM_INCOMPLETE', async () => {
    const run = await inProcess(['warm', 'partly', '--policy-file', jsonPolicy, '--sqlite', join(dir, 'partly.db')])
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('warm partly: 1 of 3 keys loaded, 2 failed')
    expect(run.stdout).toMatch(/ {2}BAD1 {2}TC_FACTORY_ERROR {2}GET http:\/\/127\.0\.0\.1:\d+\/airports\/BAD1 answered 503 Service Unavailable/)
    expect(run.stderr).toContain('error TC_WARM_INCOMPLETE: 2 of 3 keys of partly failed to warm')
  })

  it('loads function sources of an ES module into Redis and SQLite, only the keys named, and prints JSON', async () => {
    const prefix = `tc-warm-cli-${randomUUID()}`
    const db = join(dir, 'module.db')
    const run = await inProcess(['warm', 'flights', '--policy-file', modulePolicy, '--sqlite', db, '--redis', TEST_REDIS_URL, '--redis-prefix', prefix, '--key', 'LH400', '--key', 'AF1', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toMatchObject({ job: 'flights', namespace: 'flights', total: 2, loaded: 2, failed: 0, failures: [] })
    const redisOnly = createCache({ l1: false, l2: { redis: TEST_REDIS_URL, prefix, bus: false, lock: false }, l3: false })
    const sqlOnly = createCache({ l1: false, l3: { sqlite: db } })
    try {
      expect(await redisOnly.namespace('flights').get('LH400')).toEqual({ flight: 'LH400', status: 'on time' })
      expect(await sqlOnly.namespace('flights').get('AF1')).toEqual({ flight: 'AF1', status: 'on time' })
      expect(await sqlOnly.namespace('flights').get('BA117')).toBeUndefined()
      await redisOnly.namespace('flights').clear()
    } finally {
      await Promise.all([redisOnly.close(), sqlOnly.close()])
    }
  })

  it("writes in a tenant's scope with --tenant", async () => {
    const db = join(dir, 'tenant.db')
    const run = await inProcess(['warm', 'flights', '--policy-file', modulePolicy, '--sqlite', db, '--tenant', 'acme'])
    expect(run.code, run.stderr).toBe(0)
    const cache = createCache({ l3: { sqlite: db } })
    try {
      expect(await cache.namespace('flights').get('BA117')).toBeUndefined()
      expect(await cache.withContext({ role: 'authenticated', tenantId: 'acme' }).namespace('flights').get('BA117')).toEqual({ flight: 'BA117', status: 'on time' })
    } finally {
      await cache.close()
    }
  })

  it('exits 2 for a job not declared, a bad policy file, or no --policy-file', async () => {
    const unknown = await inProcess(['warm', 'nope', '--policy-file', jsonPolicy, '--sqlite', join(dir, 'unknown.db')])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('error TC_UNKNOWN_WARM_JOB: no warming job "nope"; jobs: airports, partly')
    const badFile = join(dir, 'bad.json')
    writeFileSync(badFile, JSON.stringify({ warm: { jobs: { j: { keys: ['a'] } } } }))
    const bad = await inProcess(['warm', 'j', '--policy-file', badFile, '--sqlite', join(dir, 'bad.db')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/error TC_INVALID_OPTIONS: policy file .*bad\.json: .*no source/)
    const missing = await inProcess(['warm', 'airports'])
    expect(missing.code).toBe(2)
  })
})
