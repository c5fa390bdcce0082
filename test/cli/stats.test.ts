import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatUsd } from '../../src/cli/format.js'
import { createCache } from '../../src/index.js'
import type { AiUsageFigures } from '../../src/metrics/ai-usage.js'
import { aiStatsOf } from '../../src/metrics/stats/ai.js'
import { httpStatsOf } from '../../src/metrics/stats/http.js'
import { openCredentialStore } from '../../src/security/credentials/index.js'
import { type StatsReport, openStatsHistory, startServer } from '../../src/server/index.js'
import { fixturePath, waitForExit } from '../helpers/child-process.js'
import { freePort } from '../helpers/redis-server.js'
import { cleanEnv, inProcess, root } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-cli-stats-'))
let app: FastifyInstance
let url: string
let acme: string
let service: string

/** Sends a REST request with `key`, checking its status. */
async function call(key: string, method: string, path: string, status: number, body?: unknown): Promise<void> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }
  const response = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  expect(response.status, `${method} ${path}`).toBe(status)
}

beforeAll(async () => {
  const file = join(dir, 'cache.db')
  const cache = createCache({ l3: { sqlite: file }, metrics: { tenants: { max: 10 } } })
  const credentials = await openCredentialStore({ sqlite: file })
  const history = await openStatsHistory({ sqlite: file }, { source: () => cache.metrics(), instance: 'cli-test', timer: false })
  acme = (await credentials.create({ tenant: 'acme', roles: ['read', 'write'] })).key
  const bravo = (await credentials.create({ tenant: 'bravo', roles: ['read', 'write'] })).key
  service = (await credentials.create({ tenant: 'ops', roles: ['read', 'service'] })).key
  ;({ app, url } = await startServer({ cache, credentials, port: 0, rateLimits: false, stats: { history, freshnessMs: 0 } }))
  await call(acme, 'PUT', '/v1/entries/flights/LHR', 204, { value: 1, ttl: '10m' })
  await call(acme, 'PUT', '/v1/entries/flights/JFK', 204, { value: 2 })
  for (let i = 0; i < 4; i++) await call(acme, 'GET', '/v1/entries/flights/LHR', 200)
  await call(acme, 'GET', '/v1/entries/flights/JFK', 200)
  await call(acme, 'GET', '/v1/entries/hotels/none', 404)
  await call(bravo, 'PUT', '/v1/entries/b/x', 204, { value: 3 })
  await call(bravo, 'GET', '/v1/entries/b/x', 200)
})
afterAll(async () => {
  await app.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('tiercache stats', () => {
  it("prints the report of the key's tenant for people", async () => {
    const run = await inProcess(['stats', '--url', url, '--token', acme])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^tenant acme, last 1h \(\S+Z to \S+Z\), 1 instance$/m)
    expect(run.stdout).toMatch(/^lookups\s+6 \(0\.00\/s\)$/m)
    expect(run.stdout).toMatch(/^hit ratio\s+83\.33% \(hits 5, misses 1, stale 0\)$/m)
    expect(run.stdout).toMatch(/^miss reasons\s+absent 2$/m)
    expect(run.stdout).toMatch(/^writes\s+2, deletes 0, invalidations none$/m)
    expect(run.stdout).toMatch(/^l1\s+memory\s+closed\s+5\s+83\.33%\s+83\.33%/m)
    expect(run.stdout).toMatch(/^l3\s+sqlite\s+closed\s+0\s+0\.00%/m)
    expect(run.stdout).toMatch(/^busiest namespaces\nnamespace\s+lookups.*\nflights\s+5\s+100\.00%/m)
    expect(run.stdout).toMatch(/^suggestions: none$/m)
    expect(run.stdout).not.toContain('bravo')
    // This server has no AI gateway: its report has no `ai` section, and nothing is printed for it.
    expect(run.stdout).not.toContain('AI gateway')
    expect(run.stdout.trimEnd().endsWith('suggestions: none')).toBe(true)
  })

  it('prints the JSON as the server answered it, for a range and a namespace', async () => {
    const run = await inProcess(['stats', '--url', url, '--token', acme, '--json', '--range', '24h', '--namespace', 'flights'])
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as StatsReport
    expect(report).toMatchObject({ scope: { tenant: 'acme' }, range: '24h', stepMs: 300_000, totals: { requests: 5, hits: 5 } })
    expect(report.namespaces.map((ns) => ns.namespace)).toEqual(['flights'])
  })

  it('shows a service key the whole deployment, or the tenant of --tenant', async () => {
    const all = await inProcess(['stats', '--url', url, '--token', service])
    expect(all.stdout).toMatch(/^the whole deployment, last 1h/m)
    expect(all.stdout).toMatch(/^lookups\s+7 /m)
    expect(all.stdout).toMatch(/^tenant\s+namespace\s+lookups/m)
    expect(all.stdout).toMatch(/^bravo\s+b\s+1\s+100\.00%/m)
    const one = await inProcess(['stats', '--url', url, '--token', service, '--tenant', 'bravo', '--json'])
    expect(JSON.parse(one.stdout)).toMatchObject({ scope: { tenant: 'bravo' }, totals: { requests: 1 } })
    const refused = await inProcess(['stats', '--url', url, '--token', acme, '--tenant', 'bravo'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^error TC_FORBIDDEN: only a service key may name a tenant/)
  })

  it('refuses a range it does not know, as a usage error', async () => {
    const run = await inProcess(['stats', '--url', url, '--token', acme, '--range', '2h'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^error TC_INVALID_OPTIONS: option '--range <range>' argument '2h' is invalid\. Allowed choices are 1h, 24h, 7d, 30d\./)
  })
})

/** The AI cache's accounting of a gateway: two tenants, a priced and an unpriced model, an exact and a semantic cache. */
const AI_FIGURES: readonly AiUsageFigures[] = [
  { namespace: 'search', tenant: 'bravo', model: 'local-llm', cacheType: 'exact', answers: { HIT: 2, MISS: 2, BYPASS: 1 }, promptTokensSaved: 30, completionTokensSaved: 10, costSavedUsd: 0 },
  { namespace: 'support', tenant: 'acme', model: 'gpt-4o', cacheType: 'semantic', answers: { 'SEMANTIC-HIT': 7, MISS: 3 }, promptTokensSaved: 800, completionTokensSaved: 200, costSavedUsd: 0.000123456 },
  { namespace: 'support', tenant: 'acme', model: 'gpt-4o-mini', cacheType: 'exact', answers: { HIT: 1200, STALE: 34, MISS: 400, BYPASS: 6 }, promptTokensSaved: 987_654, completionTokensSaved: 246_912, costSavedUsd: 12.3456 },
]

describe('tiercache stats, with the `ai` section of a server with an AI gateway, and the `http` section of one with an HTTP cache', () => {
  let stub: Server
  let stubUrl: string
  /** What the stub answers /v1/stats with, as is. */
  let answer = ''

  /** The real server's report for `key`, with `extra` fields, as the stub's answer (indented, so that --json can be told from a re-serialization). */
  async function serve(key: string, extra: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${key}` } })
    expect(response.status).toBe(200)
    answer = `${JSON.stringify({ ...((await response.json()) as Record<string, unknown>), ...extra }, null, 2)}\n`
    return answer
  }

  beforeAll(async () => {
    stub = createServer((request, response) => {
      if (request.url?.startsWith('/v1/stats') !== true) response.writeHead(404).end()
      else response.writeHead(200, { 'content-type': 'application/json' }).end(answer)
    })
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve))
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    stub.closeAllConnections()
    await new Promise((resolve) => stub.close(resolve))
  })

  it('prints an AI gateway block after the rest of the report: the totals, then a row per namespace, model and cache type', async () => {
    await serve(acme, { ai: aiStatsOf(AI_FIGURES, { withTenant: false }) })
    const run = await inProcess(['stats', '--url', stubUrl, '--token', acme])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^hit ratio\s+83\.33% \(hits 5, misses 1, stale 0\)$/m)
    expect(run.stdout.slice(run.stdout.indexOf('\nsuggestions: none\n') + 1)).toBe(
      [
        'suggestions: none',
        '',
        'AI gateway (this instance, since it started)',
        'answers 1,655 (HIT 1,202, MISS 405, STALE 34, SEMANTIC-HIT 7, BYPASS 7), hit ratio 75.42% (hits 1,243, misses 405), tokens saved 1,235,606, cost saved $12.35',
        'namespace  model        cache type   hits  misses  hit ratio  tokens saved  cost saved',
        'support    gpt-4o-mini  exact       1,234     400     75.52%     1,234,566      $12.35',
        'support    gpt-4o       semantic        7       3     70.00%         1,000   $0.000123',
        'search     local-llm    exact           2       2     50.00%            40       $0.00',
        '',
      ].join('\n'),
    )
  })

  it('adds a tenant column when the rows carry their tenants (a deployment report)', async () => {
    await serve(service, { ai: aiStatsOf(AI_FIGURES, { withTenant: true }) })
    const run = await inProcess(['stats', '--url', stubUrl, '--token', service])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^the whole deployment, last 1h/m)
    expect(run.stdout).toMatch(/^AI gateway \(this instance, since it started\)\nanswers 1,655 .*\ntenant\s+namespace\s+model\s+cache type\s+hits\s+misses\s+hit ratio\s+tokens saved\s+cost saved$/m)
    expect(run.stdout).toMatch(/^acme\s+support\s+gpt-4o-mini\s+exact\s+1,234\s+400\s+75\.52%\s+1,234,566\s+\$12\.35$/m)
    expect(run.stdout).toMatch(/^bravo\s+search\s+local-llm\s+exact\s+2\s+2\s+50\.00%\s+40\s+\$0\.00$/m)
  })

  it('says a gateway has answered nothing yet, and prints no AI block for a report without the section', async () => {
    await serve(acme, { ai: aiStatsOf([], { withTenant: false }) })
    const idle = await inProcess(['stats', '--url', stubUrl, '--token', acme])
    expect(idle.code).toBe(0)
    expect(idle.stdout).toMatch(/\n\nAI gateway \(this instance, since it started\): no answers yet\n$/)
    await serve(acme, {})
    const none = await inProcess(['stats', '--url', stubUrl, '--token', acme])
    expect(none).toMatchObject({ code: 0, stderr: '' })
    expect(none.stdout).toMatch(/^lookups\s+6 /m)
    expect(none.stdout).not.toContain('AI gateway')
    expect(none.stdout).not.toContain('gpt-4o')
  })

  it('prints the answer as received with --json, the ai section with it', async () => {
    const text = await serve(acme, { ai: aiStatsOf(AI_FIGURES, { withTenant: false }) })
    const run = await inProcess(['stats', '--url', stubUrl, '--token', acme, '--json'])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toBe(text)
    expect((JSON.parse(run.stdout) as StatsReport).ai?.totals).toMatchObject({ hits: 1243, misses: 405, tokensSaved: 1_235_606 })
  })

  it('prints an HTTP cache block for a report with the http section: the totals, then a row per route group', async () => {
    const rows = [
      { group: '/products', outcome: 'hit' as const, count: 1200 },
      { group: '/products', outcome: 'miss' as const, count: 300 },
      { group: '/products', outcome: 'revalidated' as const, count: 12 },
      { group: '/', outcome: 'stale' as const, count: 3 },
      { group: '/', outcome: 'miss' as const, count: 1 },
      { group: '/', outcome: 'pass' as const, count: 2 },
    ]
    await serve(service, { http: httpStatsOf(rows) })
    const run = await inProcess(['stats', '--url', stubUrl, '--token', service])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout.slice(run.stdout.indexOf('\nHTTP cache') + 1)).toBe(
      [
        'HTTP cache (this instance, since it started)',
        'responses 1,518 (hit 1,200, stale 3, revalidated 12, miss 301, pass 2), hit ratio 80.15%',
        'route group  responses    hit  stale  revalidated  collapsed  miss  pass  error  hit ratio',
        '/products        1,512  1,200      0           12          0   300     0      0     80.16%',
        '/                    6      0      3            0          0     1     2      0     75.00%',
        '',
      ].join('\n'),
    )
    await serve(service, { http: httpStatsOf([]) })
    expect((await inProcess(['stats', '--url', stubUrl, '--token', service])).stdout).toMatch(/\n\nHTTP cache \(this instance, since it started\): no responses yet\n$/)
  })

  it('shows dollars to the cent from $1 up, three significant digits below, as the dashboard does', () => {
    expect([0, 0.00007912, 0.000123456, 0.5, 0.999, 1, 12.3456, 1234.5].map(formatUsd)).toEqual(['$0.00', '$0.0000791', '$0.000123', '$0.5', '$0.999', '$1.00', '$12.35', '$1,234.50'])
  })
})

describe('tiercache top', () => {
  it('lists the busiest keys, then the busiest namespaces', async () => {
    const run = await inProcess(['top', '--url', url, '--token', acme])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^top keys \(this instance, since \S+\)\n#\s+namespace\s+key\s+lookups\s+± error\s+misses\s+ttl$/m)
    expect(run.stdout).toMatch(/^1\s+flights\s+LHR\s+4\s+0\s+0\s+10 min 0 s$/m)
    // Ties by namespace, then key.
    expect(run.stdout).toMatch(/^2\s+flights\s+JFK\s+1\s+0\s+0\s+-$/m)
    expect(run.stdout).toMatch(/^3\s+hotels\s+none\s+1\s+0\s+1\s+-$/m)
    expect(run.stdout).toMatch(/^busiest namespaces\n/m)
    const one = await inProcess(['top', '--url', url, '--token', acme, '--limit', '1'])
    expect(one.stdout).toMatch(/^1\s+flights\s+LHR/m)
    expect(one.stdout).not.toMatch(/^2\s+/m)
    const json = await inProcess(['top', '--url', url, '--token', service, '--json'])
    expect((JSON.parse(json.stdout) as StatsReport).topKeys.map((hit) => [hit.tenant, hit.key])).toEqual([
      ['acme', 'LHR'],
      ['acme', 'JFK'],
      ['acme', 'none'],
      ['bravo', 'x'],
    ])
    const bad = await inProcess(['top', '--url', url, '--token', acme, '--limit', '21'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe("error TC_INVALID_OPTIONS: --limit must be an integer from 1 to 20, not '21'\n")
  })
})

/** The command from source, in a process of its own, as a user's terminal would run it. */
function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', fixturePath('register-ts.mjs'), join(root, 'src/cli/main.ts'), ...args], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** The lines `child` prints on stdout, awaited one at a time. */
function lineReader(child: ChildProcess): () => Promise<string> {
  const ready: string[] = []
  const waiting: ((line: string) => void)[] = []
  let partial = ''
  let err = ''
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()))
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) {
      const next = waiting.shift()
      if (next === undefined) ready.push(line)
      else next(line)
    }
  })
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err}`))))
  exited.catch(() => undefined)
  return () => {
    const line = ready.shift()
    if (line !== undefined) return Promise.resolve(line)
    return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited])
  }
}

