import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ServerProcess, superviseServer } from './child-process.js'

/** The shared Redis the tests may use (CI starts it), for tests that do not stop or kill it. */
export const TEST_REDIS_URL = process.env.TIERCACHE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** A redis-server process of the test's own, on a spare loopback port. */
export type RedisProcess = ServerProcess

/**
 * Starts `redis-server` on a spare port (nothing persisted), resolving once it answers PING.
 * @param args - extra arguments, e.g. `['--cluster-enabled', 'yes']`
 */
export async function startRedisServer(args: readonly string[] = [], port?: number): Promise<RedisProcess> {
  const chosen = port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-redis-'))
  const start = async () => {
    const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], {
      stdio: 'ignore',
    })
    await waitForPing(chosen)
    return child
  }
  return superviseServer(start, { port: chosen, url: `redis://127.0.0.1:${chosen}`, dir })
}

async function waitForPing(port: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await ping(port)) return
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function ping(port: number): Promise<boolean> {
  const { Socket } = await import('node:net')
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}
