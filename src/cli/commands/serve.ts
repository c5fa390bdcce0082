import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { type Command, Option } from 'commander'
import type { Redis } from 'ioredis'
import { resolveCacheOptions } from '../../cache/options.js'
import { InvalidOptionsError, type Cache, type CacheOptions, createCache, isTiercacheError } from '../../index.js'
import { type StatsHistory, openStatsHistory } from '../../metrics/stats/history.js'
import type { AiCache } from '../../ai/index.js'
import type { Policy } from '../../policy/layer.js'
import { loadPolicy } from '../../policy/load.js'
import { type AuditLog, openAuditLog } from '../../security/audit/index.js'
import { type CredentialStore, openCredentialStore } from '../../security/credentials/index.js'
import type { Plans } from '../../security/rate-limit/index.js'
import type { RateLimitOptions } from '../../server/index.js'
import type { CliContext } from '../context.js'
import { type AiFlags, addAiOptions, checkAiFlags, openAiCache } from '../ai-gateway.js'
import { type HttpProxyFlags, addHttpOptions, checkHttpFlags, startHttpProxy } from '../http-proxy.js'
import type { RunningProxy } from '../../http-cache/proxy.js'
import { policyFileOption } from '../policy-file.js'
import { closeOnSignals } from '../signals.js'
import { CliError, ExitCode } from '../errors.js'
import { bytesFlag, durationFlag, integerFlag, plansFlag, portFlag, redisPrefixFlag } from '../flags.js'
import { type StorageFlags, chooseL3, postgresOption, sqliteOption } from '../storage.js'

export { DEFAULT_SQLITE_PATH } from '../storage.js'

interface ServeFlags extends StorageFlags, AiFlags, HttpProxyFlags {
  readonly host: string
  readonly port: number
  readonly redis?: string
  readonly redisPrefix?: string
  readonly l1Entries?: number
  readonly l1Bytes?: number
  readonly ttl?: number | string
  readonly grace?: number | string
  readonly namespace?: string
  readonly quiet?: boolean
  readonly logLevel: string
  readonly keyCacheTtl?: number | string
  /** False with `--no-rate-limits`. */
  readonly rateLimits: boolean
  readonly plans?: Plans
  /** False with `--no-history`. */
  readonly history: boolean
  readonly instance?: string
  readonly metricsTenants: number
  readonly metricsHost?: string
  readonly metricsPort?: number
  readonly policyFile?: string
}

/** What `startServer` resolves. */
interface RunningServer {
  readonly app: { close(): PromiseLike<unknown> }
  readonly url: string
  readonly metricsUrl?: string
}

/** Default of `--metrics-tenants`. */
export const DEFAULT_METRICS_TENANTS = 100


/**
 * `tiercache serve`: opens a cache (L1 memory; L2 Redis when `--redis`/REDIS_URL is given; L3 PostgreSQL
 * when `--postgres`/DATABASE_URL is given, else SQLite at `--sqlite`/TIERCACHE_SQLITE) and serves it
 * over REST until SIGINT or SIGTERM, which close the server and then the cache. A second signal exits
 * at once.
 *
 * The API keys it checks and the audit log it writes are in the SQL tier's database, the one that
 * `tiercache keys` opens from the same place with the same flags and environment. Rate limits are per
 * key, by the plans of `--plans`/TIERCACHE_PLANS (default free, pro, unlimited), counted in Redis when
 * `--redis` is given (so that they hold across instances), else in this process; `--no-rate-limits`
 * turns them off. `--metrics-port` adds a listener that serves `GET /metrics` without a key, on
 * `--metrics-host` (default 127.0.0.1): bind it where only Prometheus reaches.
 *
 * The cache labels each tenant's series (`metrics.tenants`, at most `--metrics-tenants`), so that
 * `/v1/stats` shows a tenant its own figures; the stats history is recorded every minute in the SQL
 * tier's database under `--instance`, and read back by `/v1/stats` for every instance that shares it
 * (`--no-history`: none, and `/v1/stats` counts this process since it started).
 *
 * `--policy-file`/TIERCACHE_POLICY_FILE gives the policy layer (docs/policies.md): the ttl policies
 * that routes name with `policy`, seasonal L1 capacity, the invalidation rules of `POST /v1/events`.
 * It is read before anything opens; an invalid file exits 2 naming it.
 *
 * `--ai-upstream`/TIERCACHE_AI_UPSTREAM adds the AI gateway (docs/ai.md) in front of that
 * OpenAI-compatible base URL, sending it the key in TIERCACHE_AI_UPSTREAM_KEY (environment only; the
 * key is never stored, logged or answered). `--ai-prices`/TIERCACHE_AI_PRICES prices its models
 * (`{"gpt-4o-mini":{"inputPerMillion":0.15,"outputPerMillion":0.6}}`, US dollars per million tokens),
 * for the money `/v1/stats`, `/metrics` and the dashboard say it saved; it needs `--ai-upstream`.
 *
 * `--http-origin`/TIERCACHE_HTTP_ORIGIN also runs the caching reverse proxy (docs/http-cache.md) in
 * front of that origin, in this process and on this cache, on `--http-host` (default `--host`) and
 * `--http-port` (default 4200): `/v1/stats`, `/metrics` and the dashboard show how it served, and
 * `POST /v1/http/purge` purges its responses. A signal stops the proxy first, then the server.
 */
