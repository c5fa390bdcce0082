import { type Command, Option } from 'commander'
import { type CacheOptions, InvalidOptionsError, createCache, isTiercacheError } from '../../index.js'
import type { RunningProxy } from '../../http-cache/proxy.js'
import type { CliContext } from '../context.js'
import { CliError, ExitCode } from '../errors.js'
import { portFlag, redisPrefixFlag, urlFlag } from '../flags.js'
import { closeOnSignals } from '../signals.js'
import { type StorageFlags, chooseL3, postgresOption, sqliteOption } from '../storage.js'

interface ProxyFlags extends StorageFlags {
  readonly origin: string
  readonly host: string
  readonly port: number
  readonly redis?: string
  readonly redisPrefix?: string
  readonly namespace: string
  readonly targeted?: readonly string[]
  readonly heuristic?: number
  readonly cachePost?: readonly string[]
  readonly quiet?: boolean
}

/** Default of `--port`. */
export const DEFAULT_PROXY_PORT = 4200

function fieldsFlag(value: string): string[] {
  const names = value.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
  if (names.length === 0 || names.some((name) => !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))) {
    throw new InvalidOptionsError(`--targeted must be header field names separated by commas, e.g. cdn-cache-control,surrogate-control, not '${value}'`)
  }
  return names
}

function pathsFlag(value: string): string[] {
  const paths = value.split(',').map((path) => path.trim()).filter((path) => path !== '')
  if (paths.length === 0 || paths.some((path) => !path.startsWith('/'))) {
    throw new InvalidOptionsError(`--cache-post must be paths starting with /, separated by commas (a trailing * for a prefix), e.g. /search,/api/recommend/*, not '${value}'`)
  }
  return paths
}

function fractionFlag(value: string): number {
  const fraction = Number(value)
  if (value.trim() === '' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) throw new InvalidOptionsError(`--heuristic must be a fraction from 0 to 1, e.g. 0.1, not '${value}'`)
  return fraction
}

/**
 * `tiercache proxy --origin <url>`: a caching reverse proxy (RFC 9111 shared cache, docs/http-cache.md)
 * in front of the origin, storing responses in the tiers: L1 memory; L2 Redis when `--redis`/REDIS_URL
 * is given; L3 PostgreSQL when `--postgres`/DATABASE_URL is given, else SQLite at `--sqlite`/TIERCACHE_SQLITE
 * (the same defaults as `serve`). Serves until SIGINT or SIGTERM, which stop the listener, wait for
 * background revalidations and close the cache; a second signal exits at once. A start that fails
 * (port in use, say) closes the cache it opened and exits 2.
 */
export function registerProxy(program: Command, ctx: CliContext): void {
  program
    .command('proxy')
    .description('start a caching reverse proxy (RFC 9111) in front of an origin')
    .addOption(new Option('--origin <url>', 'the origin\'s base URL, e.g. http://127.0.0.1:8080').env('TIERCACHE_ORIGIN').argParser(urlFlag('--origin')).makeOptionMandatory())
    .addOption(new Option('--host <host>', 'interface to listen on').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').argParser(portFlag('--port')).default(DEFAULT_PROXY_PORT))
    .addOption(postgresOption('L3 in PostgreSQL (takes precedence over --sqlite from the environment)'))
    .addOption(sqliteOption('L3 in this SQLite file, when no PostgreSQL URL is given'))
    .addOption(new Option('--redis <url>', 'L2 in Redis, with the bus and the cross-process lock (collapsing across instances)').env('REDIS_URL'))
    .addOption(new Option('--redis-prefix <prefix>', 'start of every Redis key of this proxy (default tc)').argParser(redisPrefixFlag('--redis-prefix')))
    .addOption(new Option('--namespace <namespace>', 'namespace of the stored responses').default('http'))
    .addOption(new Option('--targeted <fields>', 'targeted cache-control fields to honour, in order, e.g. cdn-cache-control,surrogate-control (default none)').argParser(fieldsFlag))
    .addOption(new Option('--heuristic <fraction>', 'heuristic freshness (RFC 9111 §4.2.2): this fraction of the time since Last-Modified (default 0: none)').argParser(fractionFlag))
    .addOption(new Option('--cache-post <paths>', 'POST routes that are reads, cached by a signature of the body: paths, or prefixes ending in *, separated by commas (default none)').argParser(pathsFlag))
    .option('--quiet', 'do not report errors the proxy survives')
    .action(async (flags: ProxyFlags, command: Command) => {
      if (flags.redisPrefix !== undefined && flags.redis === undefined) throw new InvalidOptionsError('--redis-prefix needs --redis (or REDIS_URL)')
      const options: CacheOptions = {
        ...(flags.redis === undefined ? {} : { l2: { redis: flags.redis, ...(flags.redisPrefix === undefined ? {} : { prefix: flags.redisPrefix }) } }),
        l3: chooseL3(flags, command),
      }
      const cache = createCache(options)
      let proxy: RunningProxy
      try {
        // Loaded on demand: the other commands do not need undici.
        const { startProxy } = await import('../../http-cache/proxy.js')
        proxy = await startProxy({
          cache,
          origin: flags.origin,
          host: flags.host,
          port: flags.port,
          http: {
            namespace: flags.namespace,
            ...(flags.targeted === undefined ? {} : { targetedFields: flags.targeted }),
            ...(flags.heuristic === undefined ? {} : { heuristic: flags.heuristic }),
            ...(flags.cachePost === undefined ? {} : { cachePost: flags.cachePost }),
            ...(flags.quiet === true ? {} : { onError: (error: unknown) => void ctx.stderr.write(`warning: ${error instanceof Error ? error.message : String(error)}\n`) }),
          },
        })
      } catch (error) {
        await cache.close()
        if (isTiercacheError(error, 'TC_LISTEN_FAILED')) {
          throw new CliError(`${error.message}; stop the other server, or choose another port with --port (0 picks a free one)`, ExitCode.usage, error.code, { cause: error })
        }
        throw error
      }
      // The signals handled first: whoever waits for the line below may stop the proxy at once.
      closeOnSignals('the proxy and the cache', () => proxy.close().then(() => cache.close()), ctx)
      ctx.stdout.write(`tiercache listening on ${proxy.url} (proxy for ${flags.origin})\n`)
    })
}
