/**
 * A statistics report (`GET /v1/stats`) for people: `tiercache stats` prints {@link formatStatsReport}
 * (ending with {@link aiText} when the server has an AI gateway, and {@link httpText} when it has an HTTP
 * cache), `tiercache top` {@link formatTop}.
 * Never used for `--json`, which prints the server's answer as is.
 */
import type { AiStats, HttpStats, Latency, StatsReport, TierLevel } from '../metrics/stats/report.js'
import { type Align, formatBytes, formatDuration, formatFields, formatInteger, formatPercent, formatTable, formatUsd } from './format.js'

const LEVELS: readonly TierLevel[] = ['l1', 'l2', 'l3']

/** An ISO time without milliseconds. */
function time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Seconds (or null) as a duration that reads well, `-` when nothing was observed. */
function seconds(value: number | null): string {
  return value === null ? '-' : formatDuration(value * 1000)
}

function latencyText(latency: Latency): string {
  return latency.count === 0 ? 'none observed' : `p50 ${seconds(latency.p50)}  p95 ${seconds(latency.p95)}  p99 ${seconds(latency.p99)}`
}

/** `tenant acme, last 1h, 2 instances` */
export function headline(report: StatsReport): string {
  const who = 'tenant' in report.scope ? `tenant ${report.scope.tenant}` : 'the whole deployment'
  const when = report.history
    ? `last ${report.range} (${time(report.from)} to ${time(report.to)}), ${report.instances} instance${report.instances === 1 ? '' : 's'}`
    : `this instance since ${time(report.from)} (the server keeps no history)`
  return `${who}, ${when}`
}

const BARS = '▁▂▃▄▅▆▇█'

/** `values` as a line of block characters scaled to their largest, the newest `width` of them. */
export function sparkline(values: readonly (number | null)[], width = 60): string {
  const shown = values.slice(-width)
  const top = Math.max(0, ...shown.map((v) => v ?? 0))
  return shown.map((v) => (v === null || top === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / top) * (BARS.length - 1)))])).join('')
}

