/**
 * docs/grafana-dashboard.json and docs/prometheus-alerts.yml: valid (promtool checks the rules, runs
 * their unit tests, and parses every query of the dashboard), and written with exactly the names a
 * real `/metrics` answer holds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { METRIC_CATALOGUE } from '../../src/metrics/prometheus.js'
import { Exposition } from './exposition.js'
import { type LiveServer, openLiveServer } from './live-server.js'
import { HAS_PROMTOOL, promtool, reportSkipped } from './promtool.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const RULES = join(root, 'docs/prometheus-alerts.yml')
const RULE_TESTS = join(root, 'test/metrics/prometheus-alerts.test.yml')
const dashboardText = readFileSync(join(root, 'docs/grafana-dashboard.json'), 'utf8')
const rulesText = readFileSync(RULES, 'utf8')

interface Target {
  readonly expr: string
  readonly refId: string
  readonly datasource: { readonly type: string; readonly uid: string }
}
interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly datasource?: { readonly type: string; readonly uid: string }
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  readonly targets?: readonly Target[]
}
interface Variable {
  readonly type: string
  readonly name: string
  readonly query: string | { readonly query: string }
  readonly datasource?: { readonly uid: string }
}
const dashboard = JSON.parse(dashboardText) as { uid: string; title: string; panels: Panel[]; templating: { list: Variable[] } }

/** A dashboard query as plain PromQL: Grafana's variables replaced by what they may stand for. */
function plainPromQL(expr: string): string {
  const query = expr.replace(/\$__rate_interval/g, '5m').replace(/\$__range/g, '1h').replace(/\$\{?\w+\}?/g, '.*')
  // label_values(<selector>, <label>): its selector is the PromQL.
  return /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1] ?? query
}

function dashboardQueries(): string[] {
  const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr))
  const variables = dashboard.templating.list.filter((variable) => variable.type === 'query').map((variable) => (typeof variable.query === 'string' ? variable.query : variable.query.query))
  return [...targets, ...variables]
}

/** Every `tiercache_...` name in `text`, histograms by their family name (without _bucket, _sum, _count). */
function namesIn(text: string): string[] {
  const histograms = new Set(METRIC_CATALOGUE.filter((entry) => entry.type === 'histogram').map((entry) => entry.name))
  const names = new Set<string>()
  for (const [name] of text.matchAll(/\btiercache_[a-z_]+/g)) {
    const family = name.replace(/_(bucket|sum|count)$/, '')
    names.add(histograms.has(family) ? family : name)
  }
  return [...names].sort()
}

/** Each `name{label=...}` selector of `text` with the label names it matches on. */
function selectorsIn(text: string): { name: string; labels: string[] }[] {
  return [...text.matchAll(/\b(tiercache_[a-z_]+)\{([^}]*)\}/g)].map(([, name = '', matchers = '']) => ({
    name: name.replace(/_(bucket|sum|count)$/, ''),
    labels: [...matchers.matchAll(/([a-z_]+)\s*(=~|!=|!~|=)/g)].map(([, label = '']) => label),
  }))
}

const dir = mkdtempSync(join(tmpdir(), 'tiercache-dashboard-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('docs/prometheus-alerts.yml', () => {
  reportSkipped('promtool check rules and promtool test rules of docs/prometheus-alerts.yml')

  it.runIf(HAS_PROMTOOL)('passes promtool check rules', () => {
    const checked = promtool(['check', 'rules', RULES])
    expect(checked.output).toMatch(/SUCCESS: 7 rules found/)
    expect(checked.code).toBe(0)
  })

  it.runIf(HAS_PROMTOOL)('fires each alert on synthetic series (promtool test rules)', () => {
    const tested = promtool(['test', 'rules', RULE_TESTS])
    expect(tested.output).toMatch(/SUCCESS/)
    expect(tested.code).toBe(0)
    // Every alert of the file has a test.
    const alerts = [...rulesText.matchAll(/- alert: (\w+)/g)].map(([, name]) => name)
    const testsText = readFileSync(RULE_TESTS, 'utf8')
    for (const alert of alerts) expect(testsText, alert).toContain(`alertname: ${alert}`)
    expect(alerts).toHaveLength(7)
  })
})

describe('docs/grafana-dashboard.json', () => {
  it('is an importable dashboard whose data source is a variable', () => {
    expect(dashboard).toMatchObject({ uid: 'tiercache', title: 'tiercache' })
    expect(dashboard.templating.list[0]).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' })
    const ids = dashboard.panels.map((panel) => panel.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24)
      if (panel.type === 'row') continue
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) expect(target.datasource.uid, panel.title).toBe('${datasource}')
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) expect(variable.datasource?.uid).toBe('${datasource}')
    // No data source of the machine it was exported from.
    expect(dashboardText).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|tiercache|-- Grafana --)/)
    expect(dashboardText).not.toContain('__inputs')
  })

  reportSkipped('the PromQL check of the dashboard')

  it.runIf(HAS_PROMTOOL)('has valid PromQL in every query (parsed by promtool as recording rules)', () => {
    const queries = dashboardQueries()
    expect(queries.length).toBeGreaterThan(30)
    // JSON is YAML: promtool reads this as a rule file.
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((query, i) => ({ record: `dashboard:query_${i}`, expr: plainPromQL(query) })) }] }
    const file = join(dir, 'dashboard-rules.json')
    writeFileSync(file, JSON.stringify(rules))
    const checked = promtool(['check', 'rules', file])
    expect(checked.output).toContain(`SUCCESS: ${queries.length} rules found`)
    expect(checked.code).toBe(0)
  })
})

describe('the names of the dashboard and the rules', () => {
  let server: LiveServer
  let exposition: Exposition
  beforeAll(async () => {
    server = await openLiveServer()
    await server.traffic()
    exposition = new Exposition((await server.scrape()).body)
  })
  afterAll(() => server?.close())

  it.each([
    ['docs/grafana-dashboard.json', dashboardText],
    ['docs/prometheus-alerts.yml', rulesText],
  ])('%s uses only names of a real /metrics answer, with series, and labels they carry', (_file, text) => {
    const names = namesIn(text)
    expect(names.length).toBeGreaterThan(5)
    for (const name of names) {
      expect(exposition.families.has(name), `${name} in /metrics`).toBe(true)
      expect(exposition.family(name).metrics.length, `${name} has series`).toBeGreaterThan(0)
    }
    for (const { name, labels } of selectorsIn(text)) {
      const carried = exposition.labelNames(name)
      // job and instance are Prometheus's; le is a histogram's bucket label.
      for (const label of labels.filter((l) => !['job', 'instance', 'le'].includes(l))) expect(carried.has(label), `${name}{${label}}`).toBe(true)
    }
  })

  it('covers every family: the dashboard shows each one', () => {
    expect(namesIn(dashboardText)).toEqual(METRIC_CATALOGUE.map((entry) => entry.name).sort())
  })
})