export function registerServe(program: Command, ctx: CliContext): void {
  const serve = program
    .command('serve')
    .description('start the REST server')
    .addOption(new Option('--host <host>', 'interface to listen on').env('TIERCACHE_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('TIERCACHE_PORT').argParser(portFlag('--port')).default(4100))
    .addOption(postgresOption('L3 in PostgreSQL (takes precedence over --sqlite from the environment)'))
    .addOption(sqliteOption('L3 in this SQLite file, when no PostgreSQL URL is given'))
    .addOption(new Option('--redis <url>', 'L2 in Redis, with the bus and the cross-process lock').env('REDIS_URL'))
    .addOption(
      new Option('--redis-prefix <prefix>', 'start of every Redis key of this server (cache, bus, lock, rate limits), to share one Redis (default tc)').argParser(
        redisPrefixFlag('--redis-prefix'),
      ),
    )
    .addOption(new Option('--l1-entries <n>', 'most entries in the in-process L1 (default 10000)').argParser(integerFlag('--l1-entries')))
    .addOption(new Option('--l1-bytes <size>', 'most bytes in the L1, e.g. 64MiB (default 64MiB)').argParser(bytesFlag('--l1-bytes')))
    .addOption(new Option('--ttl <duration>', "default ttl, e.g. 5m (default 5m)").argParser(durationFlag('--ttl')))
    .addOption(new Option('--grace <duration>', 'default grace past the ttl, e.g. 1h (default 0)').argParser(durationFlag('--grace')))
    .addOption(policyFileOption('optional'))
    .option('--namespace <namespace>', 'default namespace (default "default")')
    .addOption(
      new Option('--plans <json>', 'rate-limit plans by name, e.g. {"free":{"limit":1000,"windowMs":3600000},"unlimited":"unlimited"}')
        .env('TIERCACHE_PLANS')
        .argParser(plansFlag('--plans')),
    )
    .option('--no-rate-limits', 'do not limit requests per API key')
    .option('--no-history', 'keep no stats history: /v1/stats then counts this process since it started')
    .addOption(new Option('--instance <id>', 'name of this server in the stats history, the same across its restarts (default <hostname>:<port>)').env('TIERCACHE_INSTANCE'))
    .addOption(
      new Option('--metrics-tenants <n>', 'most tenants given their own series in metrics and stats; further ones are counted together as _other')
        .argParser(integerFlag('--metrics-tenants', 1, 100_000))
        .default(DEFAULT_METRICS_TENANTS),
    )
    .addOption(new Option('--key-cache-ttl <duration>', 'how long a verified API key is held in memory; a revoked key stops working within it (default 5s)').argParser(durationFlag('--key-cache-ttl')))
    .addOption(new Option('--log-level <level>', 'log level; debug adds one line per request').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .option('--quiet', 'do not log at all')
    .addOption(
      new Option('--metrics-port <port>', 'also serve GET /metrics without an API key on this port, for Prometheus (default: off)')
        .env('TIERCACHE_METRICS_PORT')
        .argParser(portFlag('--metrics-port')),
    )
    .addOption(new Option('--metrics-host <host>', 'interface of the --metrics-port listener; whoever reaches it reads every tenant\'s metrics (default 127.0.0.1)').env('TIERCACHE_METRICS_HOST'))
  addHttpOptions(addAiOptions(serve)).action(async (flags: ServeFlags, command: Command) => {
    const location = chooseL3(flags, command)
    if (flags.redisPrefix !== undefined && flags.redis === undefined) throw new InvalidOptionsError('--redis-prefix needs --redis (or REDIS_URL)')
    if (flags.metricsHost !== undefined && flags.metricsPort === undefined) throw new InvalidOptionsError('--metrics-host needs --metrics-port (or TIERCACHE_METRICS_PORT)')
    checkAiFlags(flags)
    checkHttpFlags(flags)
    const policy = flags.policyFile === undefined ? undefined : await loadPolicy(flags.policyFile)
    const { cache, redis, closeRedis } = await openCache(cacheOptions(flags, command, policy))
    let credentials: CredentialStore | undefined
    let audit: AuditLog | undefined
    let history: StatsHistory | undefined
    let ai: AiCache | undefined
    let proxy: RunningProxy | undefined
    let server: RunningServer & { readonly app: { readonly log: { warn(details: object, message: string): void } } }
    // Until the server's logger exists, a lost audit event is reported on stderr.
    let reportAuditError = (error: Error): void => void ctx.stderr.write(`warning: an audit event could not be recorded: ${error.message}\n`)
    let reportHistoryError = (error: Error): void => void ctx.stderr.write(`warning: the stats history could not be written: ${error.message}\n`)
    let reportProxyError = (error: unknown): void => void ctx.stderr.write(`warning: ${error instanceof Error ? error.message : String(error)}\n`)
    try {
      checkKeyRing(cache, flags, 'postgres' in location)
      credentials = await openCredentialStore(location)
      audit = await openAuditLog(location, { onError: (error) => reportAuditError(error) })
      if (flags.history) {
        history = await openStatsHistory(location, {
          source: () => cache.metrics(),
          instance: flags.instance ?? `${hostname()}:${flags.port === 0 ? randomUUID() : flags.port}`,
          onError: (error) => reportHistoryError(error),
        })
      }
      ai = await openAiCache(cache, flags, policy, redis === undefined ? undefined : { client: redis, ...(flags.redisPrefix === undefined ? {} : { prefix: flags.redisPrefix }) })
      proxy = await startHttpProxy(cache, flags, flags.host, flags.quiet === true ? undefined : (error) => reportProxyError(error))
      // Loaded on demand: the other commands do not need Fastify.
      const { startServer } = await import('../../server/index.js')
      server = await startServer({
        cache,
        ...(ai === undefined ? {} : { ai }),
        ...(proxy === undefined ? {} : { http: proxy.httpCache }),
        credentials,
        audit,
        ...(policy === undefined ? {} : { policy }),
        rateLimits: flags.rateLimits ? rateLimitOptions(flags, redis) : false,
        host: flags.host,
        port: flags.port,
        logger: flags.quiet === true ? false : { level: flags.logLevel },
        ...(flags.keyCacheTtl === undefined ? {} : { keyCacheTtl: flags.keyCacheTtl }),
        ...(history === undefined ? {} : { stats: { history } }),
        ...(flags.metricsPort === undefined ? {} : { metricsListener: { port: flags.metricsPort, ...(flags.metricsHost === undefined ? {} : { host: flags.metricsHost }) } }),
      })
    } catch (error) {
      await Promise.all([history?.close(), credentials?.close(), audit?.close(), ai?.upstream.close(), proxy?.close()])
      await cache.close().then(closeRedis)
      if (isTiercacheError(error, 'TC_LISTEN_FAILED')) {
        // startServer names the metrics listener's port in its message ('... for the metrics listener: ...').
        const flag = error.message.includes('for the metrics listener') ? '--metrics-port' : '--port'
        throw new CliError(`${error.message}; stop the other server, or choose another port with ${flag} (0 picks a free one)`, ExitCode.usage, error.code, { cause: error })
      }
      throw error
    }
    const { log } = server.app
    reportAuditError = (error) => log.warn({ err: error }, 'an audit event could not be recorded')
    reportHistoryError = (error) => log.warn({ err: error }, 'the stats history could not be written')
    reportProxyError = (error) => log.warn({ err: error }, 'the HTTP proxy survived an error')
    const running = proxy
    // The proxy first: no request it takes meets a closed cache. The app closes the cache on close;
    // closing it again is a no-op, and covers a server that does not.
    closeOnSignals(
      running === undefined ? 'the server and the cache' : 'the HTTP proxy, the server and the cache',
      () => Promise.resolve(running?.close()).then(() => server.app.close()).then(() => cache.close()).then(closeRedis),
      ctx,
    )
    // Printed once the signals are handled: whoever waits for these lines may stop the server at once.
    ctx.stdout.write(`tiercache listening on ${server.url}\n`)
    if (server.metricsUrl !== undefined) ctx.stdout.write(`metrics (no key) on ${server.metricsUrl}/metrics\n`)
    if (proxy !== undefined) ctx.stdout.write(`HTTP cache proxy on ${proxy.url} (for ${flags.httpOrigin ?? ''})\n`)
  })
}

/**
 * The cache, and the Redis client it shares with the rate limits (one connection, not one each):
 * created here once the options are known good, and so closed here, after the cache (which never
 * closes a client it was given). Nothing is left open when the cache is refused.
 */
async function openCache(options: CacheOptions): Promise<{ cache: Cache; redis?: Redis; closeRedis(): Promise<void> }> {
  const { l2 } = resolveCacheOptions({ ...options, policies: undefined })
  if (l2 === false || typeof l2.redis !== 'string') return { cache: createCache(options), closeRedis: async () => {} }
  // ioredis is an optional dependency: loaded only when Redis is asked for.
  const { closeClient, createClient } = await import('../../redis/client.js')
  const redis = createClient(l2.redis, l2.commandTimeoutMs, 'tiercache:cmd:serve')
  // Failures are reported by the calls that meet them; without a listener ioredis would print each.
  redis.on('error', () => {})
  const closeRedis = () => closeClient(redis)
  try {
    return { cache: createCache({ ...options, l2: { ...options.l2, redis } }), redis, closeRedis }
  } catch (error) {
    await closeRedis()
    throw error
  }
}

/**
 * Refuses, before anything else opens, a cache whose shared tiers would hold tenants' entries
 * unencrypted, in words for the command line (the library's message speaks of options).
 * @throws InvalidOptionsError (exit 2)
 */
function checkKeyRing(cache: Cache, flags: ServeFlags, postgres: boolean): void {
  try {
    cache.withContext({ role: 'authenticated', tenantId: 'startup-check' })
  } catch (cause) {
    if (!isTiercacheError(cause, 'TC_INVALID_OPTIONS')) throw cause
    const shared = [flags.redis === undefined ? undefined : 'Redis (--redis or REDIS_URL)', postgres ? 'PostgreSQL (--postgres or DATABASE_URL)' : undefined]
      .filter((tier) => tier !== undefined)
      .join(' and ')
    throw new InvalidOptionsError(
      `with ${shared}, the server stores each tenant's entries encrypted, and needs a master key: ` +
        'run `tiercache keygen`, set TIERCACHE_KEYS to the line it prints (the same value on every instance), and start again. ' +
        'Without --redis and --postgres, the embedded SQLite keeps a key file of its own and needs nothing',
      { cause },
    )
  }
}

function rateLimitOptions(flags: ServeFlags, redis: Redis | undefined): RateLimitOptions {
  return {
    ...(flags.plans === undefined ? {} : { plans: flags.plans }),
    // The cache's own client: one connection for both (see openCache).
    ...(redis === undefined ? {} : { redis }),
    ...(flags.redisPrefix === undefined ? {} : { prefix: flags.redisPrefix }),
  }
}

/** The cache options the flags ask for; unset flags take the library's defaults. */
function cacheOptions(flags: ServeFlags, command: Command, policy: Policy | undefined): CacheOptions {
  const l1 = {
    ...(flags.l1Entries === undefined ? {} : { maxEntries: flags.l1Entries }),
    ...(flags.l1Bytes === undefined ? {} : { maxBytes: flags.l1Bytes }),
  }
  return {
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }),
    ...(flags.grace === undefined ? {} : { grace: flags.grace }),
    l1,
    ...(flags.redis === undefined ? {} : { l2: { redis: flags.redis, ...(flags.redisPrefix === undefined ? {} : { prefix: flags.redisPrefix }) } }),
    l3: chooseL3(flags, command),
    // The server shows each tenant its own figures: its series must carry the tenant.
    metrics: { tenants: { max: flags.metricsTenants } },
    ...(policy === undefined ? {} : { policies: policy }),
  }
}