describe('--watch', () => {
  it('fetches the report again every --interval, one JSON object a line, until Ctrl-C, which exits 0', async () => {
    const child = spawnCli(['stats', '--watch', '--json', '--interval', '100ms', '--url', url, '--token', acme])
    const next = lineReader(child)
    try {
      const before = (JSON.parse(await next()) as StatsReport).totals.requests
      await call(acme, 'GET', '/v1/entries/flights/LHR', 200)
      // A later frame sees the lookup made after the first.
      let later = before
      while (later === before) later = (JSON.parse(await next()) as StatsReport).totals.requests
      expect(later).toBe(before + 1)
      child.kill('SIGINT')
      expect(await waitForExit(child)).toEqual({ code: 0, signal: null })
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  it('keeps watching a server that does not answer, saying so in each frame', async () => {
    const port = await freePort()
    const child = spawnCli(['top', '--watch', '--interval', '100ms', '--url', `http://127.0.0.1:${port}`, '--token', acme])
    try {
      const next = lineReader(child)
      const frames = [await next(), await next(), await next(), await next()]
      expect(frames.filter((line) => line.startsWith(`error TC_SERVER_UNREACHABLE: cannot reach a tiercache server at http://127.0.0.1:${port}`))).toHaveLength(2)
      expect(frames.filter((line) => line === '(trying again every 0.1 s; Ctrl-C to stop)')).toHaveLength(2)
      child.kill('SIGINT')
      expect(await waitForExit(child)).toEqual({ code: 0, signal: null })
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
