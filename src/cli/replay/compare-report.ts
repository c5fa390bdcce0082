import { formatBytes, formatFields, formatInteger, formatPercent, formatSpan, formatTable } from '../format.js'
import type { ComparisonReport, RunTtl } from './compare.js'

function ttlText(ttl: RunTtl): string {
  return ttl.minMs === ttl.maxMs ? formatSpan(ttl.maxMs) : `${formatSpan(ttl.minMs)} .. ${formatSpan(ttl.maxMs)}`
}

const sameTtl = (a: RunTtl, b: RunTtl) => a.minMs === b.minMs && a.maxMs === b.maxMs && a.graceMs === b.graceMs

/** A comparison as a few aligned lines and one row per run, for people. */
export function formatComparison(report: ComparisonReport): string {
  const { setup } = report
  const l1 = setup.l1 === false ? 'none' : `memory, ${formatInteger(setup.l1.maxEntries)} entries / ${formatBytes(setup.l1.maxBytes)}`
  const context = Object.entries(setup.context).map(([key, value]) => `${key}=${String(value)}`)
  const header = formatFields([
    ['trace', report.trace + (setup.workload === null ? '' : ` (seed ${setup.workload.seed})`)],
    ['L1', l1],
    ['L3', setup.l3],
    ['clock', `virtual, ${formatInteger(setup.ratePerSecond)} requests/s, ${setup.start} to ${setup.end}`],
    ...(setup.role === null && context.length === 0
      ? []
      : ([['calls', [setup.role === null ? '' : `role ${setup.role}`, ...context].filter((text) => text !== '').join(', ')]] as const)),
    ['requests', `${formatInteger(report.requests)} (${formatInteger(report.uniqueKeys)} unique keys)`],
  ])
  let seasonal = false
  const rows: string[][] = [['run', 'ttl', 'grace', 'hit ratio', 'L1', 'L3', 'stale', 'origin calls']]
  for (const run of report.runs) {
    const steady = sameTtl(run.ttlAtStart, run.ttlAtEnd)
    seasonal ||= !steady
    const ttl = steady ? ttlText(run.ttlAtStart) : `${ttlText(run.ttlAtStart)} → ${ttlText(run.ttlAtEnd)}`
    rows.push([
      run.label,
      ttl,
      run.ttlAtStart.graceMs === 0 ? '0' : formatSpan(run.ttlAtStart.graceMs),
      formatPercent(run.hitRatio),
      formatPercent(run.l1HitRatio),
      setup.l3 === 'none' ? '-' : formatPercent(run.l3HitRatio),
      formatInteger(run.staleServed),
      formatInteger(run.originCalls),
    ])
  }
  const warnings = report.runs
    .filter((run) => run.tierErrors > 0)
    .map((run) => `warning: run ${run.label}: a tier failed ${formatInteger(run.tierErrors)} times; its figures are not reliable`)
  return [
    header,
    '',
    formatTable(rows, ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right']),
    '(hit ratios are fractions of all requests' + (seasonal ? '; a ttl "a → b" changed with a season between the first request and the last)' : ')'),
    '',
    formatFields([['best possible', `${formatPercent(report.maxHitRatio)} (every key's first request misses)`]]),
    ...warnings,
  ].join('\n')
}
