/**
 * The HTTP cache's options of `tiercache serve` (docs/http-cache.md): the reverse proxy run in the
 * server's process, on the server's cache, so that `/v1/stats`, `/metrics` and the dashboard show
 * how it served, and `POST /v1/http/purge` reaches its responses and its clock.
 */
import { type Command, Option } from 'commander'
import type { Cache } from '../cache/cache.js'
import { InvalidOptionsError, isTiercacheError } from '../errors.js'
import type { RunningProxy } from '../http-cache/proxy.js'
import { CliError, ExitCode } from './errors.js'
import { portFlag, urlFlag } from './flags.js'

/** Default of `--http-port`: `tiercache proxy`'s. */
export const DEFAULT_HTTP_PORT = 4200

/** The flags these options give. */
export interface HttpProxyFlags {
  readonly httpOrigin?: string
  readonly httpHost?: string
  readonly httpPort?: number
}

/** Adds the HTTP cache's options to `command` (serve). */
export function addHttpOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--http-origin <url>', 'also run the caching reverse proxy (RFC 9111) in front of this origin, on the same cache, e.g. http://127.0.0.1:8080')
        .env('TIERCACHE_HTTP_ORIGIN')
        .argParser(urlFlag('--http-origin')),
    )
    .addOption(new Option('--http-host <host>', "interface of the --http-origin proxy (default: --host's)").env('TIERCACHE_HTTP_HOST'))
    .addOption(new Option('--http-port <port>', `port of the --http-origin proxy (0: any free port; default ${DEFAULT_HTTP_PORT})`).env('TIERCACHE_HTTP_PORT').argParser(portFlag('--http-port')))
}

/** @throws InvalidOptionsError (exit 2) for `--http-host` or `--http-port` without `--http-origin` */
export function checkHttpFlags(flags: HttpProxyFlags): void {
  for (const [given, name] of [[flags.httpHost, '--http-host'], [flags.httpPort, '--http-port']] as const) {
    if (given !== undefined && flags.httpOrigin === undefined) throw new InvalidOptionsError(`${name} needs --http-origin (or TIERCACHE_HTTP_ORIGIN)`)
  }
}

/**
 * Starts the proxy in front of `--http-origin` on `cache` (responses in its namespace `http`), on
 * `--http-host` (else `host`) and `--http-port`; `onError` is told what the proxy survives. Not the
 * cache's owner: closing it leaves the cache open. Undefined without `--http-origin`.
 * @throws CliError (exit 2, `TC_LISTEN_FAILED`) when it cannot listen, naming `--http-port`; having
 *   released what it opened
 */
export async function startHttpProxy(cache: Cache, flags: HttpProxyFlags, host: string, onError: ((error: unknown) => void) | undefined): Promise<RunningProxy | undefined> {
  if (flags.httpOrigin === undefined) return undefined
  // Loaded on demand, as the server is: undici is only needed here.
  const { startProxy } = await import('../http-cache/proxy.js')
  try {
    return await startProxy({ cache, origin: flags.httpOrigin, host: flags.httpHost ?? host, port: flags.httpPort ?? DEFAULT_HTTP_PORT, http: onError === undefined ? {} : { onError } })
  } catch (error) {
    if (!isTiercacheError(error, 'TC_LISTEN_FAILED')) throw error
    throw new CliError(`${error.message} (the HTTP proxy of --http-origin); stop the other server, or choose another port with --http-port (0 picks a free one)`, ExitCode.usage, error.code, { cause: error })
  }
}
