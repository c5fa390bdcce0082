import { type Command, Option } from 'commander'
import { urlFlag } from '../flags.js'

/** Default address of a running server: `tiercache serve`'s default host and port. */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:4100'

/** Flags shared by the commands that talk to a running server. */
export interface RemoteFlags {
  readonly url: string
  readonly token?: string
  readonly json?: boolean
}

/**
 * Adds `--url` (TIERCACHE_URL), `--token` (TIERCACHE_TOKEN) and, unless `json` is false, `--json` to
 * `command`.
 */
export function addRemoteOptions(command: Command, { json = true }: { readonly json?: boolean } = {}): Command {
  command
    .addOption(
      new Option('--url <url>', 'address of the running tiercache server')
        .env('TIERCACHE_URL')
        .argParser(urlFlag('--url'))
        .default(DEFAULT_SERVER_URL),
    )
    .addOption(new Option('--token <key>', 'API key to send (Authorization: Bearer), from tiercache keys create').env('TIERCACHE_TOKEN'))
  return json ? command.option('--json', "print the server's JSON answer as is") : command
}
