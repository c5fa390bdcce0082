import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openAuditLog } from '../../src/security/audit/index.js'
import { describeStorage } from '../../src/cli/storage.js'
import { openCredentialStore } from '../../src/security/credentials/index.js'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { freePort } from '../helpers/redis-server.js'
import { type Run, bin, cleanEnv, listening, root, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-keys-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs the built command in its own process, as users do. */
function tiercache(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  return spawnTiercache(args, options.cwd ?? dir, options.env)
}

interface CreatedJson {
  readonly id: string
  readonly key: string
  readonly tenant: string
  readonly roles: string[]
  readonly plan: string
}

/** `keys create --json`, checked to have succeeded. */
function createKey(
  tenant: string,
  roles: string,
  storage: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; extra?: readonly string[] } = {},
): CreatedJson {
  const run = tiercache(['keys', 'create', '--tenant', tenant, '--roles', roles, '--json', ...(options.extra ?? []), ...storage], options)
  expect(run.stderr).toMatch(/cannot be shown again/)
  expect(run.code).toBe(0)
  return JSON.parse(run.stdout) as CreatedJson
}

/** The 43-character secret at the end of a key. */
function secretOf(key: string): string {
  return key.slice(-43)
}

beforeAll(() => {
  // The command runs the compiled package: build it (others' type errors elsewhere do not stop tsc
  // from emitting; a CLI or security module that does not compile fails here).
  const started = Date.now()
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0 && /src\/(cli|security)\//.test(build.stdout)) throw new Error(`the CLI does not compile:\n${build.stdout}`)
  expect(statSync(join(root, 'dist/cli/commands/keys.js')).mtimeMs).toBeGreaterThanOrEqual(started - 1000)
}, 180_000)

