import { z } from 'zod'
import { InvalidOptionsError } from '../errors.js'
import { KeyRing } from '../security/crypto/key-ring.js'
import { MAX_DURATION_MS, toMs } from '../core/duration.js'
import { type RedisClientLike, isRedisClientLike } from '../core/redis-client.js'
import { namespaceSchema } from '../core/validate.js'
import { metricsSchema } from './instruments/options.js'
import type { PolicyHook } from './policy-hook.js'

function isPolicyHook(value: unknown): value is PolicyHook {
  const hook = value as Partial<PolicyHook> | null
  return typeof hook === 'object' && hook !== null && typeof hook.decide === 'function' && typeof hook.targets === 'function' && typeof hook.l1Scale === 'function' && typeof hook.nextBoundary === 'function'
}

const durationInput = z.union([z.number(), z.string()])

function duration(name: string) {
  return durationInput.transform((input, ctx) => {
    try {
      return toMs(input, name)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message })
      return z.NEVER
    }
  })
}

const positiveInt = z.number().int().positive()

const l1Schema = z.union([
  z.literal(false),
  z
    .object({
      maxEntries: positiveInt.default(10_000),
      maxBytes: positiveInt.default(64 * 1024 * 1024),
      eviction: z.enum(['lru', 'tinylfu']).default('lru'),
    })
    .strict(),
])

const sqlTuning = {
  /** How often expired rows are removed in batches. */
  cleanupInterval: duration('l3.cleanupInterval').default(60_000),
}

const l3Schema = z
  .union([
    z.literal(false),
    z.object({ sqlite: z.string().min(1), ...sqlTuning }).strict(),
    z.object({ postgres: z.string().min(1), ...sqlTuning }).strict(),
  ])
  // After the union, as for l2: a member's transform would hide its own issues.
  .transform((l3) => {
    if (l3 === false) return false as const
    const { cleanupInterval, ...rest } = l3
    return { ...rest, cleanupIntervalMs: cleanupInterval }
  })

const l2Schema = z.union([
  z.literal(false),
  z
    .object({
      redis: z.union([
        z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
        z.custom<RedisClientLike>(isRedisClientLike, 'must be a redis:// URL or an ioredis Redis or Cluster'),
      ]),
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9._:/-]{1,64}$/)
        .default('tc'),
      bus: z.boolean().default(true),
      lock: z.boolean().default(true),
      lockTtl: duration('l2.lockTtl')
        .refine((ms) => ms >= 100, 'l2.lockTtl must be at least 100 ms')
        .default(5_000),
      commandTimeout: duration('l2.commandTimeout')
        .refine((ms) => ms > 0, 'l2.commandTimeout must be positive')
        .default(1_000),
    })
    .strict(),
])
  // Renamed after the union, not inside it: a transform inside would hide the member's own issues
  // ("must be a redis:// URL") behind zod's bare "Invalid input".
  .transform((l2) => {
    if (l2 === false) return false as const
    const { lockTtl, commandTimeout, ...rest } = l2
    return { ...rest, lockTtlMs: lockTtl, commandTimeoutMs: commandTimeout }
  })

const limitsSchema = z
  .object({
    maxKeyLength: positiveInt.max(16_384).default(1024),
    maxValueBytes: positiveInt.max(512 * 1024 * 1024).default(1024 * 1024),
    maxTags: positiveInt.max(1024).default(64),
    maxTagLength: positiveInt.max(4096).default(256),
  })
  .strict()

const circuitBreakerSchema = z
  .object({
    failureThreshold: positiveInt.default(3),
    openFor: duration('circuitBreaker.openFor').default(5_000),
  })
  .strict()
  .transform(({ openFor, ...rest }) => ({ ...rest, openForMs: openFor }))

const multiplier = z.number().positive().max(1_000)

const levels = z.array(z.enum(['l1', 'l2', 'l3'])).transform((list) => [...new Set(list)])

