// The http-cache suite's origin: one route answering a fixed ~1 KB JSON body that any shared cache
// may keep for an hour (`Cache-Control: public, max-age=3600`), with a strong ETag, and a 304 to a
// matching `If-None-Match`. The origin server (bench/lib/origin-server.js) and the Fastify app
// (bench/lib/fastify-app.js) answer this same route, with the same bytes and headers.
//
// Both count the requests their route answers and tell the count at COUNT_PATH (never cacheable), so
// that the suite can check that no cached row reaches them under load.
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'

/** The route every row is loaded on. */
export const ROUTE = '/api/products/48213'

/** Where the origin and the Fastify app tell how many requests their route has answered, as `{ "requests": n }`. */
export const COUNT_PATH = '/__bench/requests'

/** A product with nine offers: 993 bytes of JSON. */
export const BODY = JSON.stringify({
  id: 48213,
  sku: 'TC-48213-BLU',
  name: 'Tiered storage shelf, 5 levels, powder-coated steel',
  description: 'A freestanding shelf with five adjustable levels, each holding up to 80 kg; bolts and wall anchors included.',
  price: { amount: 129.9, currency: 'EUR', vatIncluded: true },
  tags: ['storage', 'garage', 'steel', 'adjustable'],
  rating: { average: 4.6, count: 1287 },
  offers: Array.from({ length: 9 }, (_, i) => ({ seller: `seller-${101 + i}`, price: 129.9 + i * 2.5, stock: 40 - i * 3, shipsIn: `${1 + (i % 3)}d` })),
  updatedAt: '2026-11-30T08:15:00.000Z',
})

/** The headers of the route's 200. */
export const HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'public, max-age=3600',
  etag: `"${createHash('sha256').update(BODY).digest('base64url').slice(0, 27)}"`,
})

/** The body's size in bytes. */
export const BODY_BYTES = Buffer.byteLength(BODY)

/** Whether `ifNoneMatch` (a request's `If-None-Match`) matches the route's ETag (RFC 9110 §13.1.2, weak comparison). */
export function matchesEtag(ifNoneMatch) {
  if (typeof ifNoneMatch !== 'string') return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === HEADERS.etag)
}
