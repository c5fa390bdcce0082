import { type Command, Option } from 'commander'
import { InvalidOptionsError, NotFoundError } from '../../errors.js'
import { type AuditEvent, type AuditLog, openAuditLog } from '../../security/audit/index.js'
import {
  type CredentialStore,
  KEY_ID_PATTERN,
  DEFAULT_KEY_PLAN,
  type KeyInfo,
  type Role,
  type StorageLocation,
  openCredentialStore,
  parseKey,
  planNameSchema,
  rolesSchema,
  splitRoles,
  tenantSchema,
} from '../../security/credentials/index.js'
import { DEFAULT_PLANS, type Plans } from '../../security/rate-limit/index.js'
import type { CliContext } from '../context.js'
import { type FlagParser, plansFlag } from '../flags.js'
import { formatTable } from '../format.js'
import { type StorageFlags, chooseL3, describeStorage, postgresOption, sqliteOption } from '../storage.js'

interface KeysFlags extends StorageFlags {
  readonly json?: boolean
}

interface CreateFlags extends KeysFlags {
  readonly tenant: string
  readonly roles: Role[]
  readonly plan: string
  readonly plans?: Plans
}

interface ListFlags extends KeysFlags {
  readonly tenant?: string
}

// The audit log's "user agent" for what the command line does: the operator acts on the database
// directly, with no API key, so no key id either.
const CLI_AGENT = 'tiercache-cli'

/**
 * `tiercache keys create|list|revoke`: manages the API keys in the database of the SQL tier, found
 * from `--postgres`/DATABASE_URL else `--sqlite`/TIERCACHE_SQLITE (default `./.tiercache/cache.db`)
 * exactly as `tiercache serve` finds it, so the keys made here are the keys a server started from the
 * same place with the same configuration checks; each says on stderr which database it opened. Each
 * key names its rate-limit plan (`--plan`, default `free`), which must be one of the server's plans
 * (`--plans`/TIERCACHE_PLANS, as `serve` takes them, else free, pro and unlimited): a key with a plan
 * the server lacks would be refused at its first request. Creation and revocation are written to the
 * audit log (`key.create`, `key.revoke`), without the key.
 */
export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description("manage the API keys of tiercache serve's database: create, list, revoke")

  withStorageOptions(
    keys
      .command('create')
      .description('create an API key for a tenant; the key is printed once and cannot be shown again')
      .addOption(new Option('--tenant <id>', 'tenant the key acts for: 1 to 64 of A-Z a-z 0-9 . _ -').argParser(tenantFlag('--tenant')).makeOptionMandatory())
      .addOption(
        new Option('--roles <roles>', 'comma-separated roles: read, write, admin, and service for cross-tenant keys')
          .argParser(rolesFlag('--roles'))
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--plan <name>', "rate-limit plan, as named in the server's plans (default plans: free, pro, unlimited)")
          .argParser(planFlag('--plan'))
          .default(DEFAULT_KEY_PLAN),
      )
      .addOption(
        new Option('--plans <json>', "the server's rate-limit plans, as serve takes them, to check --plan against (default plans: free, pro, unlimited)")
          .env('TIERCACHE_PLANS')
          .argParser(plansFlag('--plans')),
      ),
  ).action(async (flags: CreateFlags, command: Command) => {
    const plans = flags.plans ?? DEFAULT_PLANS
    if (!Object.hasOwn(plans, flags.plan)) {
      const names = Object.keys(plans).join(', ')
      throw new InvalidOptionsError(`--plan ${flags.plan} is not one of the server's plans (${names}); define it in --plans or TIERCACHE_PLANS, for keys create and serve alike`)
    }
    await withStorage(chooseL3(flags, command), ctx, async (store, audit) => {
      const created = await store.create({ tenant: flags.tenant, roles: flags.roles, plan: flags.plan })
      await audit.record(
        cliEvent({ action: 'key.create', tenant: created.tenant, target: created.id, detail: `roles=${created.roles.join(',')} plan=${created.plan}` }),
      )
      if (flags.json === true) {
        const { id, key, tenant, roles, plan } = created
        ctx.stdout.write(JSON.stringify({ id, key, tenant, roles, plan }) + '\n')
      } else {
        ctx.stdout.write(
          `created API key ${created.id} for tenant ${created.tenant}, roles ${created.roles.join(', ')}, plan ${created.plan}:\n\n  ${created.key}\n\n`,
        )
      }
      ctx.stderr.write('warning: this is the only time the key is shown; store it now, it cannot be shown again\n')
    })
  })

  withStorageOptions(
    keys
      .command('list')
      .description('list API keys (ids, tenants, roles, plans, dates; never the keys themselves)')
      .addOption(new Option('--tenant <id>', "only this tenant's keys").argParser(tenantFlag('--tenant'))),
  ).action(async (flags: ListFlags, command: Command) => {
    const location = chooseL3(flags, command)
    const store = await openCredentialStore(location)
    ctx.stderr.write(`API keys of ${describeStorage(location)}\n`)
    try {
      const listed = await store.list(flags.tenant)
      ctx.stdout.write(flags.json === true ? JSON.stringify(listed) + '\n' : formatKeyList(listed, flags.tenant))
    } finally {
      await store.close()
    }
  })

  withStorageOptions(
    keys
      .command('revoke')
      .description('revoke an API key: it stops working at once, on every server using this database')
      .argument('<id>', 'the key id, tck_...'),
  ).action(async (given: string, flags: KeysFlags, command: Command) => {
    // A whole key is accepted too (the id is read from it): whoever has it out wants it dead.
    const id = parseKey(given)?.id ?? given
    // Echo only what is shaped like an id: the argument might be a mistyped secret.
    const shown = KEY_ID_PATTERN.test(id) ? `with id ${id}` : 'with that id'
    await withStorage(chooseL3(flags, command), ctx, async (store, audit) => {
      const key = await store.get(id)
      if (key === undefined || !(await store.revoke(id))) {
        throw new NotFoundError(`no active API key ${shown}${key !== undefined && key.revokedAt !== null ? ' (it was revoked already)' : ''}`)
      }
      await audit.record(cliEvent({ action: 'key.revoke', tenant: key.tenant, target: key.id }))
      ctx.stdout.write(flags.json === true ? JSON.stringify({ id: key.id, tenant: key.tenant, revoked: true }) + '\n' : `revoked API key ${key.id} of tenant ${key.tenant}\n`)
    })
  })
}

