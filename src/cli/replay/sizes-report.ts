import { formatDuration, formatFields, formatInteger, formatPercent, formatTable } from '../format.js'
import type { SizingReport } from './sizes.js'

/** A sizing replay as a table, one row per L1 size and a column per eviction policy, for people. */
export function formatSizing(report: SizingReport): string {
  const evictions = [...new Set(report.points.map((point) => point.eviction))]
  const sizes = [...new Set(report.points.map((point) => point.entries))]
  const ratio = (entries: number, eviction: string) => report.points.find((point) => point.entries === entries && point.eviction === eviction)?.hitRatio
  const rows: string[][] = [['L1 entries', ...evictions]]
  for (const entries of sizes) rows.push([formatInteger(entries), ...evictions.map((eviction) => formatPercent(ratio(entries, eviction) ?? 0))])
  return [
    formatFields([
      ['trace', report.trace],
      ['requests', formatInteger(report.requests)],
      ['replay', `one pass, ${formatDuration(report.elapsedMs)}: ${formatInteger(Math.round(report.l1RequestsPerSecond))} L1 requests/s over ${formatInteger(report.points.length)} L1${report.points.length === 1 ? '' : 's'}`],
    ]),
    '',
    formatTable(rows, ['right', ...evictions.map(() => 'right' as const)]),
    '(hit ratios of L1 alone, unit-size entries bounded by count)',
  ].join('\n')
}
