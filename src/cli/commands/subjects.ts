import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { type Command, Option } from 'commander'
import { InvalidOptionsError, OutputFailedError, UnexpectedAnswerError, isTiercacheError } from '../../errors.js'
import type { CliContext } from '../context.js'
import { userIdFlag } from '../flags.js'
import { callServer, isRecord, streamFromServer } from '../http.js'
import { type RemoteFlags, addRemoteOptions } from './remote.js'

interface EraseFlags extends RemoteFlags {
  readonly user?: string
  readonly wholeTenant?: boolean
}

interface ExportFlags extends Omit<RemoteFlags, 'json'> {
  readonly user?: string
  readonly output?: string
}

/** The media type of `GET /v1/export`. */
const NDJSON = 'application/x-ndjson'

const NEWLINE = 0x0a

/**
 * `tiercache erase [--user <id>]` and `tiercache export [--user <id>] [--output <file>]`: GDPR erasure
 * and export of a user of the API key's tenant, or of the whole tenant, through a running server
 * (`--url`, `--token`; a key with the admin role). Erasure goes through the server, not straight to
 * the database, because every instance's in-process L1 must drop the entries too; export goes through
 * it for the same key, the same tenant and the same audit record.
 */
export function registerSubjects(program: Command, ctx: CliContext): void {
  registerErase(program, ctx)
  registerExport(program, ctx)
}

/**
 * `tiercache erase --user <id> | --whole-tenant`: `POST <url>/v1/erase` with `{ userId }`, or `{}` with
 * `--whole-tenant`, which erases the whole tenant of the key, its users included; one of the two is
 * required, so that a forgotten `--user` never wipes a tenant. Prints what was erased, or the
 * server's answer with `--json` (`{ erased: 'user' | 'tenant' }`).
 */
function registerErase(program: Command, ctx: CliContext): void {
  const command = program
    .command('erase')
    .description("erase every entry of a user of the API key's tenant (or of the whole tenant), from every tier of a running server")
    .addOption(new Option('--user <id>', 'the user to erase, as the application names it').argParser(userIdFlag('--user')).conflicts('wholeTenant'))
    .option('--whole-tenant', "erase the whole tenant of the API key, its users' entries included")
  addRemoteOptions(command).action(async (flags: EraseFlags) => {
    if (flags.user === undefined && flags.wholeTenant !== true) {
      throw new InvalidOptionsError('name the subject: --user <id>, or --whole-tenant to erase every entry of the tenant')
    }
    const body = flags.user === undefined ? {} : { userId: flags.user }
    const answer = await callServer({ url: flags.url, path: '/v1/erase', method: 'POST', body, token: flags.token })
    if (flags.json === true) {
      ctx.stdout.write(answer.text.endsWith('\n') ? answer.text : answer.text + '\n')
      return
    }
    const erased = isRecord(answer.json) ? answer.json.erased : undefined
    if (erased !== 'user' && erased !== 'tenant') throw new UnexpectedAnswerError(`the server at ${flags.url} answered something other than an erasure; is it a tiercache server?`)
    ctx.stdout.write(
      erased === 'user'
        ? "erased every entry of the user in the API key's tenant, from every tier and every server instance\n"
        : "erased every entry of the API key's tenant, its users' included, from every tier and every server instance\n",
    )
  })
}

/**
 * `tiercache export [--user <id>] [--output <file>]`: `GET <url>/v1/export[?userId=]`, written as it
 * arrives (NDJSON: one JSON object per entry and line) to stdout, or to `--output` (created with mode
 * 0600: it holds personal data), then `exported N entries to <file>` on stdout. An answer cut short
 * fails the command (exit 1), and a partial `--output` file is removed.
 */
function registerExport(program: Command, ctx: CliContext): void {
  const command = program
    .command('export')
    .description("export every entry of a user of the API key's tenant (or, without --user, of the whole tenant) from a running server, as NDJSON")
    .addOption(new Option('--user <id>', 'the user to export, as the application names it; without it, the whole tenant').argParser(userIdFlag('--user')))
    .option('--output <file>', 'write the export to this file (mode 0600) rather than to stdout')
  addRemoteOptions(command, { json: false }).action(async (flags: ExportFlags) => {
    const path = flags.user === undefined ? '/v1/export' : `/v1/export?userId=${encodeURIComponent(flags.user)}`
    const answer = await streamFromServer({ url: flags.url, path, token: flags.token }, NDJSON)
    if (!answer.contentType.toLowerCase().startsWith(NDJSON)) {
      throw new UnexpectedAnswerError(`the server at ${flags.url} answered ${answer.contentType || 'no content type'}, not an export; is it a tiercache server?`)
    }
    if (flags.output === undefined) {
      await copy(answer.chunks, ctx.stdout, flags.url)
      return
    }
    const file = createWriteStream(flags.output, { mode: 0o600 })
    try {
      await once(file, 'open')
      const lines = await copy(answer.chunks, file, flags.url)
      await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())))
      ctx.stdout.write(`exported ${lines} ${lines === 1 ? 'entry' : 'entries'} to ${flags.output}\n`)
    } catch (error) {
      file.destroy()
      // A partial export is of no use, and holds personal data.
      await rm(flags.output, { force: true })
      if (isTiercacheError(error)) throw error
      throw new OutputFailedError(`cannot write the export to ${flags.output}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  })
}

/**
 * Writes `chunks` to `out` as they come, waiting for `out` to drain when it asks to.
 * @returns the number of lines (entries) written
 * @throws UnexpectedAnswerError when the answer does not end with a complete line (it was cut short)
 */
async function copy(chunks: AsyncIterable<Uint8Array>, out: NodeJS.WritableStream, url: string): Promise<number> {
  let lines = 0
  let last: number | undefined
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) lines++
    last = chunk[chunk.length - 1]
    if (!out.write(chunk)) await once(out, 'drain')
  }
  if (last !== undefined && last !== NEWLINE) throw new UnexpectedAnswerError(`the export from ${url} ends in the middle of a line: it is incomplete`)
  return lines
}
