// The http-cache suite's origin, served by node:http alone, in a process of its own (bench/lib/http-origin.js).
//
//   node bench/lib/origin-server.js     prints "listening <url>" once it listens
import { createServer } from 'node:http'
import { BODY, BODY_BYTES, COUNT_PATH, HEADERS, ROUTE, matchesEtag } from './http-origin.js'

let requests = 0
const server = createServer((request, response) => {
  if (request.url === COUNT_PATH) {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ requests }))
    return
  }
  if (request.url !== ROUTE || (request.method !== 'GET' && request.method !== 'HEAD')) {
    response.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('not found')
    return
  }
  requests++
  if (matchesEtag(request.headers['if-none-match'])) {
    response.writeHead(304, { 'cache-control': HEADERS['cache-control'], etag: HEADERS.etag }).end()
    return
  }
  response.writeHead(200, { ...HEADERS, 'content-length': BODY_BYTES })
  response.end(request.method === 'HEAD' ? undefined : BODY)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`))
process.on('SIGTERM', () => process.exit(0))
