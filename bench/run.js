// Entry of `npm run bench` (which builds first, then runs `node --expose-gc bench/run.js`).
//
//   node --expose-gc bench/run.js [--only <suite>[,<suite>...]] [--quick]
//
// Suites: l1, sqlite, postgres, stack, l2, rest, http-cache, ai-gateway, top-keys, history, ai-semantic, eviction. Env: BENCH_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test), BENCH_REDIS_URL (default redis://127.0.0.1:6379). The tables are markdown, ready to paste into
// docs/benchmarks.md. See that page for what each row measures.
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { URL } from 'node:url'
import { parseArgs } from 'node:util'
import { formatTable } from './lib/harness.js'
import l1 from './suites/l1-hit.js'
import l2 from './suites/l2.js'
import postgres from './suites/postgres.js'
import rest from './suites/rest.js'
import httpCache from './suites/http-cache.js'
import sqlite from './suites/sqlite.js'
import stack from './suites/stack.js'
import topKeys from './suites/top-keys.js'
import history from './suites/history.js'
import aiSemantic from './suites/ai-semantic.js'
import aiGateway from './suites/ai-gateway.js'
import eviction from './suites/eviction.js'

const SUITES = [l1, sqlite, postgres, stack, l2, rest, httpCache, aiGateway, topKeys, history, aiSemantic, eviction]

// Per-task budgets. The full run has ~45 tasks: about 2 s each with warm-up, plus filling the
// databases, keeps it under two minutes on 2 cores. --quick is for checking the suites work.
const TIMING = { time: 1500, warmupTime: 400 }
const QUICK_TIMING = { time: 200, warmupTime: 50 }

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help) {
  console.log(`usage: node --expose-gc bench/run.js [--only ${SUITES.map((s) => s.name).join('|')}[,...]] [--quick]`)
  process.exit(0)
}

const selected = selectSuites(values.only)
const timing = values.quick ? QUICK_TIMING : TIMING

printHeader()
let failed = 0
for (const suite of selected) {
  console.log(`\n## ${suite.title}\n`)
  const started = Date.now()
  try {
    const { rows, notes = [] } = await suite.run(timing)
    if (rows.length > 0) console.log(formatTable(rows) + '\n')
    console.log(notes.join('\n\n'))
  } catch (error) {
    // One suite failing (a tier mid-refactor, a database gone) must not hide the others' numbers.
    failed++
    console.log(`suite failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
  console.log(`\n(suite took ${((Date.now() - started) / 1000).toFixed(1)} s)`)
}
process.exitCode = failed > 0 ? 1 : 0

// Every suite closes what it opened, so the process should now exit on its own. If something was
// left open, say what instead of hanging silently (the timer itself does not keep the process up).
setTimeout(() => {
  console.error(`bench: still running 5 s after the last suite; open resources: ${process.getActiveResourcesInfo().join(', ')}`)
}, 5000).unref()

function selectSuites(only) {
  if (only === undefined) return SUITES
  const names = only.split(',').map((name) => name.trim())
  const unknown = names.filter((name) => !SUITES.some((suite) => suite.name === name))
  if (unknown.length > 0) {
    console.error(`unknown suite: ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}`)
    process.exit(2)
  }
  return SUITES.filter((suite) => names.includes(suite.name))
}

function printHeader() {
  const cpu = cpus()
  console.log('# tiercache benchmarks\n')
  console.log(`- date: ${new Date().toISOString()}`)
  console.log(`- node: ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}`)
  console.log(`- cpu: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`)
  // Other processes busy on the machine show up as noise (wide p99, large ±): note the load.
  console.log(`- load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`)
  console.log(`- libraries: ${['tinybench', 'bentocache', 'cache-manager', 'keyv', 'ioredis', 'fastify', 'autocannon'].map((name) => `${name} ${versionOf(name)}`).join(', ')}`)
  console.log(`- per task: ${timing.warmupTime} ms warm-up, ${timing.time} ms measured${values.quick ? ' (--quick: rough numbers)' : ''}`)
  if (typeof global.gc !== 'function') console.log('- note: run with --expose-gc for a GC between tasks')
}

// Read from node_modules directly: some packages' `exports` do not expose package.json.
function versionOf(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
  } catch {
    return '?'
  }
}
