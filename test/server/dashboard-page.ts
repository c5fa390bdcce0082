/**
 * For the dashboard's browser tests: Debian's chromium driven by playwright-core, the page's figures
 * read as text, and the rules by which the page formats /v1/stats (en-US), written again here so
 * that a page formatting wrongly fails.
 */
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'
import type { AiStats, StatsReport } from '../../src/metrics/stats/report.js'

// The little of the browser's globals that the functions run in the page use (the project's types
// have no DOM library, and should not: src/ runs in Node).
declare const document: { readonly body: { readonly dataset: Readonly<Record<string, string | undefined>> } }
declare const sessionStorage: { getItem(name: string): string | null }

/** Where the page keeps the key. */
export const KEY_ITEM = 'tiercache.dashboard.key'

/** Debian's chromium, as CI installs it (.ci/run). */
export const CHROMIUM = '/usr/bin/chromium'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
}

/** A context in the locale and zone the formats below assume, wide enough for the two-column layout. */
export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 900 } })
}

/** What the page reported as broken: script errors, and anything the CSP refused. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console ${message.type()}: ${message.text()}`)
  })
  return problems
}

/** Opens the dashboard at `base` and enters `key`. */
export async function openWithKey(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/dashboard`)
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Show statistics' }).click()
}

/** Waits until the page has rendered an answer to a request it sent at or after `since` (epoch ms). */
export async function waitForUpdate(page: Page, since: number): Promise<void> {
  await page.waitForFunction((at) => Number(document.body.dataset.fetchedAt ?? 0) >= at && document.body.dataset.state === 'live', since, { polling: 50 })
}

/** `document.body.dataset[name]` in the page: `state` (idle, loading, live, refused, error, paused), `fetchedAt`, `updated`. */
export function bodyData(page: Page, name: string): Promise<string | undefined> {
  return page.evaluate((key) => document.body.dataset[key], name)
}

/** The key the page holds in sessionStorage, or null. */
export function heldKey(page: Page): Promise<string | null> {
  return page.evaluate((item) => sessionStorage.getItem(item), KEY_ITEM)
}

export function stat(page: Page, name: string): Promise<string> {
  return page.locator(`[data-stat="${name}"]`).first().innerText()
}

/** The rows of a table, each cell's text. */
export function table(page: Page, name: string): Promise<string[][]> {
  return page
    .locator(`[data-table="${name}"] tbody tr`)
    .evaluateAll((rows) => rows.map((row) => Array.from((row as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells, (cell) => cell.textContent ?? '')))
}

const significant = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 })
const money = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 })
const isNumber = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n)
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })
const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 3 })

/** The page's formats. */
export const format = {
  count: (n: unknown): string => (isNumber(n) ? n.toLocaleString('en-US') : '—'),
  ratio: (r: unknown): string => (isNumber(r) ? `${(r * 100).toFixed(1)} %` : '—'),
  rate: (n: unknown): string => (isNumber(n) ? `${significant.format(n)}/s` : '—'),
  seconds: (s: unknown): string => (!isNumber(s) ? '—' : s < 1 ? `${significant.format(s * 1000)} ms` : `${significant.format(s)} s`),
  costs: (list: readonly { unit: string; amount: number }[]): string => (list.length === 0 ? '—' : list.map((c) => `${money.format(c.amount)} ${c.unit}`).join(', ')),
  /** US dollars: cents from a dollar up, three significant digits below. */
  dollars: (n: unknown): string => (!isNumber(n) ? '—' : n > 0 && n < 1 ? usdSmall.format(n) : usd.format(n)),
}

/** What the page shows of a report: every figure the end-to-end test compares with /v1/stats. */
export interface Shown {
  readonly figures: Readonly<Record<string, string>>
  readonly tables: Readonly<Record<string, string[][]>>
}

/** The figures of the overview and the origin panel. */
export const FIGURES = [
  'requests', 'hitRatio', 'hits', 'misses', 'staleHits', 'writes', 'deletes', 'invalidations', 'evictions', 'coalesced', 'errors',
  'origin.calls', 'origin.errors', 'origin.timeouts', 'origin.saved', 'origin.costSaved',
] as const

/** The tables that show the report's range and this instance's state (the series tables are the charts'). */
export const TABLES = ['tiers', 'latency', 'misses', 'health', 'namespaces', 'keys'] as const

/** Reads what the page shows now. */
export async function readShown(page: Page): Promise<Shown> {
  const figures: Record<string, string> = {}
  for (const name of FIGURES) figures[name] = await stat(page, name)
  const tables: Record<string, string[][]> = {}
  for (const name of TABLES) tables[name] = await table(page, name)
  return { figures, tables }
}

const TIERS = ['l1', 'l2', 'l3'] as const
const REASONS = ['absent', 'expired', 'invalidated', 'evicted', 'unavailable', 'suspended', 'unreadable', 'bypassed'] as const
const total = (kinds: Readonly<Record<string, number>>): number => Object.values(kinds).reduce((a, b) => a + b, 0)
const owner = (item: { readonly namespace: string; readonly tenant?: string | undefined }): string =>
  item.tenant === undefined ? item.namespace : `${item.namespace} (tenant ${item.tenant === '' ? 'public' : item.tenant})`
const ttl = (ms: number | undefined): string =>
  ms === undefined ? '—' : ms < 60_000 ? `${significant.format(ms / 1000)} s` : ms < 3_600_000 ? `${significant.format(ms / 60_000)} min` : `${significant.format(ms / 3_600_000)} h`
const orEmpty = (rows: string[][], empty: string): string[][] => (rows.length === 0 ? [[empty]] : rows)

/** What the page must show of `report`: {@link readShown} of a page that rendered it. */
export function expectedShown(report: StatsReport): Shown {
  const { totals, now } = report
  const tiers = TIERS.filter((tier) => totals.tiers[tier] !== undefined)
  const tier = (level: (typeof TIERS)[number]) => totals.tiers[level] as NonNullable<StatsReport['totals']['tiers']['l1']>
  const latency = (name: string, l: StatsReport['totals']['getOrSet']['latency']) => [name, format.seconds(l.p50), format.seconds(l.p95), format.seconds(l.p99), format.count(l.count)]
  const allMisses = total(totals.missReasons)
  const capacity = (n: number | undefined, cap: number | undefined) => (n === undefined ? '—' : cap === undefined ? format.count(n) : `${format.count(n)} of ${format.count(cap)}`)
  return {
    figures: {
      requests: format.count(totals.requests),
      hitRatio: format.ratio(totals.hitRatio),
      hits: format.count(totals.hits),
      misses: format.count(totals.misses),
      staleHits: format.count(totals.staleHits),
      writes: format.count(totals.writes),
      deletes: format.count(totals.deletes),
      invalidations: format.count(total(totals.invalidations)),
      evictions: format.count(total(totals.evictions)),
      coalesced: format.count(totals.coalesced),
      errors: format.count(totals.errors),
      'origin.calls': format.count(totals.origin.calls),
      'origin.errors': format.count(totals.origin.errors),
      'origin.timeouts': format.count(totals.origin.timeouts),
      'origin.saved': format.count(totals.origin.saved),
      'origin.costSaved': format.costs(totals.origin.costSaved),
    },
    tables: {
      tiers: orEmpty(tiers.map((level) => [level.toUpperCase(), format.count(tier(level).hits), format.count(tier(level).misses), format.ratio(tier(level).hitRatio), format.ratio(tier(level).served)]), 'no tiers'),
      latency: [...tiers.map((level) => latency(`${level.toUpperCase()} read`, tier(level).latency)), latency('getOrSet', totals.getOrSet.latency), latency('origin call', totals.origin.latency)],
      misses: REASONS.map((reason) => [
        reason,
        format.count(totals.missReasons[reason]),
        allMisses === 0 ? '—' : format.ratio(totals.missReasons[reason] / allMisses),
        ...tiers.map((level) => format.count(tier(level).missReasons[reason])),
      ]),
      health: orEmpty(
        TIERS.flatMap((level) => {
          const t = now.tiers[level]
          if (t === undefined) return []
          const range = totals.tiers[level]
          return [[level.toUpperCase(), t.kind, t.circuit, t.healthy ? 'healthy' : 'unhealthy', capacity(t.entries, t.capacityEntries), capacity(t.bytes, t.capacityBytes), format.count(range?.errors), format.count(range?.circuitOpens)]]
        }),
        'no tiers',
      ),
      namespaces: orEmpty(
        report.namespaces.map((n) => [owner(n), format.count(n.requests), format.ratio(n.hitRatio), format.count(n.staleHits), format.count(n.originCalls), format.count(n.originErrors), format.count(n.saved), format.costs(n.costSaved), format.seconds(n.getOrSetP95)]),
        'no lookups in this range',
      ),
      keys: orEmpty(report.topKeys.map((k) => [owner(k), k.key, format.count(k.count), format.count(k.error), format.count(k.misses), ttl(k.ttlMs)]), 'no keys looked up yet'),
    },
  }
}

/** The figures of the AI gateway's panel. */
export const AI_FIGURES = ['ai.answers', 'ai.hitRatio', 'ai.hits', 'ai.misses', 'ai.bypassed', 'ai.tokensSaved', 'ai.costSaved'] as const

/** Reads what the AI gateway's panel shows now. */
export async function readAiShown(page: Page): Promise<Shown> {
  const figures: Record<string, string> = {}
  for (const name of AI_FIGURES) figures[name] = await stat(page, name)
  return { figures, tables: { ai: await table(page, 'ai') } }
}

/** What the AI gateway's panel must show of a report's `ai` section: {@link readAiShown} of a page that rendered it. */
export function expectedAiShown(ai: AiStats): Shown {
  const { totals } = ai
  return {
    figures: {
      'ai.answers': format.count(total(totals.answers)),
      'ai.hitRatio': format.ratio(totals.hitRatio),
      'ai.hits': format.count(totals.hits),
      'ai.misses': format.count(totals.misses),
      'ai.bypassed': format.count(totals.answers.BYPASS),
      'ai.tokensSaved': format.count(totals.tokensSaved),
      'ai.costSaved': format.dollars(totals.costSavedUsd),
    },
    tables: {
      ai: orEmpty(
        ai.rows.map((r) => [owner(r), r.model, r.cacheType, format.count(r.hits), format.count(r.misses), format.ratio(r.hitRatio), format.count(r.tokensSaved), format.dollars(r.costSavedUsd)]),
        'no AI answers yet',
      ),
    },
  }
}
