/**
 * How the HTTP cache served each response, counted per route group: the figures behind the hit
 * ratio of the metrics and the dashboard, read off each answer's own `Cache-Status` (RFC 9211), so
 * that what is counted is what the client was told.
 */
import { HTTP_RESPONSE_OUTCOMES, type HttpCountFigures, type HttpResponseOutcome } from '../metrics/http-outcomes.js'

/** How one response was served: see {@link HTTP_RESPONSE_OUTCOMES}. */
export const HTTP_OUTCOMES = HTTP_RESPONSE_OUTCOMES
export type HttpOutcome = HttpResponseOutcome

/** The responses served as one {@link HttpOutcome} in one route group. */
export type HttpCountRow = HttpCountFigures

/** More route groups than this are counted together as `other`, so that a URL scheme cannot grow the series without bound. */
export const MAX_ROUTE_GROUPS = 100

const OTHER = 'other'

/** The default route group of a URL: `/` and its first path segment (`/products/42` → `/products`). */
export function firstSegment(url: URL): string {
  const segment = url.pathname.split('/')[1] ?? ''
  return `/${segment}`
}

/** The outcome a `Cache-Status` field value (as {@link cacheStatus} writes it) reports. */
export function outcomeOf(cacheStatus: string): HttpOutcome {
  const parts = new Map(
    cacheStatus
      .split(';')
      .slice(1)
      .map((part) => {
        const [name = '', value = ''] = part.trim().split('=')
        return [name, value] as const
      }),
  )
  const detail = parts.get('detail') ?? ''
  if (parts.has('collapsed')) return 'collapsed'
  if (parts.has('hit')) return detail.startsWith('stale') ? 'stale' : 'hit'
  if (detail === 'stale-if-error') return 'stale'
  if (detail === 'origin-unreachable' || detail === 'only-if-cached') return 'error'
  if (parts.get('fwd') === 'method') return 'pass'
  if (parts.get('fwd-status') === '304' && (parts.get('fwd') === 'stale' || parts.get('fwd') === 'request')) return 'revalidated'
  return 'miss'
}

/** Counts of the responses served, per route group and {@link HttpOutcome}, since the cache was made. */
export class HttpCounts {
  private readonly counts = new Map<string, Map<HttpOutcome, number>>()

  /** @param routeGroup the group of a request's URL (default {@link firstSegment}) */
  constructor(private readonly routeGroup: (url: URL) => string = firstSegment) {}

  /**
   * Counts one response to `url` whose `Cache-Status` is `cacheStatus`. A `routeGroup` that throws,
   * or gives something other than a string, counts it as `other`; so do the groups past the first
   * {@link MAX_ROUTE_GROUPS} (`other` itself takes none of their places).
   */
  record(url: string | URL, cacheStatus: string): void {
    const outcomes = this.outcomesOf(this.groupOf(url))
    const outcome = outcomeOf(cacheStatus)
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
  }

  private groupOf(url: string | URL): string {
    let group: unknown
    try {
      group = this.routeGroup(typeof url === 'string' ? new URL(url) : url)
    } catch {
      return OTHER
    }
    // A JavaScript caller's function may give anything; a label must be a string.
    return typeof group === 'string' ? group : OTHER
  }

  private outcomesOf(group: string): Map<HttpOutcome, number> {
    const known = this.counts.get(group)
    if (known !== undefined) return known
    const named = this.counts.size - (this.counts.has(OTHER) ? 1 : 0)
    const key = named >= MAX_ROUTE_GROUPS ? OTHER : group
    const outcomes = this.counts.get(key) ?? new Map<HttpOutcome, number>()
    this.counts.set(key, outcomes)
    return outcomes
  }

  /** Every non-zero count, by group then outcome. */
  rows(): HttpCountRow[] {
    return [...this.counts].flatMap(([group, outcomes]) => HTTP_OUTCOMES.flatMap((outcome) => (outcomes.has(outcome) ? [{ group, outcome, count: outcomes.get(outcome) ?? 0 }] : [])))
  }
}
