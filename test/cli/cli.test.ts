import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseStats } from '../../src/cli/commands/stats.js'
import { CliError, ExitCode, reportError } from '../../src/cli/errors.js'
import { InterruptedError } from '../../src/errors.js'
import { createCache } from '../../src/index.js'
import { openCredentialStore } from '../../src/security/credentials/index.js'
import { startServer } from '../../src/server/index.js'
import { TEST_REDIS_URL, freePort } from '../helpers/redis-server.js'
import { type Run, bin, cleanEnv, inProcess, listening, root, spawnTiercache } from './run.js'

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version
const dir = mkdtempSync(join(tmpdir(), 'tiercache-cli-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** 1 2 1 2 3 1, gzip: with an L1 of 2 and no L3, 2 hits and 4 origin calls. */
const smallTrace = join(dir, 'small.keys.gz')
writeFileSync(smallTrace, gzipSync('1\n2\n1\n2\n3\n1\n'))

/** Runs the built command, as users do. */
function tiercache(args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  return spawnTiercache(args, dir, env)
}

/** `keys create --json` for the tenant `cli` (read and write) in the given storage, checked to have worked. */
function createKey(storage: readonly string[]): { id: string; key: string } {
  const run = tiercache(['keys', 'create', '--tenant', 'cli', '--roles', 'read,write', '--json', ...storage])
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout) as { id: string; key: string }
}

beforeAll(() => {
  // The command runs the compiled package, as installed: build it once. Type errors elsewhere in the
  // tree (others' work in progress) do not stop tsc from emitting; a missing CLI build does fail.
  const started = Date.now()
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0 && /src\/cli\//.test(build.stdout)) throw new Error(`the CLI does not compile:\n${build.stdout}`)
  expect(statSync(join(root, 'dist/cli/main.js')).mtimeMs).toBeGreaterThanOrEqual(started - 1000)
}, 180_000)

describe('tiercache (built, spawned)', () => {
  it('replays a trace and prints one JSON report', () => {
    const run = tiercache(['replay', smallTrace, '--json', '--l3', 'none', '--l1-entries', '2', '--concurrency', '1', '--origin-latency', '0'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as Record<string, unknown> & { tiers: { l1: { hitRatio: number }; l3: { hitRatio: number; enabled: boolean } } }
    expect(report).toMatchObject({ trace: smallTrace, requests: 6, uniqueKeys: 3, originCalls: 4, originCallsSaved: 2 })
    expect(report.overallHitRatio).toBeCloseTo(2 / 6, 12)
    expect(report.tiers.l1.hitRatio).toBeCloseTo(2 / 6, 12)
    expect(report.tiers.l3).toMatchObject({ enabled: false, hitRatio: 0 })
  })

  it('replays a zipf workload with the default temporary SQLite L3, for people', () => {
    const run = tiercache(['replay', 'zipf:1.2:1000', '--requests', '3000', '--seed', '7', '--l1-entries', '50'])
    expect(run.code).toBe(0)
    // Not a terminal: no progress bar.
    expect(run.stderr).toBe('')
    expect(run.stdout).toMatch(/trace\s+zipf:1\.2:1000 \(seed 7\)/)
    expect(run.stdout).toMatch(/L3\s+sqlite \(temporary file\)/)
    expect(run.stdout).toMatch(/L1 memory\s+[\d,]+\s+[\d,]+\s+\d+\.\d\d%\s+50/)
    expect(run.stdout).toMatch(/requests\s+3,000/)
    expect(run.stdout).toMatch(/latency\s+p50 .*p99\.9 .*max /)
  })

  it('prints its version', () => {
    const run = tiercache(['--version'])
    expect([run.code, run.stdout.trim()]).toEqual([0, version])
  })

  it.each([
    [['replay', smallTrace, '--bogus'], /^error TC_INVALID_OPTIONS: unknown option '--bogus'/],
    [['replay'], /^error TC_INVALID_OPTIONS: missing required argument 'trace'/],
    [['nope'], /^error TC_INVALID_OPTIONS: unknown command 'nope'/],
    [['replay', smallTrace, '--concurrency', '0'], /^error TC_INVALID_OPTIONS: --concurrency must be an integer from 1/],
    [['replay', smallTrace, '--l3', 'mysql:x'], /^error TC_INVALID_OPTIONS: --l3 must be/],
    [['replay', smallTrace, '--seed', '3'], /^error TC_INVALID_OPTIONS: --requests and --seed apply to zipf/],
    [['serve', '--redis', 'localhost:6379'], /^error TC_INVALID_OPTIONS: invalid cache options: .*redis:\/\/ or rediss:\/\/ URL/s],
    [['serve', '--postgres', 'postgres://x', '--sqlite', 'x.db'], /^error TC_INVALID_OPTIONS: give --postgres or --sqlite, not both/],
    [['serve', '--port', '70000'], /^error TC_INVALID_OPTIONS: --port must be an integer from 0 to 65535/],
    [['purge', '--tags', ' , ', '--namespace', 'ns'], /^error TC_INVALID_OPTIONS: --tags needs at least one tag/],
    [['purge'], /required option '--tags <tags>' not specified/],
    [['purge', '--tags', 'a'], /required option '--namespace <namespace>' not specified/],
    [['serve', '--plans', '{"free":'], /^error TC_INVALID_OPTIONS: --plans must be JSON/],
    [['serve', '--redis', 'redis://127.0.0.1:1', '--redis-prefix', 'my app'], /^error TC_INVALID_OPTIONS: --redis-prefix must be 1 to 64 letters/],
    [['serve', '--redis-prefix', 'app'], /^error TC_INVALID_OPTIONS: --redis-prefix needs --redis \(or REDIS_URL\)/],
    [['serve', '--plans', '{"free":{"limit":0,"windowMs":1000}}'], /^error TC_INVALID_OPTIONS: --plans: invalid rate-limit plans options: free/],
  ])('exits 2 on the usage error %j', (args, message) => {
    const run = tiercache(args)
    expect(run.stderr).toMatch(message)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(run.code).toBe(2)
  })

  it('exits 1 with a coded message, and no stack trace, for a bad trace', () => {
    const run = tiercache(['replay', join(dir, 'missing.keys')])
    expect(run.stderr).toBe(`error TC_INVALID_TRACE: cannot read trace '${join(dir, 'missing.keys')}': no such file\n`)
    expect(run.code).toBe(1)
    const workload = tiercache(['replay', 'zipf:one:10'])
    expect(workload.stderr).toMatch(/^error TC_INVALID_TRACE: workload 'zipf:one:10'/)
    expect(workload.code).toBe(1)
  })

  it('exits 1 when no server answers at --url or TIERCACHE_URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    for (const run of [tiercache(['stats', '--url', url]), tiercache(['purge', '--tags', 'a', '--namespace', 'ns'], { TIERCACHE_URL: url })]) {
      expect(run.stderr).toMatch(new RegExp(`^error TC_SERVER_UNREACHABLE: cannot reach a tiercache server at ${url} \\(ECONNREFUSED\\)`))
      expect(run.code).toBe(1)
    }
  })

  it('refuses to serve with Redis without a shared key ring, and serves with TIERCACHE_KEYS', async () => {
    const file = join(dir, 'serve-redis/cache.db')
    const refused = tiercache(['serve', '--port', '0', '--sqlite', file, '--quiet'], { REDIS_URL: TEST_REDIS_URL })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toBe(
      "error TC_INVALID_OPTIONS: with Redis (--redis or REDIS_URL), the server stores each tenant's entries encrypted, and needs a master key: " +
        'run `tiercache keygen`, set TIERCACHE_KEYS to the line it prints (the same value on every instance), and start again. ' +
        'Without --redis and --postgres, the embedded SQLite keeps a key file of its own and needs nothing\n',
    )

    const port = await freePort()
    const prefix = `tc-cli-${randomBytes(4).toString('hex')}`
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', file, '--quiet', '--redis-prefix', prefix], {
      cwd: dir,
      env: { ...cleanEnv(), REDIS_URL: TEST_REDIS_URL, TIERCACHE_KEYS: `k1:${randomBytes(32).toString('base64')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const url = await listening(child)
      const { key } = createKey(['--sqlite', file])
      const stored = await fetch(`${url}/v1/entries/ns/k`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: '{"value":1}' })
      expect(stored.status).toBe(204)
      // Counted in Redis: the answer carries the key's plan (free, 1,000 an hour).
      expect(stored.headers.get('ratelimit-limit')).toBe('1000')
      // --redis-prefix starts every key: the entry's and the rate limiter's.
      const redis = new Redis(TEST_REDIS_URL)
      try {
        const keys = await redis.keys(`${prefix}:*`)
        expect(keys.some((key) => key.startsWith(`${prefix}:rl:`))).toBe(true)
        expect(keys.length).toBeGreaterThan(1)
        await redis.del(...keys)
      } finally {
        redis.disconnect()
      }
      const stats = tiercache(['stats', '--json'], { TIERCACHE_URL: url, TIERCACHE_TOKEN: key })
      expect(JSON.parse(stats.stdout)).toMatchObject({ scope: { tenant: 'cli' }, history: true, totals: { writes: 1 } })
      const health = (await (await fetch(`${url}/health`)).json()) as { tiers: { level: string; circuit: string }[] }
      expect(health.tiers.map((tier) => [tier.level, tier.circuit])).toEqual([
        ['l1', 'closed'],
        ['l2', 'closed'],
        ['l3', 'closed'],
      ])
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('exits 2 with TC_LISTEN_FAILED and a plain message when the port is in use', async () => {
    const cache = createCache({ l3: false })
    const credentials = await openCredentialStore({ sqlite: join(dir, 'port-in-use.db') })
    const { app, url } = await startServer({ cache, credentials, port: 0 })
    try {
      const port = new URL(url).port
      const run = tiercache(['serve', '--port', port, '--sqlite', join(dir, 'port-in-use.db'), '--quiet'])
      expect(run.stderr).toBe(
        `error TC_LISTEN_FAILED: cannot listen on 127.0.0.1:${port}: the port is in use by another process; ` +
          'stop the other server, or choose another port with --port (0 picks a free one)\n',
      )
      expect(run.code).toBe(2)
    } finally {
      await app.close()
    }
  })

  it('serves until SIGTERM, and stats reads it', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', join(dir, 'serve/cache.db'), '--quiet', '--l1-entries', '5'], {
      cwd: dir,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const url = await listening(child)
      expect(url).toBe(`http://127.0.0.1:${port}`)
      const anonymous = tiercache(['stats', '--json'], { TIERCACHE_URL: url })
      expect([anonymous.code, anonymous.stderr]).toEqual([
        1,
        `error TC_UNAUTHORIZED: an API key is required: send Authorization: Bearer <key>; give an API key with --token <key> or TIERCACHE_TOKEN (tiercache keys create makes one) (HTTP 401 from ${url}/v1/stats?range=1h)\n`,
      ])
      const { key } = createKey(['--sqlite', join(dir, 'serve/cache.db')])
      const stats = tiercache(['stats', '--json'], { TIERCACHE_URL: url, TIERCACHE_TOKEN: key })
      expect(stats.code).toBe(0)
      expect(JSON.parse(stats.stdout)).toMatchObject({ scope: { tenant: 'cli' }, history: true, totals: { requests: 0, hits: 0 } })
      child.kill('SIGTERM')
      const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])))
      expect(code).toBe(0)
      expect(statSync(join(dir, 'serve/cache.db')).isFile()).toBe(true)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})

