import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const registerTypeScript = pathToFileURL(fileURLToPath(new URL('../fixtures/register-ts.mjs', import.meta.url))).href

/** Absolute path of a file under test/fixtures/. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
}

/**
 * Starts `node` on a TypeScript fixture (transpiled on load by test/fixtures/ts-hooks.mjs), with
 * stdout and stderr piped.
 */
export function spawnTypeScript(script: string, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', registerTypeScript, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Resolves how the child ended: its exit code, or the signal that killed it. */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode })
      return
    }
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/**
 * Crash test: runs test/fixtures/crash-writer.ts, which writes entries `k0, k1, ...` one after the
 * other and prints `ack <i>` once `set` of `k<i>` has resolved, and SIGKILLs it once `minAcks`
 * acknowledgements have arrived, while it is still writing.
 * @returns the indexes acknowledged before the kill: each of those writes must have survived
 */
export async function crashWriterAfterAcks(tier: 'sqlite' | 'postgres', target: string, minAcks: number): Promise<number[]> {
  const child = spawnTypeScript(fixturePath('crash-writer.ts'), [tier, target])
  const exited = waitForExit(child)
  const acked: number[] = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  let pending = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const match = /^ack (\d+)$/.exec(line)
        if (match?.[1] !== undefined) acked.push(Number(match[1]))
      }
      if (acked.length >= minAcks) {
        child.kill('SIGKILL')
        resolve()
      }
    })
    void exited.then(({ code, signal }) => {
      if (acked.length < minAcks) reject(new Error(`writer ended early (code ${code}, signal ${signal}): ${stderr}`))
    })
  })
  const { signal } = await exited
  if (signal !== 'SIGKILL') throw new Error(`writer was not killed but ended with signal ${signal}: ${stderr}`)
  return acked
}

/** SIGKILLs `child` unless it has exited, and resolves once it has. */
export async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

/** A server of the test's own (redis-server, a PostgreSQL cluster) on a spare port, that the test may kill. */
export interface ServerProcess {
  readonly port: number
  readonly url: string
  /** Kills the server with SIGKILL (a crash), and waits for it to exit. */
  kill(): Promise<void>
  /** Starts it again on the same port and data, after {@link kill}; resolves once it serves. */
  restart(): Promise<void>
  /** Kills it and removes its folder. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts a server with `start` (which spawns it and resolves once it serves) and returns it as a
 * {@link ServerProcess}: `kill` SIGKILLs the current process, `restart` runs `start` again, `stop`
 * kills it and removes `dir`, the server's folder.
 */
export async function superviseServer(
  start: () => Promise<ChildProcess>,
  where: { readonly port: number; readonly url: string; readonly dir: string },
): Promise<ServerProcess> {
  let child: ChildProcess | undefined
  const launch = async () => {
    child = await start()
  }
  const kill = async () => {
    const running = child
    child = undefined
    await killChild(running)
  }
  await launch()
  return {
    port: where.port,
    url: where.url,
    kill,
    restart: launch,
    async stop() {
      await kill()
      rmSync(where.dir, { recursive: true, force: true })
    },
  }
}
