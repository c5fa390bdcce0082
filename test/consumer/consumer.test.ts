/**
 * The package as a user installs it: `npm pack`ed, unpacked into fresh projects whose dependencies
 * are linked from ours, and compiled with `tsc` under `strict` with `skipLibCheck: false`, once with
 * no optional peer installed and once with the peers the file uses. Then `require` and `import` of it
 * in a child Node.js, and what the tarball holds.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compile, ensureBuilt, linkPackage, root, runNode, writeProject } from './project.js'

interface Manifest {
  readonly dependencies: Readonly<Record<string, string>>
  readonly peerDependencies: Readonly<Record<string, string>>
  readonly exports: Readonly<Record<string, string | { readonly types: string; readonly default: string }>>
  readonly files: readonly string[]
  readonly repository?: { readonly url: string }
  readonly license: string
}

const dir = mkdtempSync(join(tmpdir(), 'tiercache-consumer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest
let packed: string[] = []
let tarball = ''

/** A project with the packed package unpacked in its node_modules, its dependencies and `extra` linked. */
function project(name: string, files: Readonly<Record<string, string>>, extra: readonly string[] = []): string {
  const at = join(dir, name)
  writeProject(at, files)
  const installed = join(at, 'node_modules/tiercache')
  mkdirSync(installed, { recursive: true })
  const untar = spawnSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1'], { encoding: 'utf8' })
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`)
  for (const dependency of [...Object.keys(manifest.dependencies), '@types/node', ...extra]) linkPackage(join(at, 'node_modules'), dependency)
  return at
}

const withoutPeers = `import { type CacheOptions, type RedisClientLike, KeyRing, createCache, isTiercacheError } from 'tiercache'
import { type StartServerOptions, type StorageLocation, openAuditLog, openCredentialStore, startServer } from 'tiercache/server'
import { type MetricsSnapshot, createPrometheusRegistry } from 'tiercache/prometheus'

const options: CacheOptions = { namespace: 'consumer', l3: { sqlite: ':memory:' } }
const cache = createCache(options)
const served = await cache.getOrSet('k', async () => ({ n: 1 }), { ttl: '1m' })
const n: number = served.n
const location: StorageLocation = { sqlite: ':memory:' }
const server: StartServerOptions = { cache, credentials: await openCredentialStore(location), audit: await openAuditLog(location), port: 0 }
const client: RedisClientLike | undefined = undefined
const snapshot: MetricsSnapshot = await cache.metrics()
const exposition: string = await createPrometheusRegistry({ cache }).metrics()
console.log(n, server.port, client, typeof startServer, KeyRing.name, isTiercacheError(new Error('x')), snapshot.at, exposition.length)
await cache.close()
`

const withPeers = `import { Cluster, Redis } from 'ioredis'
import Keyv from 'keyv'
import { createCache } from 'tiercache'
import { KeyvTiercache } from 'tiercache/keyv'
import { type PostgresTierOptions, createPostgresTier } from 'tiercache/postgres'
import { createRedisTier } from 'tiercache/redis'
import { createSqliteTier } from 'tiercache/sqlite'

const redis = new Redis({ lazyConnect: true })
const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true })
const cache = createCache({ l2: { redis }, l3: false })
const other = createCache({ l2: { redis: cluster }, l3: false })
const tier = createRedisTier({ connection: redis, prefix: 'consumer' })
const postgres: PostgresTierOptions = { url: 'postgres://localhost/db' }
const sessions = new Keyv<{ name: string }>({ store: new KeyvTiercache(cache), namespace: 'sessions' })
console.log(typeof createPostgresTier, postgres, typeof createSqliteTier, tier.kind, other, sessions)
`

beforeAll(() => {
  ensureBuilt()
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`)
  const [result] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[]
  if (result === undefined) throw new Error('npm pack printed no package')
  tarball = join(dir, result.filename)
  packed = result.files.map((file) => file.path)
}, 180_000)

