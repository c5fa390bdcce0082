/**
 * `tiercache http-purge` against a server started in-process, whose cache an HTTP cache stores its
 * responses in (the http-cache harness): purges by surrogate key, URL and prefix, hard and soft,
 * reach them; what the server refuses exits with its code.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { buildServer } from '../../src/server/index.js'
import { type Mounted, mount } from '../http-cache/harness.js'
import { type KeyStore, openKeyStore } from '../server/helpers.js'
import { inProcess } from './run.js'

let store: KeyStore
let env: Mounted
let app: FastifyInstance
let url: string
let ops: string
let tenant: string

beforeAll(async () => {
  store = await openKeyStore()
  ops = (await store.createKey({ tenant: 'ops', roles: ['write', 'service'] })).key
  tenant = (await store.createKey()).key
  const cache = createCache({ l3: false })
  env = await mount({}, { cache })
  app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, http: env.httpCache })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  await env?.close()
  await store?.close()
})

/** `path` answers `<path> <n>`, fresh for 600 s, with a validator, and `headers` beside. */
function serve(path: string, headers: Record<string, string> = {}): void {
  env.origin.on(path, (req, n) =>
    req.headers['if-none-match'] === '"v"' ? { status: 304, headers: { etag: '"v"', 'cache-control': 'max-age=600' } } : { headers: { etag: '"v"', 'cache-control': 'max-age=600', ...headers }, body: `${path} ${n}` },
  )
}

describe('tiercache http-purge', () => {
  it('purges by surrogate keys (several after one flag, or the flag repeated), through the server of --server', async () => {
    serve('/p/1', { 'surrogate-key': 'p1' })
    serve('/p/2', { 'surrogate-key': 'p2' })
    serve('/p/3', { 'surrogate-key': 'p3' })
    for (const path of ['/p/1', '/p/2', '/p/3']) await env.request(path)
    const run = await inProcess(['http-purge', '--key', 'p1', 'p2', '--server', url, '--token', ops])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toBe(`purged the HTTP cache's responses of 2 surrogate keys (namespace http), in every tier and instance, through ${url}\n`)
    expect((await env.request('/p/1')).text).toBe('/p/1 2')
    expect((await env.request('/p/2')).text).toBe('/p/2 2')
    expect((await env.request('/p/3')).text).toBe('/p/3 1')
    const repeated = await inProcess(['http-purge', '--key', 'p1', '--key', 'p3', '--server', url, '--token', ops, '--json'])
    expect(JSON.parse(repeated.stdout)).toEqual({ namespace: 'http', tags: ['p1', 'p3'], soft: false })
    expect((await env.request('/p/3')).text).toBe('/p/3 2')
  })

  it('purges by URL and prefix, and with --soft marks stale: the next request revalidates', async () => {
    for (const path of ['/docs/a', '/docs/b', '/blog/x']) serve(path)
    for (const path of ['/docs/a', '/docs/b', '/blog/x']) await env.request(path)
    const run = await inProcess(['http-purge', '--url', `${env.origin.url}/blog/x`, '--prefix', `${env.origin.url}/docs`, '--soft', '--server', url, '--token', ops])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toBe(`marked stale the HTTP cache's responses of 1 URL, 1 prefix (namespace http), in every tier and instance, through ${url}\n`)
    for (const path of ['/docs/a', '/docs/b', '/blog/x']) {
      const answer = await env.request(path)
      expect(answer.text).toBe(`${path} 1`)
      expect(answer.headers.get('cache-status')).toContain('fwd=stale; fwd-status=304')
    }
    const other = await inProcess(['http-purge', '--url', `${env.origin.url}/blog/x`, '--namespace', 'pages', '--server', url, '--token', ops, '--json'])
    expect(JSON.parse(other.stdout)).toMatchObject({ namespace: 'pages', soft: false })
  })

  it('exits 2 when nothing is named; 1, with the server\'s code, when the server finds the purge invalid or refuses the key, or cannot be reached', async () => {
    const none = await inProcess(['http-purge', '--soft', '--server', url, '--token', ops])
    expect(none.code).toBe(2)
    expect(none.stderr).toBe('error TC_INVALID_OPTIONS: name what to purge: --key, --url or --prefix (each takes one or more values)\n')
    const relative = await inProcess(['http-purge', '--url', '/relative', '--server', url, '--token', ops])
    expect(relative.code).toBe(1)
    expect(relative.stderr).toMatch(/^error TC_INVALID_OPTIONS: invalid purge: .* \(HTTP 400 from .*\/v1\/http\/purge\)\n$/s)
    const forbidden = await inProcess(['http-purge', '--key', 'p1', '--server', url, '--token', tenant])
    expect(forbidden.code).toBe(1)
    expect(forbidden.stderr).toMatch(/^error TC_FORBIDDEN: the HTTP cache is shared by every tenant/)
    const anonymous = await inProcess(['http-purge', '--key', 'p1', '--server', url])
    expect(anonymous.code).toBe(1)
    expect(anonymous.stderr).toMatch(/^error TC_UNAUTHORIZED: /)
    const unreachable = await inProcess(['http-purge', '--key', 'p1', '--server', 'http://127.0.0.1:1', '--token', ops])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/^error TC_SERVER_UNREACHABLE: /)
  })
})
