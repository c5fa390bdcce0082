// Summarise a results JSON (output of test-engine/cli.mjs) by kind, suite and result type.
// usage: node summarize.mjs <suite dir> results.json [--list]
import fs from 'node:fs'
import { pathToFileURL } from 'node:url'

const suiteDir = pathToFileURL(`${process.argv[2]}/`)
const { default: tests } = await import(new URL('tests/index.mjs', suiteDir).href)
const { determineTestResult, resultTypes } = await import(new URL('test-engine/lib/results.mjs', suiteDir).href)
const results = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
const list = process.argv.includes('--list')
const targeted = new Set(['cdn-cache-control', 'surrogate-control'])
const names = Object.fromEntries(Object.entries(resultTypes).map(([k, v]) => [v[2], k]))
const groups = {}
const failures = []
for (const suite of tests) {
  for (const t of suite.tests) {
    if (!(t.id in results)) continue
    const kind = t.kind || 'required'
    const group = targeted.has(suite.id) ? `${kind} [${suite.id}]` : kind
    const g = groups[group] ||= { total: 0, passed: 0, failed: 0, setup_fail: 0, dependency_fail: 0, other: 0 }
    g.total++
    const raw = results[t.id]
    const type = names[determineTestResult(tests, t.id, results)[2]]
    if (raw === true) g.passed++
    else g.failed++
    if (type === 'setup_fail') g.setup_fail++
    if (type === 'dependency_fail') g.dependency_fail++
    if (raw !== true) failures.push({ suite: suite.id, id: t.id, kind, type, detail: raw })
  }
}
const swr = ['stale-while-revalidate', 'stale-while-revalidate-window', 'stale-sie-close', 'stale-sie-503']
console.log('== by kind (passed = result true; failed includes setup/dependency failures) ==')
for (const [k, g] of Object.entries(groups)) {
  console.log(`${k.padEnd(32)} ${g.passed}/${g.total} passed, ${g.failed} failed (setup failures ${g.setup_fail}; results whose depends_on failed: ${g.dependency_fail})`)
}
console.log('== stale-while-revalidate / stale-if-error ==')
for (const id of swr) console.log(`${id.padEnd(32)} ${JSON.stringify(results[id])}`)
if (list) {
  console.log('== failures ==')
  for (const f of failures) console.log(`${f.kind.padEnd(8)} ${f.type.padEnd(15)} ${f.suite}/${f.id}: ${JSON.stringify(f.detail)}`)
}