describe('the packed package in a consumer project', () => {
  it('compiles under strict with skipLibCheck false: without the optional peers, and with the peers a file uses', async () => {
    const bare = project('bare', { 'main.ts': withoutPeers })
    const peers = project('peers', { 'main.ts': withPeers }, ['ioredis', 'keyv', 'postgres'])
    // The peers are absent from the first project, or it would prove nothing.
    for (const peer of Object.keys(manifest.peerDependencies)) expect(existsSync(join(bare, 'node_modules', peer)), peer).toBe(false)
    // One program for both (each file resolves from its own node_modules), so that the dependencies
    // they share (fastify, zod, Node's types) are checked once.
    writeProject(dir, { 'bare/main.ts': withoutPeers, 'peers/main.ts': withPeers })
    linkPackage(join(dir, 'node_modules'), '@types/node')
    expect(existsSync(join(peers, 'node_modules/ioredis'))).toBe(true)
    const compiled = await compile(dir)
    expect(compiled.output).toBe('')
    expect(compiled.code).toBe(0)
  }, 180_000)

  it('loads with require() and with import, without the optional peers', async () => {
    const at = project('runtime', {})
    const required = await runNode(['-e', "const t = require('tiercache'); const s = require('tiercache/server'); const p = require('tiercache/prometheus'); console.log(typeof t.createCache, typeof s.startServer, typeof p.createPrometheusRegistry)"], at)
    expect(required.output.replace(/^\(node:\d+\) ExperimentalWarning: .*\n(\(Use .*\n)?/m, '')).toBe('function function function\n')
    expect(required.code).toBe(0)
    const imported = await runNode(['--input-type=module', '-e', "const { createCache } = await import('tiercache'); const c = createCache({ l3: false }); await c.set('k', 1); console.log(await c.get('k')); await c.close()"], at)
    expect([imported.code, imported.output]).toEqual([0, '1\n'])
  }, 60_000)

  it('ships its licence, docs, sample trace and the target of every export; says where it comes from', () => {
    expect(manifest.license).toBe('MIT')
    expect(packed).toContain('LICENSE')
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
    expect(manifest.repository?.url).toMatch(/^git\+https:\/\//)
    for (const target of Object.values(manifest.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.default]) expect(packed).toContain(file.replace(/^\.\//, ''))
    }
    expect(packed).toContain('bin/tiercache.js')
    expect(packed.some((file) => /^samples\/.+\.gz$/.test(file))).toBe(true)
    expect(packed.some((file) => file.startsWith('dist/') && file.endsWith('.test.js'))).toBe(false)
    // tsc emits none of these: the build copies them.
    for (const file of ['index.html', 'app.js', 'style.css', 'favicon.svg']) expect(packed).toContain(`dist/server/dashboard/${file}`)
  })

  it('serves the dashboard and uPlot from the installed package', async () => {
    const at = project('dashboard', {})
    const script = `const { createCache } = await import('tiercache')
const { buildServer, openCredentialStore } = await import('tiercache/server')
const credentials = await openCredentialStore({ sqlite: ':memory:' })
const app = await buildServer({ cache: createCache({ l3: false }), credentials, closeCacheOnClose: true })
const answers = []
for (const url of ['/dashboard', '/dashboard/app.js', '/dashboard/style.css', '/dashboard/uplot.js', '/dashboard/uplot.css']) {
  const response = await app.inject({ url })
  answers.push(url + ' ' + response.statusCode + ' ' + (response.body.length > 1000))
}
await app.close()
await credentials.close()
console.log(answers.join(','))`
    const ran = await runNode(['--input-type=module', '-e', script], at)
    expect([ran.code, ran.output]).toEqual([0, '/dashboard 200 true,/dashboard/app.js 200 true,/dashboard/style.css 200 true,/dashboard/uplot.js 200 true,/dashboard/uplot.css 200 true\n'])
  }, 60_000)

  it("holds every file the README and the docs link to", () => {
    for (const page of ['README.md', ...packed.filter((file) => /^docs\/.+\.md$/.test(file))]) {
      expect(packed, page).toContain(page)
      const text = readFileSync(join(root, page), 'utf8')
      const base = page.includes('/') ? page.slice(0, page.lastIndexOf('/') + 1) : ''
      for (const match of text.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = join(base, match[1] ?? '').replace(/\\/g, '/')
        expect(packed, `${page} links to ${target}`).toContain(target)
      }
    }
  })
})
