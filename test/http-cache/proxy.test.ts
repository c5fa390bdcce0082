/**
 * `tiercache proxy`: the reverse proxy spawned as users run it (the built package), in front of an
 * origin the test starts, with the embedded SQLite L3 (so stored responses go through the codec).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { get } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bin, cleanEnv, listening, spawnTiercache } from '../cli/run.js'
import { ensureBuilt } from '../consumer/project.js'
import { freePort } from '../helpers/redis-server.js'
import { type TestOrigin, startOrigin } from './harness.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-proxy-'))
let origin: TestOrigin
beforeAll(async () => {
  ensureBuilt()
  origin = await startOrigin()
}, 180_000)
afterAll(async () => {
  await origin.close()
  rmSync(dir, { recursive: true, force: true })
})

async function proxy(extra: readonly string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, [bin, 'proxy', '--origin', origin.url, '--port', String(port), '--sqlite', join(dir, `cache-${port}.db`), ...extra], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    return { child, url: await listening(child) }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  return exited
}

describe('tiercache proxy', () => {
  it('RFC 9111 §3, §4: stores a cacheable response from the origin and answers it again from the cache, with Cache-Status and Via', async () => {
    origin.on('/smoke', (_req, n) => ({ headers: { 'cache-control': 'max-age=60', 'content-type': 'application/json', etag: '"s"' }, body: JSON.stringify({ n }) }))
    const { child, url } = await proxy()
    try {
      const first = await request(`${url}/smoke`)
      expect(first.statusCode).toBe(200)
      expect(await first.body.json()).toEqual({ n: 1 })
      expect(first.headers['cache-status']).toBe('tiercache; fwd=miss; fwd-status=200; ttl=60; stored')
      expect(first.headers['via']).toBe('1.1 tiercache')
      const second = await request(`${url}/smoke`)
      expect(await second.body.json()).toEqual({ n: 1 })
      expect(second.headers['cache-status']).toMatch(/^tiercache; hit; ttl=\d+$/)
      expect(second.headers['content-type']).toBe('application/json')
      const conditional = await request(`${url}/smoke`, { headers: { 'if-none-match': '"s"' } })
      await conditional.body.dump()
      expect(conditional.statusCode).toBe(304)
      expect(origin.hits('/smoke')).toBe(1)
      expect(origin.seen('/smoke')[0]?.['via']).toBe('1.1 tiercache')
    } finally {
      expect(await stop(child)).toBe(0)
    }
  })

  it('RFC 9110 §7.6.1: hop-by-hop fields, and those Connection names, are not forwarded either way', async () => {
    origin.on('/hop', () => ({ headers: { connection: 'x-origin-hop', 'x-origin-hop': 'secret', 'x-end-to-end': 'kept', 'cache-control': 'no-store' }, body: 'hop' }))
    const { child, url } = await proxy(['--quiet'])
    try {
      // node:http rather than undici: undici does not send a Connection field of the caller's.
      const answer = await new Promise<{ headers: Record<string, unknown>; text: string }>((resolve, reject) => {
        get(`${url}/hop`, { headers: { connection: 'x-client-hop', 'x-client-hop': 'secret', 'x-client-end': 'kept' } }, (res) => {
          let text = ''
          res.on('data', (chunk: Buffer) => (text += chunk.toString()))
          res.on('end', () => resolve({ headers: res.headers, text }))
        }).on('error', reject)
      })
      expect(answer.text).toBe('hop')
      expect(answer.headers['x-origin-hop']).toBeUndefined()
      expect(answer.headers['x-end-to-end']).toBe('kept')
      const seen = origin.seen('/hop')[0]
      expect(seen?.['x-client-hop']).toBeUndefined()
      expect(seen?.['x-client-end']).toBe('kept')
    } finally {
      await stop(child)
    }
  })

  it('--cache-post: a declared POST is stored by its body through the SQLite tier; a 304 without a body keeps the stored one (RFC 9110 §8.6)', async () => {
    origin.on('/find', (_req, n, body) => ({ headers: { 'cache-control': 'max-age=60' }, body: `${n}: ${body}` }))
    origin.on('/cl304', (req, n) => (req.headers['if-none-match'] === '"a"' ? { status: 304, headers: { etag: '"a"', 'content-length': '10' } } : { headers: { etag: '"a"', 'cache-control': 'max-age=0' }, body: `cl ${n}` }))
    const { child, url } = await proxy(['--cache-post', '/find'])
    try {
      const post = (body: string) => request(`${url}/find`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((answer) => answer.body.text())
      expect(await post('{"a":1,"b":2}')).toBe('1: {"a":1,"b":2}')
      expect(await post('{"b":2,"a":1}')).toBe('1: {"a":1,"b":2}')
      expect(await (await request(`${url}/cl304`)).body.text()).toBe('cl 1')
      const revalidated = await request(`${url}/cl304`)
      expect(await revalidated.body.text()).toBe('cl 1')
      expect(revalidated.headers['cache-status']).toBe('tiercache; fwd=stale; fwd-status=304; ttl=0; stored')
    } finally {
      expect(await stop(child)).toBe(0)
    }
    const bad = spawnTiercache(['proxy', '--origin', origin.url, '--cache-post', 'search', '--sqlite', join(dir, 'bad.db')], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--cache-post must be paths starting with /')
  })

  it('exits 2 naming the port when it cannot listen, and 2 for an origin that is not an http URL', async () => {
    const busy = createServer()
    const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)))
    try {
      const run = spawnTiercache(['proxy', '--origin', origin.url, '--port', String(port), '--sqlite', join(dir, 'busy.db')], dir)
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the port is in use by another process`)
    } finally {
      busy.close()
    }
    const bad = spawnTiercache(['proxy', '--origin', 'ftp://example.com', '--sqlite', join(dir, 'bad.db')], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--origin must be an http or https URL')
  })
})
