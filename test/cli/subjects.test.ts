import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/index.js'
import { freePort } from '../helpers/redis-server.js'
import { type Run, bin, cleanEnv, inProcess, listening, root, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-subjects-test-'))
const file = join(dir, 'data/cache.db')
const ALICE = 'alice@example.com'
const BOB = 'bob@example.com'

/** Runs the built command in its own process, as users do. */
function tiercache(args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  return spawnTiercache(args, dir, env)
}

/** `keys create --json` on the served database, checked to have worked. */
function createKey(tenant: string, roles: string): string {
  const run = tiercache(['keys', 'create', '--tenant', tenant, '--roles', roles, '--json', '--sqlite', file])
  expect(run.code, run.stderr).toBe(0)
  return (JSON.parse(run.stdout) as { key: string }).key
}

let child: ChildProcess
let url: string
let admin: string
/** The application's side of the same storage: users' entries are written through the library. */
let app: Cache

const as = (tenantId: string, userId?: string) => app.namespace('carts').withContext({ role: 'authenticated', tenantId, ...(userId === undefined ? {} : { userId }) })

beforeAll(async () => {
  // The command runs the compiled package: build it (type errors elsewhere do not stop tsc from
  // emitting; a CLI that does not compile fails here).
  const started = Date.now()
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0 && /src\/(cli|server)\//.test(build.stdout)) throw new Error(`the CLI does not compile:\n${build.stdout}`)
  expect(statSync(join(root, 'dist/cli/commands/subjects.js')).mtimeMs).toBeGreaterThanOrEqual(started - 1000)

  const port = await freePort()
  child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', file, '--quiet'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  url = await listening(child)
  admin = createKey('acme', 'read,write,admin')
  // No L1: every read below goes to the file the server uses.
  app = createCache({ l1: false, l3: { sqlite: file } })
}, 180_000)

afterAll(async () => {
  await app?.close()
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  rmSync(dir, { recursive: true, force: true })
})

/** Alice's and Bob's carts and a tenant entry in acme, and an entry of another tenant. */
async function populate(): Promise<void> {
  await as('acme', ALICE).set('cart', { items: ['book'], at: new Date(Date.UTC(2026, 4, 1)), ids: new Set([1, 2]) })
  await as('acme', BOB).set('cart', { items: ['pen'] })
  await as('globex', ALICE).set('cart', { items: ['globex'] })
  const stored = await fetch(`${url}/v1/entries/orders/o1`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: '{"value":"order"}' })
  expect(stored.status).toBe(204)
}

function parseLines(text: string): { scope: string; namespace: string; key: string; value: unknown }[] {
  expect(text.endsWith('\n')).toBe(true)
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as { scope: string; namespace: string; key: string; value: unknown })
}