describe('tiercache keys (built, spawned) on SQLite', () => {
  const file = join(dir, 'sqlite/cache.db')
  const storage = ['--sqlite', file]

  it('creates a key, prints it once as JSON, and another process opening the file verifies it', async () => {
    const created = createKey('acme', 'read,write', storage)
    expect(Object.keys(created)).toEqual(['id', 'key', 'tenant', 'roles', 'plan'])
    expect(created).toMatchObject({ tenant: 'acme', roles: ['read', 'write'], plan: 'free' })
    expect(created.id).toMatch(/^tck_[a-z2-7]{12}$/)
    expect(created.key).toMatch(new RegExp(`^tc_${created.id}_[A-Za-z0-9_-]{43}$`))
    // This test process is a second process on the file the command wrote.
    const store = await openCredentialStore({ sqlite: file })
    try {
      expect(await store.verify(created.key)).toEqual({ id: created.id, tenant: 'acme', roles: ['read', 'write'], plan: 'free' })
    } finally {
      await store.close()
    }
  })

  it('binds a key to the rate-limit plan of --plan, shown by list', async () => {
    const created = createKey('planned', 'read', storage, { extra: ['--plan', 'pro'] })
    expect(created.plan).toBe('pro')
    const listed = JSON.parse(tiercache(['keys', 'list', '--tenant', 'planned', '--json', ...storage]).stdout) as { plan: string }[]
    expect(listed.map((key) => key.plan)).toEqual(['pro'])
    expect(tiercache(['keys', 'list', '--tenant', 'planned', ...storage]).stdout).toMatch(new RegExp(`${created.id}\\s+planned\\s+read\\s+pro\\s+\\d{4}-`))
    const store = await openCredentialStore({ sqlite: file })
    try {
      expect(await store.verify(created.key)).toMatchObject({ plan: 'pro' })
    } finally {
      await store.close()
    }
  })

  it('takes the plans of the server (--plans or TIERCACHE_PLANS) to check --plan against', () => {
    const plans = '{"free":{"limit":10,"windowMs":1000},"gold":"unlimited"}'
    const gold = createKey('gold', 'read', storage, { extra: ['--plan', 'gold'], env: { TIERCACHE_PLANS: plans } })
    expect(gold.plan).toBe('gold')
    expect(createKey('gold', 'read', storage, { extra: ['--plan', 'gold', '--plans', plans] }).plan).toBe('gold')
    const refused = tiercache(['keys', 'create', '--tenant', 'gold', '--roles', 'read', '--plan', 'pro', ...storage], { env: { TIERCACHE_PLANS: plans } })
    expect([refused.code, refused.stderr]).toEqual([2, "error TC_INVALID_OPTIONS: --plan pro is not one of the server's plans (free, gold); define it in --plans or TIERCACHE_PLANS, for keys create and serve alike\n"])
  })

  it('prints the key for people with a warning that it cannot be shown again', () => {
    const run = tiercache(['keys', 'create', '--tenant', 'acme', '--roles', 'admin', ...storage])
    expect(run.code).toBe(0)
    const key = /(tc_tck_[a-z2-7]{12}_[A-Za-z0-9_-]{43})/.exec(run.stdout)?.[1]
    expect(key).toBeDefined()
    expect(run.stdout.split(key ?? '').length).toBe(2)
    expect(run.stdout).toMatch(/^created API key tck_[a-z2-7]{12} for tenant acme, roles admin, plan free:/)
    expect(run.stderr).toBe(`API keys of the SQLite file ${file}\nwarning: this is the only time the key is shown; store it now, it cannot be shown again\n`)
  })

  it('lists keys in another process, by tenant, never with the key', () => {
    const mine = createKey('listed', 'read', storage)
    const other = createKey('other-tenant', 'write,service', storage)
    const json = tiercache(['keys', 'list', '--tenant', 'listed', '--json', ...storage])
    expect(json.code).toBe(0)
    const listed = JSON.parse(json.stdout) as Record<string, unknown>[]
    expect(listed).toEqual([{ id: mine.id, tenant: 'listed', roles: ['read'], plan: 'free', createdAt: expect.any(Number), revokedAt: null, lastUsedAt: null }])
    const all = tiercache(['keys', 'list', ...storage])
    expect(all.code).toBe(0)
    expect(all.stdout).toMatch(/^ID\s+TENANT\s+ROLES\s+PLAN\s+CREATED\s+LAST USED\s+STATUS\n/)
    expect(all.stdout).toMatch(new RegExp(`${mine.id}\\s+listed\\s+read\\s+free\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+never\\s+active`))
    expect(all.stdout).toMatch(new RegExp(`${other.id}\\s+other-tenant\\s+write,service\\s`))
    for (const output of [json.stdout, all.stdout]) {
      expect(output).not.toContain(secretOf(mine.key))
      expect(output).not.toContain(secretOf(other.key))
    }
    expect(tiercache(['keys', 'list', '--tenant', 'nobody', ...storage]).stdout).toBe('no API keys for tenant nobody\n')
  })

  it('revokes a key: it no longer verifies anywhere, and revoking it again fails', async () => {
    const created = createKey('revoking', 'read', storage)
    const run = tiercache(['keys', 'revoke', created.id, ...storage])
    expect([run.code, run.stdout, run.stderr]).toEqual([0, `revoked API key ${created.id} of tenant revoking\n`, `API keys of the SQLite file ${file}\n`])
    const store = await openCredentialStore({ sqlite: file })
    try {
      expect(await store.verify(created.key)).toBeUndefined()
    } finally {
      await store.close()
    }
    const listed = JSON.parse(tiercache(['keys', 'list', '--tenant', 'revoking', '--json', ...storage]).stdout) as { revokedAt: number | null }[]
    expect(listed[0]?.revokedAt).toEqual(expect.any(Number))
    expect(tiercache(['keys', 'list', '--tenant', 'revoking', ...storage]).stdout).toMatch(/revoked \d{4}-/)
    const again = tiercache(['keys', 'revoke', created.id, ...storage])
    const opened = `API keys of the SQLite file ${file}\n`
    expect([again.code, again.stderr]).toEqual([1, `${opened}error TC_NOT_FOUND: no active API key with id ${created.id} (it was revoked already)\n`])
    const unknown = tiercache(['keys', 'revoke', 'tck_aaaaaaaaaaaa', '--json', ...storage])
    expect([unknown.code, unknown.stderr]).toEqual([1, `${opened}error TC_NOT_FOUND: no active API key with id tck_aaaaaaaaaaaa\n`])
  })

  it('revokes by the whole key too, and never echoes a secret-looking argument', () => {
    const created = createKey('whole', 'read', storage)
    const run = tiercache(['keys', 'revoke', created.key, '--json', ...storage])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ id: created.id, tenant: 'whole', revoked: true })
    expect(run.stdout + run.stderr).not.toContain(secretOf(created.key))
    const garbage = tiercache(['keys', 'revoke', 'tc_not_a_real_key_but_secret_ish', ...storage])
    expect([garbage.code, garbage.stderr]).toEqual([1, `API keys of the SQLite file ${file}\nerror TC_NOT_FOUND: no active API key with that id\n`])
  })

  it('writes key.create and key.revoke to the audit log, without the key', async () => {
    const created = createKey('audited', 'read,admin', storage)
    expect(tiercache(['keys', 'revoke', created.id, ...storage]).code).toBe(0)
    const audit = await openAuditLog({ sqlite: file })
    try {
      const events = await audit.query({ tenant: 'audited' })
      expect(events.map(({ action, outcome, keyId, tenant, target, userAgent, detail }) => ({ action, outcome, keyId, tenant, target, userAgent, detail }))).toEqual([
        { action: 'key.revoke', outcome: 'ok', keyId: null, tenant: 'audited', target: created.id, userAgent: 'tiercache-cli', detail: null },
        { action: 'key.create', outcome: 'ok', keyId: null, tenant: 'audited', target: created.id, userAgent: 'tiercache-cli', detail: 'roles=read,admin plan=free' },
      ])
    } finally {
      await audit.close()
    }
    const db = new Database(file, { readonly: true })
    try {
      expect(JSON.stringify(db.prepare('SELECT * FROM tiercache_audit').all())).not.toContain(secretOf(created.key))
    } finally {
      db.close()
    }
  })

  it.each([
    [['keys', 'create', '--tenant', 'a b', '--roles', 'read'], /^error TC_INVALID_OPTIONS: --tenant must be 1 to 64 letters/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read,root'], /^error TC_INVALID_OPTIONS: --roles must list roles among read, write, admin and service/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'service'], /^error TC_INVALID_OPTIONS: --roles .*at least one of read, write or admin/],
    [['keys', 'create', '--tenant', 'acme', '--roles', ' , '], /^error TC_INVALID_OPTIONS: --roles/],
    [['keys', 'create', '--roles', 'read'], /required option '--tenant <id>' not specified/],
    [['keys', 'create', '--tenant', 'acme'], /required option '--roles <roles>' not specified/],
    [['keys', 'list', '--tenant', ''], /^error TC_INVALID_OPTIONS: --tenant/],
    [['keys', 'revoke'], /missing required argument 'id'/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read', '--plan', 'gold plated'], /^error TC_INVALID_OPTIONS: --plan must be 1 to 64 letters/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read', '--plan', 'gold'], /^error TC_INVALID_OPTIONS: --plan gold is not one of the server's plans \(free, pro, unlimited\); define it in --plans or TIERCACHE_PLANS/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read', '--plan', 'pro', '--plans', '{"free":"unlimited"}'], /^error TC_INVALID_OPTIONS: --plan pro is not one of the server's plans \(free\)/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read', '--plans', '{"free":'], /^error TC_INVALID_OPTIONS: --plans must be JSON/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read', '--bogus'], /^error TC_INVALID_OPTIONS: unknown option '--bogus'/],
    [['keys', 'create', '--tenant', 'acme', '--roles', 'read', '--postgres', 'postgres://x', '--sqlite', 'x.db'], /^error TC_INVALID_OPTIONS: give --postgres or --sqlite, not both/],
  ])('exits 2 on the usage error %j, before opening any database', (args, message) => {
    const cwd = join(dir, `usage-${randomUUID().slice(0, 8)}`)
    mkdirSync(cwd)
    const run = tiercache(args, { cwd })
    expect(run.stderr).toMatch(message)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(run.code).toBe(2)
    expect(existsSync(join(cwd, '.tiercache'))).toBe(false)
  })

  it('finds the database as serve does: ./.tiercache/cache.db by default, TIERCACHE_SQLITE, --sqlite over DATABASE_URL', async () => {
    const cwd = join(dir, 'defaults')
    mkdirSync(cwd)
    const byDefault = createKey('defaults', 'read', [], { cwd })
    expect(existsSync(join(cwd, '.tiercache/cache.db'))).toBe(true)
    const fromEnv = createKey('defaults', 'read', [], { cwd, env: { TIERCACHE_SQLITE: join(cwd, 'env.db') } })
    // A flag on the command line wins over DATABASE_URL from the environment, as for serve.
    const flagOverEnv = createKey('defaults', 'read', ['--sqlite', join(cwd, 'flag.db')], { cwd, env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } })
    for (const [path, created] of [
      [join(cwd, '.tiercache/cache.db'), byDefault],
      [join(cwd, 'env.db'), fromEnv],
      [join(cwd, 'flag.db'), flagOverEnv],
    ] as const) {
      const store = await openCredentialStore({ sqlite: path })
      try {
        expect((await store.list()).map((key) => key.id)).toEqual([created.id])
      } finally {
        await store.close()
      }
    }
  })

  it('works on the file of a running `tiercache serve`, started from the same place with the same configuration', async () => {
    const cwd = join(dir, 'served')
    mkdirSync(cwd)
    const port = await freePort()
    // --key-cache-ttl 0: every request looks its key up, so that a revocation shows at the next one
    // (by default it takes up to 5 s; test/server/key-cache.test.ts covers that window).
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--quiet', '--key-cache-ttl', '0'], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      await listening(child)
      // Serve opens the file at start, for its keys and its audit log.
      expect(existsSync(join(cwd, '.tiercache/cache.db'))).toBe(true)
      const entry = `http://127.0.0.1:${port}/v1/entries/default/k`
      expect((await fetch(entry)).status).toBe(401)
      // A key made by the command while the server runs works at once.
      const created = createKey('served', 'read,write', [], { cwd })
      const listed = JSON.parse(tiercache(['keys', 'list', '--json'], { cwd }).stdout) as { id: string }[]
      expect(listed.map((key) => key.id)).toEqual([created.id])
      const headers = { authorization: `Bearer ${created.key}` }
      const put = await fetch(entry, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ value: 'v' }) })
      expect(put.status).toBe(204)
      expect(((await (await fetch(entry, { headers })).json()) as { value?: unknown }).value).toBe('v')
      // Revoked by the command, refused by the server from the next request.
      expect(tiercache(['keys', 'revoke', created.id], { cwd }).code).toBe(0)
      expect((await fetch(entry, { headers })).status).toBe(401)
      // Both failures and the key's life are in the tenant's audit log, written by both processes.
      const audit = await openAuditLog({ sqlite: join(cwd, '.tiercache/cache.db') })
      try {
        expect((await audit.query({ tenant: 'served' })).map((event) => event.action)).toEqual(['auth.failure', 'key.revoke', 'key.create'])
      } finally {
        await audit.close()
      }
    } finally {
      child.kill('SIGKILL')
    }
  })
})

