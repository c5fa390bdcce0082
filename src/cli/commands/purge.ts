import { type Command, Option } from 'commander'
import type { CliContext } from '../context.js'
import { tagsFlag } from '../flags.js'
import { callServer, isRecord } from '../http.js'
import { type RemoteFlags, addRemoteOptions } from './remote.js'

interface PurgeFlags extends RemoteFlags {
  readonly tags: string[]
  readonly namespace: string
}

/**
 * `tiercache purge --tags a,b --namespace ns`: `POST <url>/v1/purge` with `{ tags, namespace }` and
 * the API key of `--token`/TIERCACHE_TOKEN (role write), which removes the entries of the key's
 * tenant carrying any of the tags in that namespace. "Purge" means this on both the command line
 * and REST: removal by tags; clearing a whole namespace is `POST /v1/clear`. It goes through the running server, not straight
 * to the database, because the server's in-process L1 must drop the entries too. The server
 * validates tags and namespace (TC_INVALID_TAG, TC_INVALID_NAMESPACE).
 */
export function registerPurge(program: Command, ctx: CliContext): void {
  const command = program
    .command('purge')
    .description('purge every entry carrying one of the tags, from every tier of a running server')
    .addOption(new Option('--tags <tags>', 'comma-separated tags, e.g. user:42,catalog').argParser(tagsFlag('--tags')).makeOptionMandatory())
    .requiredOption('--namespace <namespace>', "namespace to purge, in the API key's tenant")
  addRemoteOptions(command).action(async (flags: PurgeFlags) => {
    const body = { tags: flags.tags, namespace: flags.namespace }
    const answer = await callServer({ url: flags.url, path: '/v1/purge', method: 'POST', body, token: flags.token })
    if (flags.json === true) {
      ctx.stdout.write(answer.text.endsWith('\n') ? answer.text : answer.text + '\n')
      return
    }
    const tags = invalidatedTags(answer.json) ?? flags.tags
    ctx.stdout.write(`purged every entry tagged ${tags.join(', ')} in namespace ${flags.namespace}, from every tier\n`)
  })
}

/** The tags the server says it purged (`{ purged: string[] }`), if it says so. */
function invalidatedTags(json: unknown): string[] | undefined {
  if (!isRecord(json) || !Array.isArray(json.purged)) return undefined
  const tags = json.purged.filter((tag): tag is string => typeof tag === 'string')
  return tags.length > 0 ? tags : undefined
}
