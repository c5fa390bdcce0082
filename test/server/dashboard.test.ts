/**
 * The dashboard's routes without a browser: what is served, with which headers, and that the page
 * itself holds nothing a CSP without 'unsafe-inline' would block. The page in a browser:
 * dashboard.browser.test.ts.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { DASHBOARD_CSP } from '../../src/server/routes/dashboard.js'
import { type OwnServer, buildKeyedServer, expectError } from './helpers.js'

let server: OwnServer
beforeAll(async () => {
  server = await buildKeyedServer({ cache: createCache({ l3: false }), closeCacheOnClose: true })
})
afterAll(() => server.close())

const ASSETS = [
  ['/dashboard', /^text\/html; charset=utf-8$/],
  ['/dashboard/app.js', /^text\/javascript; charset=utf-8$/],
  ['/dashboard/style.css', /^text\/css; charset=utf-8$/],
  ['/dashboard/favicon.svg', /^image\/svg\+xml$/],
  ['/dashboard/uplot.js', /^text\/javascript; charset=utf-8$/],
  ['/dashboard/uplot.css', /^text\/css; charset=utf-8$/],
] as const

describe('GET /dashboard', () => {
  it('serves the page, its script, its style sheet and uPlot without a key, each with the security headers', async () => {
    for (const [url, type] of ASSETS) {
      const response = await server.app.inject({ url })
      expect(response.statusCode, url).toBe(200)
      expect(response.headers['content-type'], url).toMatch(type)
      expect(response.headers['content-security-policy'], url).toBe(DASHBOARD_CSP)
      expect(response.headers['x-content-type-options'], url).toBe('nosniff')
      expect(response.headers['x-frame-options'], url).toBe('DENY')
      expect(response.headers['referrer-policy'], url).toBe('no-referrer')
      expect(response.headers['cache-control'], url).toBe('no-cache')
      expect(response.headers.etag, url).toMatch(/^"[\w-]{27}"$/)
    }
    const uplot = await server.app.inject({ url: '/dashboard/uplot.js' })
    expect(uplot.body).toBe(readFileSync(new URL('../../node_modules/uplot/dist/uPlot.iife.min.js', import.meta.url), 'utf8'))
  })

  it('allows scripts, styles and requests from its own origin only, and no framing', () => {
    const directives = new Map(DASHBOARD_CSP.split(';').map((directive) => {
      const [name = '', ...values] = directive.trim().split(/\s+/)
      return [name, values.join(' ')]
    }))
    expect(directives.get('default-src')).toBe("'none'")
    for (const name of ['script-src', 'style-src', 'connect-src', 'img-src']) expect(directives.get(name), name).toBe("'self'")
    expect(directives.get('frame-ancestors')).toBe("'none'")
    expect(directives.get('form-action')).toBe("'none'")
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/)
  })

  it('holds no inline script, event handler or style attribute, which the policy would block', async () => {
    const html = (await server.app.inject({ url: '/dashboard' })).body
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBe(2)
    for (const [, attributes = '', text] of scripts) {
      expect(attributes).toMatch(/\bsrc="dashboard\/[\w.]+\.js"/)
      expect(text).toBe('')
    }
    expect(html).not.toMatch(/\son\w+=|\sstyle=|javascript:/i)
    // Relative references, so that a proxy may mount the server under a prefix.
    expect(html).not.toMatch(/(src|href)="\//)
  })

  it('answers 304 to a client holding the current version', async () => {
    const first = await server.app.inject({ url: '/dashboard/app.js' })
    const again = await server.app.inject({ url: '/dashboard/app.js', headers: { 'if-none-match': String(first.headers.etag) } })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
    expect(again.headers['content-security-policy']).toBe(DASHBOARD_CSP)
    const changed = await server.app.inject({ url: '/dashboard/app.js', headers: { 'if-none-match': '"other"' } })
    expect(changed.statusCode).toBe(200)
  })

  it('redirects /dashboard/ to /dashboard, relatively; other paths under it are 404, other methods 405', async () => {
    const slash = await server.app.inject({ url: '/dashboard/' })
    expect(slash.statusCode).toBe(308)
    expect(slash.headers.location).toBe('../dashboard')
    expect(new URL(String(slash.headers.location), 'http://h/prefix/dashboard/').pathname).toBe('/prefix/dashboard')
    expectError(await server.app.inject({ url: '/dashboard/secrets.json' }), 404, 'TC_NOT_FOUND')
    // What the key form would send if its script did not run (CSP form-action 'none' stops it first).
    expectError(await server.app.inject({ method: 'POST', url: '/dashboard', payload: { key: 'x' } }), 405, 'TC_METHOD_NOT_ALLOWED')
  })

  it('is behind the same credentials: the data it reads needs a key', async () => {
    expectError(await server.app.inject({ url: '/v1/stats' }), 401, 'TC_UNAUTHORIZED')
    expect((await server.inject({ url: '/v1/stats' })).statusCode).toBe(200)
  })

  it('is not served with dashboard: false', async () => {
    const off = await buildKeyedServer({ cache: createCache({ l3: false }), closeCacheOnClose: true, dashboard: false })
    try {
      expectError(await off.app.inject({ url: '/dashboard' }), 404, 'TC_NOT_FOUND')
      expectError(await off.app.inject({ url: '/dashboard/uplot.js' }), 404, 'TC_NOT_FOUND')
    } finally {
      await off.close()
    }
  })
})
