/**
 * `tiercache/server`: the REST server over a {@link Cache}.
 *
 * @example
 * import { createCache } from 'tiercache'
 * import { startServer } from 'tiercache/server'
 * import { openAuditLog, openCredentialStore } from 'tiercache/server'
 * const credentials = await openCredentialStore({ sqlite: './.tiercache/cache.db' })
 * const audit = await openAuditLog({ sqlite: './.tiercache/cache.db' }, { onError: (error) => console.warn(error.message) })
 * const { url } = await startServer({ cache: createCache(), credentials, audit, port: 4100 })
 */
export { DEFAULT_BODY_LIMIT, buildServer, startServer } from './app.js'
export type { BuildServerOptions, MetricsListenerOptions, ServerLoggerOptions, ServerMetricsOptions, StartServerOptions, StartedServer } from './app.js'
export { TENANT_HEADER } from './access.js'
export type { Caller, RouteAccess } from './access.js'
export type { ErrorBody } from './errors.js'
export type { RateLimitOptions } from './rate-limits.js'
export type { ServerStatsOptions } from './stats.js'

// `GET /v1/stats`: the stats history it reads, and the shape of its answer (docs/stats.md).
export { type StatsHistory, type StatsHistoryOptions, openStatsHistory } from '../metrics/stats/history.js'
export { STATS_RANGES, type StatsRange, type StatsReport, type Suggestion, statsReportSchema } from '../metrics/stats/report.js'
export { DEFAULT_THRESHOLDS, type SuggestionThresholds, suggest } from '../metrics/suggestions.js'
export { TOP_KEYS_DEFAULTS, TopKeys, type TopKeysOptions } from '../metrics/top-keys.js'

// What a server needs besides a cache: the API keys it checks and the audit log it writes, in the
// database of the SQL tier (the tables come with the tier's migrations).
export { type AuditLog, type AuditLogOptions, type AuditRecord, type OpenAuditLogOptions, openAuditLog } from '../security/audit/index.js'
export {
  type CreatedKey,
  type CredentialStore,
  type KeyInfo,
  type NewKeyInput,
  type OpenCredentialStoreOptions,
  type Principal,
  type Role,
  type StorageLocation,
  openCredentialStore,
} from '../security/credentials/index.js'
export { DEFAULT_PLANS, type Plan } from '../security/rate-limit/index.js'
