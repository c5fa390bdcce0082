import { randomBytes } from 'node:crypto'
import { type Command, Option } from 'commander'
import { InvalidOptionsError } from '../../errors.js'
import { KeyRing } from '../../index.js'
import type { CliContext } from '../context.js'

/** Bytes of a master key: AES-256 (see `MASTER_KEY_BYTES` of the key ring). */
const KEY_BYTES = 32

/**
 * `tiercache keygen [--id <id>]`: prints one new master key as an entry of `TIERCACHE_KEYS`,
 * `<id>:<base64 of 32 random bytes>`, and nothing else, so that it composes in a shell:
 *
 * ```sh
 * export TIERCACHE_KEYS=$(tiercache keygen)                          # a first ring
 * export TIERCACHE_KEYS="$TIERCACHE_KEYS,$(tiercache keygen --id k2)"  # rotation: k2 becomes current
 * ```
 *
 * The key is checked by building a ring from it, as the server will (`KeyRing.from`).
 */
export function registerKeygen(program: Command, ctx: CliContext): void {
  program
    .command('keygen')
    .description('print a new encryption key as an entry of TIERCACHE_KEYS (id:base64key)')
    .addOption(new Option('--id <id>', 'the key id, 1 to 32 of A-Z a-z 0-9 . _ - (the last entry of TIERCACHE_KEYS is the current key)').default('k1'))
    .action((flags: { readonly id: string }) => {
      const key = randomBytes(KEY_BYTES)
      try {
        KeyRing.from([{ id: flags.id, key }])
      } catch (error) {
        throw error instanceof InvalidOptionsError ? new InvalidOptionsError(`--id: ${error.message}`) : error
      }
      ctx.stdout.write(`${flags.id}:${key.toString('base64')}\n`)
      key.fill(0)
    })
}
