// The http-cache suite's memory-only proxy: tiercache's reverse proxy (`startProxy` from the build in
// dist/, as `tiercache proxy` runs it) on `createCache({ l3: false })`, L1 alone. `tiercache proxy`
// always opens an L3 (SQLite by default); this row shows whether a hit pays anything for it.
//
//   node bench/lib/proxy-server.js <origin-url>     prints "listening <url>" once it listens
import { createCache } from 'tiercache'
import { startProxy } from 'tiercache/http-cache'

const origin = process.argv[2]
if (origin === undefined) {
  process.stderr.write('usage: node bench/lib/proxy-server.js <origin-url>\n')
  process.exit(2)
}
const cache = createCache({ l3: false })
const proxy = await startProxy({ cache, origin, http: { onError: (error) => process.stderr.write(`warning: ${error instanceof Error ? error.message : String(error)}\n`) } })
process.stdout.write(`listening ${proxy.url}\n`)
process.on('SIGTERM', () => void proxy.close().then(() => cache.close()).then(() => process.exit(0)))
