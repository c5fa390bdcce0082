import { type Command, Option } from 'commander'
import { InvalidOptionsError } from '../../errors.js'
import { namespaceOf } from '../../cache/scope.js'
import { namespaceSchema } from '../../core/validate.js'
import type { Tier } from '../../tiers/tier.js'
import type { CliContext } from '../context.js'
import { redisPrefixFlag } from '../flags.js'
import { type StorageFlags, chooseL3, describeStorage, postgresOption, sqliteOption } from '../storage.js'

interface ClearFlags extends StorageFlags {
  readonly namespace?: string
  readonly redis?: string
  readonly json?: boolean
}

// Storage namespaces of tenants and users start with it (cache/scope.ts); public ones never do.
const SCOPED = '~'

/**
 * `tiercache clear [--namespace <ns>]`: removes the cached entries (of one namespace, in every scope,
 * or of all) from the storage `serve` uses, found by the same flags (`--postgres`/DATABASE_URL, else
 * `--sqlite`/TIERCACHE_SQLITE; `--redis`/REDIS_URL for L2). Only the entries' table (and Redis keys
 * under the prefix) is touched: the API keys, the audit log and the key file stay. It works on the
 * storage straight away, as `keys` does, so the L1 of a running server keeps what it holds until
 * its ttl: restart it to drop that too. `--json` prints `{ namespace: ns | null, storage: [...] }`.
 */
export function registerClear(program: Command, ctx: CliContext): void {
  program
    .command('clear')
    .description("remove the cached entries from serve's storage (L3, and L2 with --redis); API keys, the audit log and the key file stay")
    .option('--namespace <namespace>', "only this namespace's entries, in every tenant and user scope")
    .addOption(postgresOption('L3 in PostgreSQL (takes precedence over --sqlite from the environment)'))
    .addOption(sqliteOption('L3 in this SQLite file, when no PostgreSQL URL is given'))
    .addOption(new Option('--redis <url>', 'L2 in Redis: clear it too').env('REDIS_URL'))
    .addOption(new Option('--redis-prefix <prefix>', 'start of the Redis keys of the cache (l2.prefix)').argParser(redisPrefixFlag('--redis-prefix')).default('tc'))
    .option('--json', 'print what was cleared as JSON')
    .action(async (flags: ClearFlags & { readonly redisPrefix: string }, command: Command) => {
      const namespace = flags.namespace === undefined ? undefined : checkNamespace(flags.namespace)
      const l3 = chooseL3(flags, command)
      const cleared: string[] = []
      const tiers: Tier[] = []
      try {
        tiers.push('sqlite' in l3 ? await openSqlite(l3.sqlite) : await openPostgres(l3.postgres))
        cleared.push(describeStorage(l3))
        if (flags.redis !== undefined) {
          const { createRedisTier } = await import('../../tiers/redis/index.js')
          tiers.push(createRedisTier({ connection: flags.redis, prefix: flags.redisPrefix }))
          cleared.push(`Redis (keys under ${flags.redisPrefix}:)`)
        }
        for (const tier of tiers) await clearTier(tier, namespace)
      } finally {
        await Promise.all(tiers.map((tier) => tier.close()))
      }
      if (flags.json === true) {
        ctx.stdout.write(`${JSON.stringify({ namespace: namespace ?? null, storage: cleared })}\n`)
        return
      }
      const what = namespace === undefined ? 'every cached entry' : `every cached entry of namespace ${namespace}`
      ctx.stdout.write(`removed ${what}, in every scope, from ${cleared.join(' and ')}; API keys, the audit log and the key file are untouched\n`)
      ctx.stderr.write("note: a running server's L1 keeps what it holds until its ttl; restart it to drop that too\n")
    })
}

function checkNamespace(value: string): string {
  const result = namespaceSchema.safeParse(value)
  if (!result.success) throw new InvalidOptionsError("--namespace must be 1 to 128 letters, digits, '.', '_' or '-'")
  return result.data
}

/** The namespace's public entries and its entries in every tenant and user scope, or everything. */
async function clearTier(tier: Tier, namespace: string | undefined): Promise<void> {
  if (namespace === undefined) return tier.clear()
  await tier.clear(namespace)
  for (const stored of await tier.namespaces(SCOPED)) if (namespaceOf(stored) === namespace) await tier.clear(stored)
}

async function openSqlite(path: string): Promise<Tier> {
  const { createSqliteTier } = await import('../../tiers/sql/sqlite/index.js')
  return createSqliteTier({ path, cleanupIntervalMs: 0 })
}

async function openPostgres(url: string): Promise<Tier> {
  const { createPostgresTier } = await import('../../tiers/sql/postgres/index.js')
  return createPostgresTier({ url, cleanupIntervalMs: 0, maxConnections: 2 })
}
