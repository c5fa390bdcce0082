/**
 * How the HTTP cache served a response, as the metrics, the stats and `httpCache.counts` name it.
 * Here, below `http-cache/`, so that the metrics read the counts by their shape; without prom-client,
 * so that the HTTP cache can name them without loading it.
 */

/**
 * How one response was served:
 * - `hit`: from the cache, fresh (or within the request's `max-stale`);
 * - `stale`: from the cache, stale: under `stale-while-revalidate` (RFC 5861 §3), `stale-if-error`
 *   (§4) or the request's `max-stale`;
 * - `revalidated`: the stored response, after the origin answered a conditional request with 304
 *   (RFC 9111 §4.3.3);
 * - `collapsed`: the answer of another request's origin trip (request collapsing);
 * - `miss`: the origin's full answer (stored or not);
 * - `pass`: a method the cache does not store, passed on (RFC 9111 §4.4 invalidations aside);
 * - `error`: the origin could not be reached and nothing stored could answer (502, or 504 for
 *   `only-if-cached`).
 */
export const HTTP_RESPONSE_OUTCOMES = ['hit', 'stale', 'revalidated', 'collapsed', 'miss', 'pass', 'error'] as const
export type HttpResponseOutcome = (typeof HTTP_RESPONSE_OUTCOMES)[number]

/** The responses served one way in one route group, as `httpCache.counts.rows()` gives them. */
export interface HttpCountFigures {
  /** The route group (by default `/` and the first path segment; `other` past 100 groups). */
  readonly group: string
  readonly outcome: HttpResponseOutcome
  /** Responses, since the HTTP cache was made. */
  readonly count: number
}