describe('tiercache keys (built, spawned) on PostgreSQL', () => {
  it('creates, lists and revokes keys in the database at --postgres or DATABASE_URL', async () => {
    const tenant = `cli-${randomUUID().slice(0, 8)}`
    const created = createKey(tenant, 'write', ['--postgres', TEST_POSTGRES_URL])
    const listed = tiercache(['keys', 'list', '--tenant', tenant, '--json'], { env: { DATABASE_URL: TEST_POSTGRES_URL } })
    expect(listed.code).toBe(0)
    expect(listed.stderr).toBe(`API keys of ${describeStorage({ postgres: TEST_POSTGRES_URL })}\n`)
    expect(listed.stderr).toMatch(/^API keys of the PostgreSQL database postgres:\/\//)
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((key) => key.id)).toEqual([created.id])
    const store = await openCredentialStore({ postgres: TEST_POSTGRES_URL })
    try {
      expect(await store.verify(created.key)).toEqual({ id: created.id, tenant, roles: ['write'], plan: 'free' })
      expect(tiercache(['keys', 'revoke', created.id], { env: { DATABASE_URL: TEST_POSTGRES_URL } }).code).toBe(0)
      expect(await store.verify(created.key)).toBeUndefined()
    } finally {
      await store.close()
    }
    const audit = await openAuditLog({ postgres: TEST_POSTGRES_URL })
    try {
      expect((await audit.query({ tenant })).map((event) => event.action)).toEqual(['key.revoke', 'key.create'])
    } finally {
      await audit.close()
    }
  })

  it('names the database it opens without the password', () => {
    expect(describeStorage({ postgres: 'postgres://app:pa55word@db.internal:5432/cache?sslmode=require' })).toBe(
      'the PostgreSQL database postgres://app@db.internal:5432/cache?sslmode=require',
    )
    expect(describeStorage({ postgres: 'host=db password=pa55word' })).toBe('the PostgreSQL database of --postgres')
    expect(describeStorage({ sqlite: 'x/cache.db' })).toBe(`the SQLite file ${join(process.cwd(), 'x/cache.db')}`)
  })

  it('exits 1 with a coded message, without the URL, when PostgreSQL cannot be reached', () => {
    const run = tiercache(['keys', 'list', '--postgres', 'postgres://nobody:pa55word@127.0.0.1:1/none'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^error TC_TIER_UNAVAILABLE: /)
    expect(run.stderr).not.toContain('pa55word')
  })
})
