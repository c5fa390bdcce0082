/**
 * The `Cache-Status` response field (RFC 9211) of each answer: how this cache handled the request.
 * @see RFC 9211 §2
 */

/** Why the request went to the origin (RFC 9211 §2.2), or undefined for a hit. */
export type Forward = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale'

/** What {@link cacheStatus} reports. */
export interface CacheStatusParts {
  /** Served from the cache without going to the origin first (RFC 9211 §2.1). */
  readonly hit?: boolean
  readonly fwd?: Forward
  /** Status of the origin's answer, when it was asked (RFC 9211 §2.3). */
  readonly fwdStatus?: number
  /** Seconds of freshness left; negative when stale (RFC 9211 §2.4). */
  readonly ttl?: number
  /** The origin's answer was stored (RFC 9211 §2.5). */
  readonly stored?: boolean
  /** Answered by a request made for another client (request collapsing, RFC 9211 §2.6). */
  readonly collapsed?: boolean
  /** A token saying more: `stale`, `stale-if-error`, `only-if-cached`, ... (RFC 9211 §2.8). */
  readonly detail?: string
}

/** The field value for the cache `name`, e.g. `tiercache; fwd=miss; fwd-status=200; stored`. */
export function cacheStatus(name: string, parts: CacheStatusParts): string {
  const out = [name]
  if (parts.hit === true) out.push('hit')
  if (parts.fwd !== undefined) out.push(`fwd=${parts.fwd}`)
  if (parts.fwdStatus !== undefined) out.push(`fwd-status=${parts.fwdStatus}`)
  if (parts.ttl !== undefined) out.push(`ttl=${Math.round(parts.ttl)}`)
  if (parts.stored === true) out.push('stored')
  if (parts.collapsed === true) out.push('collapsed')
  if (parts.detail !== undefined) out.push(`detail=${parts.detail}`)
  return out.join('; ')
}