describe('stats and purge against a server started in-process', () => {
  it('stats prints the counters of the key\'s tenant; purge drops tagged entries from the L1 of the server', async () => {
    const file = join(dir, 'in-process/cache.db')
    const cache = createCache({ l3: { sqlite: file }, metrics: { tenants: { max: 10 } } })
    const credentials = await openCredentialStore({ sqlite: file })
    const { key } = await credentials.create({ tenant: 'acme', roles: ['read', 'write'] })
    const { app, url } = await startServer({ cache, credentials, port: 0 })
    // The tenant's scope, where the server keeps the key's entries.
    const view = cache.withContext({ role: 'authenticated', tenantId: 'acme' })
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` }
    try {
      await view.set('a', 1, { tags: ['red'] })
      await view.set('b', 2, { tags: ['blue'] })
      await view.namespace('other').set('c', 3, { tags: ['red'] })
      expect((await fetch(`${url}/v1/entries/default/a`, { headers })).status).toBe(200)
      expect((await fetch(`${url}/v1/entries/default/missing`, { headers })).status).toBe(404)
      expect((await fetch(`${url}/v1/entries/default/z`, { method: 'PUT', headers, body: '{"value":0}' })).status).toBe(204)

      const stats = await inProcess(['stats', '--url', url, '--token', key])
      expect(stats.code).toBe(0)
      expect(stats.stdout).toMatch(/^tenant acme, this instance since \S+ \(the server keeps no history\)$/m)
      expect(stats.stdout).toMatch(/^lookups\s+2$/m)
      expect(stats.stdout).toMatch(/^hit ratio\s+50\.00% \(hits 1, misses 1, stale 0\)$/m)
      expect(stats.stdout).toMatch(/^writes\s+4, deletes 0, invalidations none$/m)

      const purge = await inProcess(['purge', '--tags', 'red', '--namespace', 'default', '--url', url, '--token', key])
      expect(purge).toMatchObject({ code: 0, stderr: '' })
      expect(purge.stdout).toBe('purged every entry tagged red in namespace default, from every tier\n')
      expect(await view.get('a')).toBeUndefined()
      expect(await view.get('b')).toBe(2)
      expect(await view.namespace('other').get('c')).toBe(3)

      const json = await inProcess(['purge', '--tags', 'red,red', '--namespace', 'other', '--url', url, '--token', key, '--json'])
      expect(JSON.parse(json.stdout)).toEqual({ purged: ['red'] })
      expect(await view.namespace('other').get('c')).toBeUndefined()

      const bad = await inProcess(['purge', '--tags', 'red', '--namespace', 'no/slash', '--url', url, '--token', key])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/^error TC_INVALID_NAMESPACE: .* \(HTTP 400 from .*\/v1\/purge\)\n$/)
      const anonymous = await inProcess(['purge', '--tags', 'blue', '--namespace', 'default', '--url', url])
      expect(anonymous.code).toBe(1)
      expect(anonymous.stderr).toMatch(/^error TC_UNAUTHORIZED: /)
      expect(await view.get('b')).toBe(2)
    } finally {
      await app.close()
    }
  })

  it('rejects an answer that is not a statistics report, naming an older server', () => {
    const old = { tenant: 'acme', since: 0, requests: 4, hits: 1, misses: 3, hitRatio: 0.25, writes: 2, deletes: 0, invalidations: 1, clears: 0 }
    expect(() => parseStats(old, 'http://x')).toThrow(/the server at http:\/\/x is an older tiercache/)
    expect(() => parseStats({ hello: 'world' }, 'http://x')).toThrow(/something other than a statistics report/)
  })
})

describe('reportError', () => {
  function report(error: unknown): [number, string] {
    let text = ''
    const stream = new PassThrough()
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
    const code = reportError(error, { stdout: stream, stderr: stream })
    return [code, text]
  }

  it('prints a TC_ code for every error: its own, the one of its exit code, or TC_INTERNAL for a bug', () => {
    expect(report(new CliError('refused', ExitCode.failure, 'TC_FORBIDDEN'))).toEqual([1, 'error TC_FORBIDDEN: refused\n'])
    expect(report(new CliError('bad flag', ExitCode.usage))).toEqual([2, 'error TC_INVALID_OPTIONS: bad flag\n'])
    expect(report(new CliError('replay interrupted', ExitCode.interrupted))).toEqual([130, 'error TC_INTERRUPTED: replay interrupted\n'])
    expect(report(new InterruptedError('stopped'))).toEqual([130, 'error TC_INTERRUPTED: stopped\n'])
    const [code, text] = report(new TypeError('x is undefined'))
    expect(code).toBe(1)
    expect(text).toMatch(/^error TC_INTERNAL: unexpected failure; please report it with this trace:\nTypeError: x is undefined\n\s+at /)
  })
})