function reasons(counts: Readonly<Record<string, number>>): string {
  const listed = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${formatInteger(n)}`)
  return listed.length === 0 ? 'none' : listed.join(', ')
}

function money(costs: readonly { unit: string; amount: number }[]): string {
  return costs.length === 0 ? '-' : costs.map(({ unit, amount }) => `${Number(amount.toFixed(4))} ${unit}`).join(', ')
}

/** The report as `tiercache stats` prints it: totals, tiers, namespaces, suggestions, then the AI gateway's `ai` section if it has one. */
export function formatStatsReport(report: StatsReport): string {
  const { totals } = report
  const perSecond = report.history && report.to > report.from ? ` (${(totals.requests / ((report.to - report.from) / 1000)).toFixed(2)}/s)` : ''
  const fields: [string, string][] = [
    ['lookups', `${formatInteger(totals.requests)}${perSecond}`],
    ['hit ratio', `${formatPercent(totals.hitRatio)} (hits ${formatInteger(totals.hits)}, misses ${formatInteger(totals.misses)}, stale ${formatInteger(totals.staleHits)})`],
    ['miss reasons', reasons(totals.missReasons)],
    ['getOrSet', latencyText(totals.getOrSet.latency)],
    ['origin calls', `${formatInteger(totals.origin.calls)} (errors ${formatInteger(totals.origin.errors)}, timeouts ${formatInteger(totals.origin.timeouts)}), ${latencyText(totals.origin.latency)}`],
    ['calls saved', `${formatInteger(totals.origin.saved)}, cost saved ${money(totals.origin.costSaved)}`],
    ['writes', `${formatInteger(totals.writes)}, deletes ${formatInteger(totals.deletes)}, invalidations ${reasons(totals.invalidations)}`],
    ['evictions', reasons(totals.evictions)],
  ]
  if (report.series.t.length > 0) fields.push(['lookups/step', sparkline(report.series.requests)], ['hit ratio/step', sparkline(report.series.hitRatio.overall)])
  const sections = [headline(report), formatFields(fields), tiersTable(report)]
  if (report.namespaces.length > 0) sections.push(`busiest namespaces\n${namespacesTable(report, 10)}`)
  if (report.now.bus !== null) sections.push(`bus ${report.now.bus.listening ? 'listening' : 'deaf (L1 bypassed until it listens again)'}`)
  sections.push(suggestionsText(report))
  if (report.ai !== undefined) sections.push(aiText(report.ai))
  if (report.http !== undefined) sections.push(httpText(report.http))
  return sections.join('\n\n')
}

/**
 * The `ai` section: its totals, then a row per namespace, model and cache type (and tenant, in a
 * deployment report), as the server lists them. The AI cache keeps no history, whatever the range.
 */
export function aiText(ai: AiStats): string {
  const title = 'AI gateway (this instance, since it started)'
  const { totals } = ai
  const answered = Object.values(totals.answers).reduce((sum, n) => sum + n, 0)
  if (answered === 0 && ai.rows.length === 0) return `${title}: no answers yet`
  const line = [
    `answers ${formatInteger(answered)} (${reasons(totals.answers)})`,
    `hit ratio ${formatPercent(totals.hitRatio)} (hits ${formatInteger(totals.hits)}, misses ${formatInteger(totals.misses)})`,
    `tokens saved ${formatInteger(totals.tokensSaved)}`,
    `cost saved ${formatUsd(totals.costSavedUsd)}`,
  ].join(', ')
  const tenants = ai.rows.some((row) => row.tenant !== undefined)
  const rows: string[][] = [[...(tenants ? ['tenant'] : []), 'namespace', 'model', 'cache type', 'hits', 'misses', 'hit ratio', 'tokens saved', 'cost saved']]
  for (const row of ai.rows) {
    rows.push([
      ...(tenants ? [row.tenant ?? '-'] : []),
      row.namespace,
      row.model,
      row.cacheType,
      formatInteger(row.hits),
      formatInteger(row.misses),
      formatPercent(row.hitRatio),
      formatInteger(row.tokensSaved),
      formatUsd(row.costSavedUsd),
    ])
  }
  const align: Align[] = [...(tenants ? ['left' as const] : []), 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right']
  return ai.rows.length === 0 ? `${title}\n${line}` : `${title}\n${line}\n${formatTable(rows, align)}`
}

function tiersTable(report: StatsReport): string {
  const rows: string[][] = [['tier', 'kind', 'circuit', 'hits', 'hit ratio', 'served', 'read p50', 'p95', 'p99', 'errors', 'entries', 'bytes']]
  for (const level of LEVELS) {
    const tier = report.totals.tiers[level]
    const now = report.now.tiers[level]
    if (tier === undefined && now === undefined) continue
    rows.push([
      level,
      now?.kind ?? '-',
      now?.circuit ?? '-',
      formatInteger(tier?.hits ?? 0),
      formatPercent(tier?.hitRatio ?? 0),
      formatPercent(tier?.served ?? 0),
      seconds(tier?.latency.p50 ?? null),
      seconds(tier?.latency.p95 ?? null),
      seconds(tier?.latency.p99 ?? null),
      formatInteger(tier?.errors ?? 0),
      now?.entries === undefined ? '-' : formatInteger(now.entries),
      now?.bytes === undefined ? '-' : formatBytes(now.bytes),
    ])
  }
  const align: Align[] = ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']
  return formatTable(rows, align)
}

function namespacesTable(report: StatsReport, limit: number): string {
  const deployment = !('tenant' in report.scope)
  const rows: string[][] = [[...(deployment ? ['tenant'] : []), 'namespace', 'lookups', 'hit ratio', 'stale', 'origin calls', 'saved', 'cost saved', 'getOrSet p95']]
  for (const ns of report.namespaces.slice(0, limit)) {
    rows.push([
      ...(deployment ? [ns.tenant ?? '-'] : []),
      ns.namespace,
      formatInteger(ns.requests),
      formatPercent(ns.hitRatio),
      formatInteger(ns.staleHits),
      formatInteger(ns.originCalls),
      formatInteger(ns.saved),
      money(ns.costSaved),
      seconds(ns.getOrSetP95),
    ])
  }
  const align: Align[] = [...(deployment ? ['left' as const] : []), 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right']
  return formatTable(rows, align)
}

function suggestionsText(report: StatsReport): string {
  if (report.suggestions.length === 0) return 'suggestions: none'
  return ['suggestions', ...report.suggestions.map((s) => `  ${s.severity} ${s.code}: ${s.message}`)].join('\n')
}

/** The report as `tiercache top` prints it: the busiest keys, then the busiest namespaces. */
export function formatTop(report: StatsReport, limit: number): string {
  const deployment = !('tenant' in report.scope)
  const keys = report.topKeys.slice(0, limit)
  const sections = [headline(report)]
  if (keys.length === 0) sections.push(`top keys (this instance, since ${time(report.topKeysSince)}): none looked up yet`)
  else {
    const rows: string[][] = [['#', ...(deployment ? ['tenant'] : []), 'namespace', 'key', 'lookups', '± error', 'misses', 'ttl']]
    keys.forEach((hit, i) => {
      rows.push([
        String(i + 1),
        ...(deployment ? [hit.tenant ?? '-'] : []),
        hit.namespace,
        hit.key.length > 60 ? `${hit.key.slice(0, 59)}…` : hit.key,
        formatInteger(hit.count),
        formatInteger(hit.error),
        formatInteger(hit.misses),
        hit.ttlMs === undefined ? '-' : formatDuration(hit.ttlMs),
      ])
    })
    const align: Align[] = ['right', ...(deployment ? ['left' as const] : []), 'left', 'left', 'right', 'right', 'right', 'right']
    sections.push(`top keys (this instance, since ${time(report.topKeysSince)})\n${formatTable(rows, align)}`)
  }
  sections.push(report.namespaces.length === 0 ? 'busiest namespaces: none' : `busiest namespaces\n${namespacesTable(report, limit)}`)
  return sections.join('\n\n')
}

const HTTP_COLUMNS = ['hit', 'stale', 'revalidated', 'collapsed', 'miss', 'pass', 'error'] as const

/**
 * The `http` section (a deployment report of a server with an HTTP cache): its totals, then a row per
 * route group, busiest first, as the server lists them. Its counts keep no history, whatever the range.
 */
export function httpText(http: HttpStats): string {
  const title = 'HTTP cache (this instance, since it started)'
  const { totals } = http
  if (totals.responses === 0) return `${title}: no responses yet`
  const outcomes = HTTP_COLUMNS.filter((outcome) => totals[outcome] > 0).map((outcome) => `${outcome} ${formatInteger(totals[outcome])}`)
  const line = `responses ${formatInteger(totals.responses)} (${outcomes.join(', ')}), hit ratio ${formatPercent(totals.hitRatio)}`
  const rows: string[][] = [['route group', 'responses', ...HTTP_COLUMNS, 'hit ratio']]
  for (const row of http.rows) rows.push([row.group, formatInteger(row.responses), ...HTTP_COLUMNS.map((outcome) => formatInteger(row[outcome])), formatPercent(row.hitRatio)])
  const align: Align[] = ['left', ...Array.from({ length: HTTP_COLUMNS.length + 2 }, () => 'right' as const)]
  return `${title}\n${line}\n${formatTable(rows, align)}`
}
