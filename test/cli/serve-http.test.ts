/**
 * `tiercache serve --http-origin`: the reverse proxy run in the server's process on its cache,
 * spawned as users run it (the built package): requests through the proxy show in /v1/stats and
 * /metrics, a REST purge reaches its responses, a signal stops both, and a failed start releases
 * what it opened.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../consumer/project.js'
import { type TestOrigin, startOrigin } from '../http-cache/harness.js'
import { freePort } from '../helpers/redis-server.js'
import { Exposition } from '../metrics/exposition.js'
import { bin, cleanEnv, spawnTiercache } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-serve-http-'))
let origin: TestOrigin
beforeAll(async () => {
  ensureBuilt()
  origin = await startOrigin()
}, 180_000)
afterAll(async () => {
  await origin?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** `tiercache serve --port <free> --sqlite <db> <extra>`, once both the server and the proxy listen. */
async function serveHttp(db: string, extra: readonly string[]) {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--sqlite', db, ...extra], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  // The signal when it died of one: a crash should say which.
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  const ready = new Promise<{ url: string; proxy: string }>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const url = /tiercache listening on (\S+)/.exec(output)?.[1]
      const proxy = /HTTP cache proxy on (\S+) \(for /.exec(output)?.[1]
      if (url !== undefined && proxy !== undefined) resolve({ url, proxy })
    })
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${output}`)))
  })
  try {
    const { url, proxy } = await ready
    return {
      url,
      proxy,
      output: () => output,
      async stop(): Promise<number | string | null> {
        child.kill('SIGTERM')
        return exited
      },
    }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}

describe('tiercache serve --http-origin', () => {
  it('serves the proxy on the same cache: its counts in /v1/stats and /metrics, its responses purged through REST', async () => {
    const db = join(dir, 'cache.db')
    const created = spawnTiercache(['keys', 'create', '--tenant', 'ops', '--roles', 'read,write,admin,service', '--json', '--sqlite', db], dir)
    expect(created.code, created.stderr).toBe(0)
    const { key } = JSON.parse(created.stdout) as { key: string }
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
    origin.on('/products/1', (_req, n) => ({ headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'product-1' }, body: `product ${n}` }))
    const server = await serveHttp(db, ['--quiet', '--http-origin', origin.url, '--http-port', '0'])
    let code: number | string | null
    try {
      expect(server.proxy).not.toBe(server.url)
      const first = await fetch(`${server.proxy}/products/1`)
      expect(first.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200; ttl=600; stored')
      expect(await first.text()).toBe('product 1')
      const second = await fetch(`${server.proxy}/products/1`)
      expect(second.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(await second.text()).toBe('product 1')

      const stats = (await (await fetch(`${server.url}/v1/stats`, { headers })).json()) as { http?: { rows: { group: string; hit: number; miss: number }[]; totals: { responses: number; hitRatio: number } } }
      expect(stats.http?.rows).toEqual([expect.objectContaining({ group: '/products', hit: 1, miss: 1 })])
      expect(stats.http?.totals).toMatchObject({ responses: 2, hitRatio: 0.5 })
      const metrics = new Exposition(await (await fetch(`${server.url}/metrics`, { headers })).text())
      expect(metrics.value('tiercache_http_responses_total', { group: '/products', outcome: 'hit' })).toBe(1)

      const purged = await fetch(`${server.url}/v1/http/purge`, { method: 'POST', headers, body: JSON.stringify({ urls: [`${origin.url}/products/1`] }) })
      expect(purged.status).toBe(200)
      expect(await purged.json()).toMatchObject({ namespace: 'http', soft: false })
      expect(await (await fetch(`${server.proxy}/products/1`)).text()).toBe('product 2')
      expect(origin.hits('/products/1')).toBe(2)
    } finally {
      code = await server.stop()
    }
    expect(code).toBe(0)
    expect(server.output()).toContain('SIGTERM: closing the HTTP proxy, the server and the cache')
    // Both listeners are gone.
    await expect(fetch(`${server.proxy}/products/1`)).rejects.toThrow()
    await expect(fetch(`${server.url}/health`)).rejects.toThrow()
  })

  it('exits 2 when the proxy cannot listen, naming --http-port, having released the server\'s port and the database', async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const taken = (busy.address() as { port: number }).port
    const port = await freePort()
    const db = join(dir, 'busy.db')
    try {
      const run = spawnTiercache(['serve', '--port', String(port), '--sqlite', db, '--http-origin', origin.url, '--http-port', String(taken)], dir)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`error TC_LISTEN_FAILED: cannot listen on 127.0.0.1:${taken}: the port is in use by another process (the HTTP proxy of --http-origin); stop the other server, or choose another port with --http-port`)
    } finally {
      await new Promise((resolve) => busy.close(resolve))
    }
    // The same ports and database serve again: nothing was left open.
    const again = await serveHttp(db, ['--quiet', '--http-origin', origin.url, '--http-port', String(taken)])
    expect(again.proxy).toBe(`http://127.0.0.1:${taken}`)
    const stopped = await again.stop()
    expect(stopped, again.output()).toBe(0)
  })

  it('refuses --http-port without --http-origin, and an origin that is not an http(s) URL, exit 2', () => {
    const alone = spawnTiercache(['serve', '--port', '0', '--sqlite', join(dir, 'alone.db'), '--http-port', '4300'], dir)
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain('--http-port needs --http-origin')
    const ftp = spawnTiercache(['serve', '--port', '0', '--sqlite', join(dir, 'ftp.db'), '--http-origin', 'ftp://origin.example'], dir)
    expect(ftp.code).toBe(2)
    expect(ftp.stderr).toContain('--http-origin must be an http or https URL')
  })
})
