/**
 * SQLite migration 4 (user_version 3 → 4): the stats history of `src/metrics/history/`, the same
 * table as PostgreSQL's migration 0004. Shipped: never edit, append a new migration instead.
 *
 * - `tiercache_metric_rollups`: one row per (span, minute, instance, metric, labels, le). `span` is
 *   the resolution in ms (a minute, 5 minutes, an hour, 6 hours: each flush adds to one row of
 *   each), `minute` the start of the step in epoch ms, `instance` the writing process's id,
 *   `metric` a family's name (a histogram as `_bucket` rows with `le` and `lower` their bounds,
 *   `_sum` and `_count`; empty buckets are not stored), `labels` the series' labels as canonical
 *   JSON, `point_labels` the same without namespace, tenant and operation (what a range's points
 *   are summed by), `tenant` its tenant label (`''` without one). `kind` `counter`: what the step
 *   added; `gauge`: the value at the end of the step. The primary key leads with (span, minute), so
 *   that a range reads, and a prune deletes, only its own steps; WITHOUT ROWID stores the rows in
 *   that index once.
 */
export const SQLITE_METRICS_MIGRATION = `
  CREATE TABLE tiercache_metric_rollups (
    span         INTEGER NOT NULL,
    minute       INTEGER NOT NULL,
    instance     TEXT    NOT NULL,
    metric       TEXT    NOT NULL,
    labels       TEXT    NOT NULL CHECK (json_valid(labels)),
    point_labels TEXT    NOT NULL,
    le           TEXT    NOT NULL DEFAULT '',
    lower        REAL,
    tenant       TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL CHECK (kind IN ('counter', 'gauge')),
    value        REAL    NOT NULL,
    PRIMARY KEY (span, minute, instance, metric, labels, le)
  ) WITHOUT ROWID;
`
