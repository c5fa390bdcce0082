/**
 * The dashboard: a static page (src/server/dashboard/, copied to dist/ by the build) and uPlot, served
 * from this package's dependency. The page holds no data and needs no key; it asks the user for one and
 * reads `GET /v1/stats` with it, so it is behind exactly the credentials the API is.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'

/** One file the dashboard serves. */
interface Asset {
  readonly body: Buffer
  readonly type: string
  readonly etag: string
}

/** Where each path's file is: the page's own files, and uPlot's from node_modules. */
function assetFiles(): ReadonlyMap<string, { readonly file: string; readonly type: string }> {
  const own = join(dirname(fileURLToPath(import.meta.url)), '../dashboard')
  // uPlot has no `exports` map: its dist/ files resolve by path, wherever npm put the package.
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'))
  return new Map([
    ['/dashboard', { file: join(own, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/dashboard/app.js', { file: join(own, 'app.js'), type: 'text/javascript; charset=utf-8' }],
    ['/dashboard/style.css', { file: join(own, 'style.css'), type: 'text/css; charset=utf-8' }],
    // Named by the page, so that the browser does not ask for /favicon.ico (a 404 in its console).
    ['/dashboard/favicon.svg', { file: join(own, 'favicon.svg'), type: 'image/svg+xml' }],
    ['/dashboard/uplot.js', { file: join(uplot, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['/dashboard/uplot.css', { file: join(uplot, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }],
  ])
}

let loaded: ReadonlyMap<string, Asset> | undefined

/** The files, read once per process: about 60 KB, and they do not change while it runs. */
function assets(): ReadonlyMap<string, Asset> {
  if (loaded === undefined) {
    const read = new Map<string, Asset>()
    for (const [path, { file, type }] of assetFiles()) {
      const body = readFileSync(file)
      read.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` })
    }
    loaded = read
  }
  return loaded
}

/**
 * The Content-Security-Policy of every dashboard answer: scripts, styles and requests from this origin
 * only, no inline script or style attribute, no framing (clickjacking), and no form submission (the key
 * form is handled by the script; without it, nothing is sent anywhere).
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Headers of every dashboard answer, the redirect included. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  // Revalidated on every load: an upgraded server serves its new page at once, and an unchanged one
  // answers 304 without the body.
  reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').header('etag', asset.etag)
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
  return reply.type(asset.type).send(asset.body)
}

/**
 * Registers the dashboard, open like `/health` (the data it shows needs a key with the read role):
 * - `GET /dashboard` → the page (HTML); `GET /dashboard/` → 308 to it;
 * - `GET /dashboard/app.js`, `/dashboard/style.css`, `/dashboard/favicon.svg` → its script, style sheet and icon;
 * - `GET /dashboard/uplot.js`, `/dashboard/uplot.css` → uPlot (the `uplot` dependency's dist/ files).
 *
 * Every answer carries {@link DASHBOARD_CSP}, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`
 * and `Referrer-Policy: no-referrer`, with an `ETag` (304 on `If-None-Match`).
 * @throws Error (answered 500 `TC_INTERNAL`) when a file is missing: a package built without `npm run build`
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  for (const path of assetFiles().keys()) {
    app.get(path, { schema: { hide: true } }, (request, reply) => {
      const asset = assets().get(path)
      if (asset === undefined) throw new Error(`no dashboard asset for ${path}`)
      return send(request, reply, asset)
    })
  }
  // Relative, so that the page keeps working behind a proxy that mounts the server under a prefix.
  app.get('/dashboard/', { schema: { hide: true } }, (_request, reply) => reply.headers(SECURITY_HEADERS).redirect('../dashboard', 308))
}