describe('tiercache export and erase against a served process', () => {
  it("exports a user's entries to stdout as NDJSON, and the tenant's to a file", async () => {
    await populate()
    const run = tiercache(['export', '--user', ALICE], { TIERCACHE_URL: url, TIERCACHE_TOKEN: admin })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(parseLines(run.stdout)).toEqual([
      expect.objectContaining({ scope: 'user', namespace: 'carts', key: 'cart', value: { items: ['book'], at: '2026-05-01T00:00:00.000Z', ids: [1, 2] } }),
    ])

    const output = join(dir, 'acme.ndjson')
    const toFile = tiercache(['export', '--output', output, '--url', url, '--token', admin])
    expect(toFile.stderr).toBe('')
    expect(toFile.stdout).toBe(`exported 3 entries to ${output}\n`)
    expect(statSync(output).mode & 0o777).toBe(0o600)
    const lines = parseLines(readFileSync(output, 'utf8'))
    expect(lines.map((line) => [line.scope, line.namespace, line.key]).sort()).toEqual([
      ['tenant', 'orders', 'o1'],
      ['user', 'carts', 'cart'],
      ['user', 'carts', 'cart'],
    ])
    expect(JSON.stringify(lines)).not.toContain('globex')
  })

  it('erases a user, then the whole tenant, from the server and its storage', async () => {
    await populate()
    const user = tiercache(['erase', '--user', ALICE, '--url', url, '--token', admin])
    expect(user.stderr).toBe('')
    expect(user.code).toBe(0)
    expect(user.stdout).toBe("erased every entry of the user in the API key's tenant, from every tier and every server instance\n")
    expect(await as('acme', ALICE).get('cart')).toBeUndefined()
    expect(await as('acme', BOB).get('cart')).toEqual({ items: ['pen'] })
    expect(await as('globex', ALICE).get('cart')).toEqual({ items: ['globex'] })
    expect(tiercache(['export', '--user', ALICE], { TIERCACHE_URL: url, TIERCACHE_TOKEN: admin }).stdout).toBe('')

    const forgotten = tiercache(['erase'], { TIERCACHE_URL: url, TIERCACHE_TOKEN: admin })
    expect(forgotten.code).toBe(2)
    expect(forgotten.stderr).toMatch(/--user <id>, or --whole-tenant/)
    expect(await as('acme', BOB).get('cart')).toEqual({ items: ['pen'] })
    const tenant = tiercache(['erase', '--whole-tenant', '--json'], { TIERCACHE_URL: url, TIERCACHE_TOKEN: admin })
    expect(tenant.code).toBe(0)
    expect(JSON.parse(tenant.stdout)).toEqual({ erased: 'tenant' })
    expect(await as('acme', BOB).get('cart')).toBeUndefined()
    expect((await fetch(`${url}/v1/entries/orders/o1`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404)
    expect(await as('globex', ALICE).get('cart')).toEqual({ items: ['globex'] })

    // Both erasures are in the tenant's audit log, by hash.
    const audit = (await (await fetch(`${url}/v1/audit`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { events: { action: string; target: string }[] }
    const erasures = audit.events.filter((event) => event.action === 'subject.erase').map((event) => event.target)
    expect(erasures).toEqual(['tenant', expect.stringMatching(/^user:[A-Za-z0-9_-]{22}$/)])
    expect(JSON.stringify(audit)).not.toContain(ALICE)
  })

  it('fails with the server\'s code for a key without the admin role, and with a usage error for a bad --user', async () => {
    await populate()
    const writer = createKey('acme', 'read,write')
    for (const args of [['erase', '--user', ALICE], ['export'], ['export', '--output', join(dir, 'refused.ndjson')]]) {
      const run = tiercache([...args, '--url', url, '--token', writer])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^error TC_FORBIDDEN: this route needs a key with the admin role \(HTTP 403 from .*\)\n$/)
    }
    expect(existsSync(join(dir, 'refused.ndjson'))).toBe(false)
    expect(await as('acme', ALICE).get('cart')).toBeDefined()

    for (const args of [['erase', '--user', ''], ['export', '--user', 'x'.repeat(257)]]) {
      const run = tiercache([...args, '--url', url, '--token', admin])
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/^error TC_INVALID_OPTIONS: --user must be a user id of 1 to 256 characters/)
    }
    const anonymous = tiercache(['erase', '--whole-tenant', '--url', url])
    expect(anonymous.code).toBe(1)
    expect(anonymous.stderr).toMatch(/^error TC_UNAUTHORIZED: /)
    expect(await as('acme', BOB).get('cart')).toBeDefined()
  })
})

describe('tiercache export against a server that fails', () => {
  it('fails, and removes the partial file, when the answer is cut short', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' })
      response.write('{"scope":"user","namespace":"carts","key":"a","value":1}\n{"scope":"us')
      // As the server does when the export fails midway: the connection closes before the body ends.
      setTimeout(() => response.destroy(), 50)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const fake = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const output = join(dir, 'partial.ndjson')
      const run = await inProcess(['export', '--output', output, '--url', fake, '--token', 'tc_x'])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^error TC_UNEXPECTED_ANSWER: the answer from .*\/v1\/export was cut short/)
      expect(existsSync(output)).toBe(false)
      const toStdout = await inProcess(['export', '--url', fake])
      expect(toStdout.code).toBe(1)
      expect(toStdout.stderr).toMatch(/cut short/)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('fails on an answer that is not an export', async () => {
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const run = await inProcess(['export', '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`])
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/answered application\/json, not an export/)
      expect(run.stdout).toBe('')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
