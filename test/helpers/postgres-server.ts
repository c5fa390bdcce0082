import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { freePort } from './redis-server.js'
import { type ServerProcess, superviseServer } from './child-process.js'

/** A PostgreSQL cluster of the test's own, in a temp folder on a spare port. */
export interface PostgresProcess extends ServerProcess {
  /** URL of its `postgres` database, as the `postgres` superuser (trust authentication). */
  readonly url: string
}

/** The folder of PostgreSQL's server programs (initdb, postgres), or undefined when none is installed. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  return versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'initdb')))
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

/**
 * Creates a cluster with initdb (no fsync: a test's data need not survive the machine) and starts it
 * on a spare loopback port, resolving once it accepts connections. Never the shared server on 5432.
 * @throws Error when PostgreSQL's server programs are not installed
 */
export async function startPostgresServer(): Promise<PostgresProcess> {
  const bin = postgresBinaries()
  if (bin === undefined) throw new Error('PostgreSQL server programs not found under /usr/lib/postgresql')
  const user = serverUser()
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-postgres-'))
  if (user !== undefined) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  execFileSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    stdio: 'ignore',
    ...user,
  })
  const port = await freePort()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const start = async (): Promise<ChildProcess> => {
    const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50']
    // After a crash the old backends may hold the shared memory for a moment: the new postmaster
    // then exits at once, and a later attempt succeeds.
    for (let attempt = 1; ; attempt++) {
      const child = spawn(join(bin, 'postgres'), args, { stdio: 'ignore', ...user })
      try {
        await waitUntilAccepting(url, child)
        return child
      } catch (error) {
        if (child.exitCode === null || attempt === 20) {
          child.kill('SIGKILL')
          throw error
        }
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
  }
  return superviseServer(start, { port, url, dir })
}

/** Resolves once `select 1` succeeds (after a crash, the server first recovers and refuses connections). */
async function waitUntilAccepting(url: string, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}`)
    const client = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => {} })
    try {
      await client`select 1`
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
    } finally {
      await client.end({ timeout: 1 })
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
