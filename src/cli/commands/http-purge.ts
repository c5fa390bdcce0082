import { type Command, Option } from 'commander'
import { InvalidOptionsError } from '../../errors.js'
import type { CliContext } from '../context.js'
import { urlFlag } from '../flags.js'
import { callServer, isRecord } from '../http.js'
import { DEFAULT_SERVER_URL } from './remote.js'

interface HttpPurgeFlags {
  readonly key?: string[]
  readonly url?: string[]
  readonly prefix?: string[]
  readonly soft?: boolean
  readonly namespace?: string
  readonly server: string
  readonly token?: string
  readonly json?: boolean
}

/** Collects a repeated (and variadic) flag's values: `--key a b --key c` is `[a, b, c]`. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/**
 * `tiercache http-purge --key <k...> --url <u...> --prefix <p...> [--soft] [--namespace <ns>]`:
 * `POST <server>/v1/http/purge` with `{ keys, urls, prefixes, soft, namespace }` and the API key of
 * `--token`/TIERCACHE_TOKEN (roles write and service), which purges the HTTP cache's stored
 * responses carrying one of the surrogate keys, of one of the URLs, or under one of the prefixes,
 * from every tier and instance (or, with `--soft`, marks them stale). The server's address is
 * `--server` (TIERCACHE_URL, as `--url` is elsewhere): here `--url` names URLs to purge, as the
 * body's `urls` does. Through the running server, not the database, so that its L1 drops them too.
 * The server validates the purge: a refusal exits 1 with its code (TC_INVALID_OPTIONS, TC_FORBIDDEN).
 * @throws InvalidOptionsError (exit 2) when no key, URL or prefix is named
 */
export function registerHttpPurge(program: Command, ctx: CliContext): void {
  program
    .command('http-purge')
    .description("purge the HTTP cache's stored responses by surrogate key, URL or prefix, hard or soft, through a running server")
    .addOption(new Option('--key <keys...>', 'surrogate keys, as the origin sent them in Surrogate-Key').argParser(collect))
    .addOption(new Option('--url <urls...>', 'absolute URLs: every method and variant of each').argParser(collect))
    .addOption(new Option('--prefix <prefixes...>', 'absolute URL prefixes, by whole path segments (https://shop.example/ is the whole site)').argParser(collect))
    .option('--soft', 'mark stale instead of removing: the next request revalidates, or is served stale as the response allows')
    .option('--namespace <namespace>', "the HTTP cache's namespace (default: the server's HTTP cache's, else http)")
    .addOption(new Option('--server <url>', 'address of the running tiercache server').env('TIERCACHE_URL').argParser(urlFlag('--server')).default(DEFAULT_SERVER_URL))
    .addOption(new Option('--token <key>', 'API key to send (Authorization: Bearer), with the write and service roles').env('TIERCACHE_TOKEN'))
    .option('--json', "print the server's JSON answer as is")
    .action(async (flags: HttpPurgeFlags) => {
      if (flags.key === undefined && flags.url === undefined && flags.prefix === undefined) throw new InvalidOptionsError('name what to purge: --key, --url or --prefix (each takes one or more values)')
      const body = {
        ...(flags.key === undefined ? {} : { keys: flags.key }),
        ...(flags.url === undefined ? {} : { urls: flags.url }),
        ...(flags.prefix === undefined ? {} : { prefixes: flags.prefix }),
        soft: flags.soft === true,
        ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
      }
      const answer = await callServer({ url: flags.server, path: '/v1/http/purge', method: 'POST', body, token: flags.token })
      if (flags.json === true) {
        ctx.stdout.write(answer.text.endsWith('\n') ? answer.text : answer.text + '\n')
        return
      }
      const namespace = isRecord(answer.json) && typeof answer.json.namespace === 'string' ? answer.json.namespace : (flags.namespace ?? 'http')
      const what = [plural(flags.key, 'surrogate key'), plural(flags.url, 'URL'), plural(flags.prefix, 'prefix')].filter((part) => part !== '').join(', ')
      const done = flags.soft === true ? 'marked stale' : 'purged'
      ctx.stdout.write(`${done} the HTTP cache's responses of ${what} (namespace ${namespace}), in every tier and instance, through ${flags.server}\n`)
    })
}

function plural(values: readonly string[] | undefined, noun: string): string {
  if (values === undefined) return ''
  const distinct = new Set(values).size
  return `${distinct} ${noun}${distinct === 1 ? '' : noun.endsWith('x') ? 'es' : 's'}`
}
