import { dirname, join } from 'node:path'
import { type Command, Option } from 'commander'
import { DEFAULT_KEY_FILE, InvalidOptionsError, createCache } from '../../index.js'
import { rotateKeyRingFile } from '../../security/crypto/key-file.js'
import type { CliContext } from '../context.js'
import { type StorageFlags, chooseL3, postgresOption, sqliteOption } from '../storage.js'

interface ReencryptFlags extends StorageFlags {
  readonly redis?: string
  readonly json?: boolean
}

/**
 * `tiercache reencrypt`: after a key rotation (a new current key in `TIERCACHE_KEYS`, or in the key
 * file by `rotateKeyRingFile`), seals every non-public entry of L2 and L3 with the current key, so
 * that the old key can later be retired. It works on the storage straight away (the same flags as
 * `serve`): values do not change, so running servers' L1 need not hear of it, and each rewrite is a
 * compare-and-set, so it can run while they serve.
 */
export function registerEncryption(program: Command, ctx: CliContext): void {
  registerRotateKey(program, ctx)
  program
    .command('reencrypt')
    .description("seal every tenant and user entry of L2 and L3 with the key ring's current key (after a rotation)")
    .addOption(postgresOption('L3 in PostgreSQL (takes precedence over --sqlite from the environment)'))
    .addOption(sqliteOption('L3 in this SQLite file, when no PostgreSQL URL is given'))
    .addOption(new Option('--redis <url>', 'L2 in Redis').env('REDIS_URL'))
    .option('--json', 'print the counts as JSON')
    .action(async (flags: ReencryptFlags, command: Command) => {
      const cache = createCache({
        l1: false,
        ...(flags.redis === undefined ? {} : { l2: { redis: flags.redis, bus: false, lock: false } }),
        l3: chooseL3(flags, command),
      })
      try {
        const report = await cache.reencrypt()
        if (flags.json === true) ctx.stdout.write(`${JSON.stringify(report)}\n`)
        else {
          ctx.stdout.write(
            `re-encrypted ${report.rewritten} of ${report.examined} tenant and user entries` +
              ` (${report.unreadable} under a key this ring lacks, ${report.corrupt} corrupt: left as they are)\n`,
          )
        }
      } finally {
        await cache.close()
      }
    })
}

/**
 * `tiercache rotate-key`: on the embedded default, adds a new random key to the key file beside the
 * SQLite file and makes it current (the old keys stay, so that existing entries stay readable).
 * Running servers keep the ring they loaded: restart them, then run `tiercache reencrypt`.
 * Deployments that pass the ring in `TIERCACHE_KEYS` rotate it there instead.
 */
function registerRotateKey(program: Command, ctx: CliContext): void {
  program
    .command('rotate-key')
    .description('add a new current key to the key file beside the SQLite file (then restart servers and run reencrypt)')
    .addOption(sqliteOption('the SQLite file whose key file to rotate'))
    .option('--json', 'print the new ring (key ids only) as JSON')
    .action((flags: StorageFlags & { readonly json?: boolean }, command: Command) => {
      if (process.env.TIERCACHE_KEYS !== undefined && process.env.TIERCACHE_KEYS.trim() !== '') {
        throw new InvalidOptionsError('TIERCACHE_KEYS is set: the key ring comes from the environment; rotate it there (tiercache keygen prints a new key)')
      }
      const l3 = chooseL3(flags, command)
      if (!('sqlite' in l3)) throw new InvalidOptionsError('rotate-key works on the key file of the embedded default; with PostgreSQL, rotate TIERCACHE_KEYS')
      const ring = rotateKeyRingFile(join(dirname(l3.sqlite), DEFAULT_KEY_FILE))
      if (flags.json === true) ctx.stdout.write(`${JSON.stringify(ring.toJSON())}\n`)
      else ctx.stdout.write(`new current key ${ring.currentId} (keys: ${ring.ids.join(', ')}); restart servers, then run tiercache reencrypt\n`)
    })
}
