/**
 * For the dashboard's browser tests: Debian's chromium driven by playwright-core, the page's figures
 * read as text, and the rules by which the page formats /v1/stats (en-US), written again here so
 * that a page formatting wrongly fails.
 */
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'

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

/** The page's formats. */
export const format = {
  count: (n: unknown): string => (isNumber(n) ? n.toLocaleString('en-US') : '—'),
  ratio: (r: unknown): string => (isNumber(r) ? `${(r * 100).toFixed(1)} %` : '—'),
  rate: (n: unknown): string => (isNumber(n) ? `${significant.format(n)}/s` : '—'),
  seconds: (s: unknown): string => (!isNumber(s) ? '—' : s < 1 ? `${significant.format(s * 1000)} ms` : `${significant.format(s)} s`),
  costs: (list: readonly { unit: string; amount: number }[]): string => (list.length === 0 ? '—' : list.map((c) => `${money.format(c.amount)} ${c.unit}`).join(', ')),
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
