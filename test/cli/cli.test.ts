import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatStats, parseStats } from '../../src/cli/commands/stats.js'
import { runCli } from '../../src/cli/program.js'
import { createCache } from '../../src/index.js'
import { startServer } from '../../src/server/index.js'
import { TEST_REDIS_URL, freePort } from '../helpers/redis-server.js'
import { type Run, bin, cleanEnv, listening, root, spawnTiercache } from './run.js'

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

/** Runs the command in this process, capturing what it writes. */
async function inProcess(args: readonly string[]): Promise<Run> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const code = await runCli(['node', 'tiercache', ...args], { stdout, stderr })
  return { code, stdout: out, stderr: err }
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
    [['replay', smallTrace, '--bogus'], /unknown option '--bogus'/],
    [['replay'], /missing required argument 'trace'/],
    [['nope'], /unknown command 'nope'/],
    [['replay', smallTrace, '--concurrency', '0'], /^error TC_INVALID_OPTIONS: --concurrency must be an integer from 1/],
    [['replay', smallTrace, '--l3', 'mysql:x'], /^error TC_INVALID_OPTIONS: --l3 must be/],
    [['replay', smallTrace, '--seed', '3'], /^error TC_INVALID_OPTIONS: --requests and --seed apply to zipf/],
    [['serve', '--redis', 'localhost:6379'], /^error TC_INVALID_OPTIONS: invalid cache options: .*redis:\/\/ or rediss:\/\/ URL/s],
    [['serve', '--postgres', 'postgres://x', '--sqlite', 'x.db'], /^error TC_INVALID_OPTIONS: give --postgres or --sqlite, not both/],
    [['serve', '--port', '70000'], /^error TC_INVALID_OPTIONS: --port must be an integer from 0 to 65535/],
    [['purge', '--tags', ' , '], /^error TC_INVALID_OPTIONS: --tags needs at least one tag/],
    [['purge'], /required option '--tags <tags>' not specified/],
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
    for (const run of [tiercache(['stats', '--url', url]), tiercache(['purge', '--tags', 'a'], { TIERCACHE_URL: url })]) {
      expect(run.stderr).toMatch(new RegExp(`^error: cannot reach a tiercache server at ${url} \\(ECONNREFUSED\\)`))
      expect(run.code).toBe(1)
    }
  })

  it('serves with Redis as L2 when REDIS_URL is set', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', join(dir, 'serve-redis/cache.db'), '--quiet'], {
      cwd: dir,
      env: { ...cleanEnv(), REDIS_URL: TEST_REDIS_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const url = await listening(child)
      const stats = tiercache(['stats', '--json'], { TIERCACHE_URL: url })
      expect(JSON.parse(stats.stdout)).toMatchObject({ tiers: { l1: { kind: 'memory' }, l2: { kind: 'redis' }, l3: { kind: 'sqlite' } } })
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
      const stats = tiercache(['stats', '--json'], { TIERCACHE_URL: url })
      expect(stats.code).toBe(0)
      expect(JSON.parse(stats.stdout)).toMatchObject({ requests: 0, tiers: { l1: { kind: 'memory' }, l3: { kind: 'sqlite' } } })
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
  it('stats prints a table per tier; purge drops tagged entries from the L1 of the server', async () => {
    const cache = createCache({ l3: { sqlite: join(dir, 'in-process/cache.db') } })
    const { app, url } = await startServer({ cache, port: 0 })
    try {
      await cache.set('a', 1, { tags: ['red'] })
      await cache.set('b', 2, { tags: ['blue'] })
      await cache.namespace('other').set('c', 3, { tags: ['red'] })
      await cache.get('a')
      await cache.get('missing')

      const stats = await inProcess(['stats', '--url', url])
      expect(stats.code).toBe(0)
      expect(stats.stdout).toMatch(/requests\s+2/)
      expect(stats.stdout).toMatch(/L1\s+memory\s+1\s+1\s+50\.00%\s+3/)
      expect(stats.stdout).toMatch(/L3\s+sqlite\s+0\s+1\s+0\.00%\s+3/)
      expect(stats.stdout).toMatch(/total\s+1\s+50\.00%/)

      const purge = await inProcess(['purge', '--tags', 'red', '--namespace', 'default', '--url', url])
      expect(purge).toMatchObject({ code: 0, stderr: '' })
      expect(purge.stdout).toBe('invalidated every entry tagged red in namespace default, from every tier\n')
      expect(await cache.get('a')).toBeUndefined()
      expect(await cache.get('b')).toBe(2)
      expect(await cache.namespace('other').get('c')).toBe(3)

      const everywhere = await inProcess(['purge', '--tags', 'red,red', '--url', url, '--json'])
      expect(JSON.parse(everywhere.stdout)).toEqual({ invalidated: ['red'] })
      expect(await cache.namespace('other').get('c')).toBeUndefined()

      const bad = await inProcess(['purge', '--tags', 'red', '--namespace', 'no/slash', '--url', url])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/^error TC_INVALID_NAMESPACE: .* \(HTTP 400 from .*\/v1\/invalidate\)\n$/)
    } finally {
      await app.close()
    }
  })

  it('formats the stats of a cache without L3, and rejects what is not stats', async () => {
    const cache = createCache({ l3: false })
    await cache.getOrSet('k', () => 'v')
    await cache.getOrSet('k', () => 'v')
    const stats = JSON.parse(JSON.stringify(await cache.stats())) as unknown
    await cache.close()
    const text = formatStats(parseStats(stats, 'http://x'))
    expect(text).toMatch(/origin calls\s+1 \(0 failed, 0 timed out\)/)
    expect(text).toMatch(/L1\s+memory\s+1\s+1\s+50\.00%\s+1/)
    expect(text).not.toMatch(/L3/)
    expect(() => parseStats({ hello: 'world' }, 'http://x')).toThrow(/something other than cache statistics/)
  })
})
