/**
 * SQLite migration 4 (user_version 3 → 4): the stats history of `src/metrics/history/`, the same
 * table as PostgreSQL's migration 0004. Shipped: never edit, append a new migration instead.
 *
 * - `tiercache_metric_rollups`: one row per (minute, instance, metric, labels, le): `minute` the
 *   start of the minute in epoch ms, `instance` the writing process's id, `metric` a family's name
 *   (a histogram as `_bucket` rows with `le` and `lower` their bounds, `_sum` and `_count`; empty
 *   buckets are not stored), `labels` the series' labels as canonical JSON, `tenant` its tenant
 *   label (`''` without one). `kind` `counter`: what the minute added; `gauge`: the value at the
 *   end of the minute. The primary key leads with `minute`, so that range reads and the retention
 *   prune scan only their minutes; WITHOUT ROWID stores the rows in that index once.
 */
export const SQLITE_METRICS_MIGRATION = `
  CREATE TABLE tiercache_metric_rollups (
    minute   INTEGER NOT NULL,
    instance TEXT    NOT NULL,
    metric   TEXT    NOT NULL,
    labels   TEXT    NOT NULL CHECK (json_valid(labels)),
    le       TEXT    NOT NULL DEFAULT '',
    lower    REAL,
    tenant   TEXT    NOT NULL DEFAULT '',
    kind     TEXT    NOT NULL CHECK (kind IN ('counter', 'gauge')),
    value    REAL    NOT NULL,
    PRIMARY KEY (minute, instance, metric, labels, le)
  ) WITHOUT ROWID;
`