/** Adds the storage flags (as `serve` has them) and `--json` to a `keys` subcommand. */
function withStorageOptions(command: Command): Command {
  return command
    .addOption(postgresOption("tiercache serve's PostgreSQL database (takes precedence over --sqlite from the environment)"))
    .addOption(sqliteOption("tiercache serve's SQLite file, when no PostgreSQL URL is given"))
    .option('--json', 'print JSON')
}

/** Opens the key store and the audit log at `location`, runs `work`, and closes both whatever happens. */
async function withStorage(location: StorageLocation, ctx: CliContext, work: (store: CredentialStore, audit: AuditLog) => Promise<void>): Promise<void> {
  const store = await openCredentialStore(location)
  ctx.stderr.write(`API keys of ${describeStorage(location)}\n`)
  let audit: AuditLog | undefined
  try {
    audit = await openAuditLog(location, {
      // The key operation itself succeeded: say that its audit event is missing, but do not fail.
      onError: (error) => ctx.stderr.write(`warning: the audit event could not be recorded: ${error.message}\n`),
    })
    await work(store, audit)
  } finally {
    await Promise.all([store.close(), audit?.close()])
  }
}

function cliEvent(event: Omit<AuditEvent, 'outcome' | 'userAgent'>): AuditEvent {
  return { ...event, outcome: 'ok', userAgent: CLI_AGENT }
}

/** A tenant id, checked before any database is opened. */
function tenantFlag(flag: string): FlagParser<string> {
  return (value) => {
    const result = tenantSchema.safeParse(value.trim())
    if (!result.success) throw new InvalidOptionsError(`${flag} must be 1 to 64 letters, digits, '.', '_' or '-'`)
    return result.data
  }
}

/** A rate-limit plan name, checked before any database is opened. */
function planFlag(flag: string): FlagParser<string> {
  return (value) => {
    const result = planNameSchema.safeParse(value.trim())
    if (!result.success) throw new InvalidOptionsError(`${flag} must be 1 to 64 letters, digits, '.', '_' or '-', e.g. ${flag} pro`)
    return result.data
  }
}

/** A comma-separated role list, checked before any database is opened. */
function rolesFlag(flag: string): FlagParser<Role[]> {
  return (value) => {
    const result = rolesSchema.safeParse(splitRoles(value))
    if (!result.success) {
      throw new InvalidOptionsError(`${flag} must list roles among read, write, admin and service, with at least one of read, write or admin, e.g. ${flag} read,write`)
    }
    return result.data
  }
}

/** The human listing: one row per key, newest last. */
function formatKeyList(keys: readonly KeyInfo[], tenant: string | undefined): string {
  if (keys.length === 0) return tenant === undefined ? 'no API keys\n' : `no API keys for tenant ${tenant}\n`
  const rows = keys.map((key) => [
    key.id,
    key.tenant,
    key.roles.join(','),
    key.plan,
    isoSeconds(key.createdAt),
    key.lastUsedAt === null ? 'never' : isoSeconds(key.lastUsedAt),
    key.revokedAt === null ? 'active' : `revoked ${isoSeconds(key.revokedAt)}`,
  ])
  return formatTable([['ID', 'TENANT', 'ROLES', 'PLAN', 'CREATED', 'LAST USED', 'STATUS'], ...rows], []) + '\n'
}

/** Epoch ms as an ISO 8601 UTC time to the second. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