const securitySchema = z
  .object({
    encryption: z
      .union([
        z.literal(false),
        z
          .object({
            keyRing: z.custom<KeyRing>((value) => value instanceof KeyRing, 'must be a KeyRing').optional(),
            keyFile: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .prefault({}),
    tiers: z
      .object({
        public: levels.default(['l1', 'l2', 'l3']),
        tenant: levels.default(['l1', 'l2', 'l3']),
        user: levels.default(['l2', 'l3']),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        public: duration('security.retention.public').optional(),
        tenant: duration('security.retention.tenant').optional(),
        user: duration('security.retention.user').optional(),
      })
      .strict()
      .refine((r) => Object.values(r).every((ms) => ms === undefined || ms > 0), 'security.retention values must be positive')
      .prefault({}),
    ttlMultiplier: z
      .object({ anon: multiplier.default(1), authenticated: multiplier.default(1), service: multiplier.default(1) })
      .strict()
      .prefault({}),
  })
  .strict()
  .transform(({ retention, ...rest }) => ({ ...rest, retentionMs: retention }))

/** The schema of {@link CacheOptions}; defaults live here. */
export const cacheOptionsSchema = z
  .object({
    namespace: namespaceSchema.default('default'),
    ttl: duration('ttl')
      .refine((ms) => ms > 0, 'ttl must be positive')
      .default(5 * 60_000),
    grace: duration('grace').default(0),
    timeout: duration('timeout').optional(),
    hardTimeout: duration('hardTimeout').optional(),
    l1: l1Schema.prefault({}),
    l2: l2Schema.default(false),
    l3: l3Schema.prefault({ sqlite: './.tiercache/cache.db' }),
    limits: limitsSchema.prefault({}),
    security: securitySchema.prefault({}),
    circuitBreaker: circuitBreakerSchema.prefault({}),
    tierTimeout: duration('tierTimeout')
      .refine((ms) => ms > 0, 'tierTimeout must be positive')
      .default(2_000),
    metrics: metricsSchema.prefault({}),
    policies: z.custom<PolicyHook>(isPolicyHook, 'must be a policy configuration or a Policy (definePolicy)').optional(),
  })
  .strict()
  .refine((o) => o.ttl + o.grace <= MAX_DURATION_MS, 'ttl + grace must be at most 100 years')
  // Resolved durations say their unit: `ttlMs`, not `ttl` (which, given by a user, may be '5m').
  .transform(({ ttl, grace, timeout, hardTimeout, tierTimeout, ...rest }) => ({
    ...rest,
    ttlMs: ttl,
    graceMs: grace,
    timeoutMs: timeout,
    hardTimeoutMs: hardTimeout,
    tierTimeoutMs: tierTimeout,
  }))

/**
 * Options of {@link createCache}. Durations are milliseconds or strings such as `'5m'`.
 *
 * | option | default | meaning |
 * |---|---|---|
 * | `namespace` | `'default'` | namespace of the returned view; `[A-Za-z0-9._-]{1,128}` |
 * | `ttl` | `'5m'` | how long an entry is fresh |
 * | `grace` | `0` | how long past its ttl an entry is kept and may be served stale |
 * | `timeout` | none | soft timeout of a factory when a stale value exists: serve it, refresh in background (`0` = stale-while-revalidate) |
 * | `hardTimeout` | none | give up on a factory: serve stale if any, else throw `TC_FACTORY_TIMEOUT` |
 * | `l1` | `{ maxEntries: 10_000, maxBytes: 64 MiB, eviction: 'lru' }` | in-process tier, or `false`; `eviction: 'tinylfu'`: adaptive W-TinyLFU, which may refuse to admit a new entry |
 * | `l2` | `false` | `{ redis: url \| Redis \| Cluster, prefix?, bus?, lock?, lockTtl?, commandTimeout? }`: Redis tier, bus, cross-process lock |
 * | `l3` | `{ sqlite: './.tiercache/cache.db' }` | `{ sqlite: path }`, `{ postgres: url }` or `false` |
 * | `limits` | key 1024 chars, value 1 MiB, 64 tags of 256 chars | input limits |
 * | `circuitBreaker` | 3 failures, open 5 s | when a failing tier is skipped, and for how long |
 * | `tierTimeout` | `'2s'` | longest a call to a shared tier (L2, L3) may take before it counts as failed |
 * | `security.encryption` | `{}` | key ring for non-public entries in L2/L3: `{ keyRing?, keyFile? }`, else `TIERCACHE_KEYS`, else a key file beside the SQLite file; `false` stores them in plain text |
 * | `security.tiers` | user entries in `['l2', 'l3']`, others everywhere | `{ public?, tenant?, user? }`: the levels that may hold entries of each scope (`[]`: not cached) |
 * | `security.retention` | none | `{ public?, tenant?, user? }`: longest an entry of that scope is kept (ttl + grace are cut to fit) |
 * | `security.ttlMultiplier` | `1` per role | `{ anon?, authenticated?, service? }`: ttl and grace of entries written by views of that role are multiplied by it |
 * | `policies` | none | the policy layer (docs/policies.md): a configuration object or a `Policy` (`definePolicy`, `loadPolicy`): named ttl policies, seasons, context-aware keys, invalidation rules, warming |
 * | `metrics` | on | `MetricsOptions`: `{ maxNamespaces?, tenants?, costs?, sampleEvery? }` for `cache.metrics()`, or `false`: instruments off |
 */
export type CacheOptions = z.input<typeof cacheOptionsSchema>

/**
 * {@link CacheOptions} after validation: defaults filled in, durations in ms under names that say so
 * (`ttlMs`, `graceMs`, `timeoutMs`, `hardTimeoutMs`, `tierTimeoutMs`, `circuitBreaker.openForMs`,
 * `l2.lockTtlMs`, `l2.commandTimeoutMs`, `l3.cleanupIntervalMs`, `security.retentionMs`).
 */
export type ResolvedCacheOptions = Readonly<z.output<typeof cacheOptionsSchema>>

/** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) listing every problem found */
export function resolveCacheOptions(options: CacheOptions | undefined): ResolvedCacheOptions {
  const parsed = cacheOptionsSchema.safeParse(options ?? {})
  if (!parsed.success) throw new InvalidOptionsError(`invalid cache options: ${z.prettifyError(parsed.error)}`)
  return Object.freeze(parsed.data)
}
