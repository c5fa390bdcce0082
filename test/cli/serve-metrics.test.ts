/**
 * `tiercache serve --metrics-port/--metrics-host`: the keyless metrics listener from the command
 * line, spawned as users run it (the built package).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../consumer/project.js'
import { freePort } from '../helpers/redis-server.js'
import { bin, cleanEnv, listening, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-serve-metrics-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(() => ensureBuilt(), 180_000)

/** The environment of `serve`, without the caller's metrics variables. */
function env(): NodeJS.ProcessEnv {
  const clean = cleanEnv()
  delete clean.TIERCACHE_METRICS_PORT
  delete clean.TIERCACHE_METRICS_HOST
  return clean
}

describe('tiercache serve --metrics-port', () => {
  it('serves GET /metrics without a key on the metrics port, says where, and stops on SIGTERM', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()]
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', join(dir, 'cache.db'), '--quiet', '--metrics-port', String(metricsPort)], {
      cwd: dir,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let out = ''
      const announced = new Promise<void>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          if (out.includes('/metrics\n')) resolve()
        })
      })
      expect(await listening(child)).toBe(`http://127.0.0.1:${port}`)
      await announced
      expect(out).toBe(`tiercache listening on http://127.0.0.1:${port}\nmetrics (no key) on http://127.0.0.1:${metricsPort}/metrics\n`)
      const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
      expect(scraped.status).toBe(200)
      expect(await scraped.text()).toContain('# TYPE tiercache_requests_total counter')
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401)
      child.kill('SIGTERM')
      const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])))
      expect(code).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  it('exits 2 naming --metrics-port when that port is in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const taken = (blocker.address() as { port: number }).port
    try {
      const run = spawnTiercache(['serve', '--port', '0', '--sqlite', join(dir, 'in-use.db'), '--quiet', '--metrics-port', String(taken)], dir, env())
      expect(run.stderr).toBe(
        `error TC_LISTEN_FAILED: cannot listen on 127.0.0.1:${taken} for the metrics listener: the port is in use by another process; ` +
          'stop the other server, or choose another port with --metrics-port (0 picks a free one)\n',
      )
      expect(run.code).toBe(2)
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it.each([
    [['serve', '--metrics-host', '0.0.0.0'], /^error TC_INVALID_OPTIONS: --metrics-host needs --metrics-port \(or TIERCACHE_METRICS_PORT\)/],
    [['serve', '--metrics-port', '70000'], /^error TC_INVALID_OPTIONS: --metrics-port must be an integer from 0 to 65535/],
  ])('exits 2 on the usage error %j', (args, message) => {
    const run = spawnTiercache(args, dir, env())
    expect(run.stderr).toMatch(message)
    expect(run.code).toBe(2)
  })
})
