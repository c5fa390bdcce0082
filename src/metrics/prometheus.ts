/**
 * `tiercache/prometheus`: a cache's instruments in Prometheus's text exposition format (prom-client).
 * One collector per family of the catalogue (docs/metrics.md), each reading `cache.metrics()` when
 * scraped: nothing is counted twice, and one scrape reads one snapshot per cache.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createCache } from 'tiercache'
 * import { createPrometheusRegistry } from 'tiercache/prometheus'
 * const registry = createPrometheusRegistry({ cache: createCache(), processMetrics: true })
 * createServer(async (request, response) => {
 *   response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics())
 * }).listen(9464)
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client'
import { z } from 'zod'
import type { Labels, MetricFamily, MetricsSnapshot } from '../cache/instruments/snapshot.js'
import { parseOptions } from '../core/options.js'
import { InvalidOptionsError } from '../errors.js'
import { AI_METRIC_CATALOGUE, type AiUsageSource, registerAiMetrics } from './ai-usage.js'
import { type CatalogueEntry, METRIC_CATALOGUE } from './catalogue.js'
import { HTTP_METRIC_CATALOGUE, type HttpUsageSource, registerHttpMetrics } from './http-usage.js'
import { processMetrics } from './process.js'

export type { HistogramFamily, HistogramSample, Labels, MetricFamily, MetricsSnapshot, Sample, ScalarFamily } from '../cache/instruments/snapshot.js'
export { METRIC_CATALOGUE, type CatalogueEntry } from './catalogue.js'
export { AI_ANSWER_STATUSES, AI_METRIC_CATALOGUE, type AiAnswerStatus, type AiUsageFigures, type AiUsageSource } from './ai-usage.js'
export { HTTP_METRIC_CATALOGUE, HTTP_RESPONSE_OUTCOMES, type HttpCountFigures, type HttpResponseOutcome, type HttpUsageSource } from './http-usage.js'

/** What a registry reads: a `Cache` (or anything with its `metrics()`). */
export interface MetricsSource {
  /** Every instrument now; see `Cache.metrics`. */
  metrics(): Promise<MetricsSnapshot>
}

/** A prom-client registry of either content type (Prometheus text, or OpenMetrics). */
export type AnyRegistry = Registry<RegistryContentType>

/** Options of {@link createPrometheusRegistry}: exactly one of `cache` and `caches`. */
export interface PrometheusRegistryOptions<R extends AnyRegistry = Registry> {
  /** The cache whose instruments the registry exposes, under the names of docs/metrics.md. */
  readonly cache?: MetricsSource
  /**
   * Several caches in one registry, by name: each series carries `cache="<name>"` before its own
   * labels, so that the metric names stay those of docs/metrics.md (which the dashboard and the alert
   * rules use) and `sum without (cache)` adds them up. Names: 1 to 64 of `A-Z a-z 0-9 . _ -`.
   */
  readonly caches?: Readonly<Record<string, MetricsSource>>
  /**
   * The registry to add the collectors to, e.g. your service's own. A name may be registered once
   * per registry: expose several caches through one call with `caches`, not one call each.
   * @default a new Registry (content type `text/plain; version=0.0.4; charset=utf-8`)
   */
  readonly registry?: R
  /**
   * Also expose Node's process metrics in the registry (prom-client's `collectDefaultMetrics`:
   * CPU, resident memory, heap, event-loop lag, GC, handles; `process_`/`nodejs_` names), with an
   * optional name prefix; collected once per process and prefix, whatever the number of registries.
   * Leave it off when your registry collects them already: names would clash.
   * @default false
   */
  readonly processMetrics?: boolean | { readonly prefix?: string }
  /**
   * What an AI cache saved (`aiCache.accounting`, from `tiercache/ai`): adds
   * `tiercache_ai_answers_total`, `tiercache_ai_tokens_saved_total` and
   * `tiercache_ai_cost_saved_usd_total`, read from it when scraped (docs/metrics.md, AI gateway).
   * @default none: no AI families
   */
  readonly ai?: AiUsageSource
  /**
   * An HTTP cache (`createHttpCache`, or a proxy's `httpCache`, from `tiercache/http-cache`): adds
   * `tiercache_http_responses_total{group,outcome}`, read from its `counts` when scraped
   * (docs/metrics.md, HTTP cache).
   * @default none: no HTTP family
   */
  readonly http?: HttpUsageSource
}

const sourceSchema = z.custom<MetricsSource>(
  (value) => typeof (value as Partial<MetricsSource> | null | undefined)?.metrics === 'function',
  'must be a cache (an object with a metrics() method)',
)

const optionsSchema = z
  .object({
    cache: sourceSchema.optional(),
    caches: z
      .record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1 to 64 letters, digits, '.', '_' or '-'"), sourceSchema)
      .refine((caches) => Object.keys(caches).length > 0, 'must name at least one cache')
      .optional(),
    registry: z.custom<AnyRegistry>((value) => typeof (value as Partial<AnyRegistry> | null | undefined)?.registerMetric === 'function', 'must be a prom-client Registry').optional(),
    processMetrics: z
      .union([z.boolean(), z.strictObject({ prefix: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a valid metric name prefix').optional() })])
      .default(false),
    ai: z
      .custom<AiUsageSource>((value) => typeof (value as Partial<AiUsageSource> | null | undefined)?.rows === 'function', "must be an AI cache's accounting (an object with a rows() method)")
      .optional(),
    http: z
      .custom<HttpUsageSource>(
        (value) => typeof (value as { counts?: Partial<HttpUsageSource['counts']> } | null | undefined)?.counts?.rows === 'function',
        'must be an HTTP cache (an object with counts.rows())',
      )
      .optional(),
  })
  .strict()
  .refine((options) => (options.cache === undefined) !== (options.caches === undefined), 'give exactly one of cache and caches')

/** One cache's snapshot with the labels its series carry first (`cache`, with `caches`). */
interface Scoped {
  readonly labels: Labels
  readonly snapshot: MetricsSnapshot
}

type ReadAll = () => Promise<readonly Scoped[]>

/**
 * Reads every cache once per scrape: a registry asks each collector in the same turn of the event
 * loop, so they all join the read in flight, and the next scrape starts a new one.
 */
function sharedRead(sources: readonly { readonly labels: Labels; readonly source: MetricsSource }[]): ReadAll {
  let pending: Promise<readonly Scoped[]> | undefined
  return () => {
    pending ??= Promise.all(sources.map(async ({ labels, source }) => ({ labels, snapshot: await source.metrics() }))).finally(() => {
      pending = undefined
    })
    return pending
  }
}

/** The family called `name` in each snapshot that has it. */
function* familiesNamed<T extends MetricFamily['type']>(scoped: readonly Scoped[], name: string, type: T): Generator<{ labels: Labels; family: Extract<MetricFamily, { type: T }> }> {
  for (const { labels, snapshot } of scoped) {
    const family = snapshot.families.find((candidate) => candidate.name === name)
    if (family?.type === type) yield { labels, family: family as Extract<MetricFamily, { type: T }> }
  }
}

/** The snapshot's help line, else the catalogue's. */
function helpOf(scoped: readonly Scoped[], entry: CatalogueEntry): string {
  for (const { family } of familiesNamed(scoped, entry.name, entry.type)) return family.help
  return entry.help
}

interface ScalarValue {
  value: number
  labels: Labels
}

/** `own` after `scope`; `own` itself without a scope (one cache): the snapshot's object, not a copy. */
function withScope(scope: Labels, own: Labels): Labels {
  for (const _ in scope) return { ...scope, ...own }
  return own
}

function scalarValues(scoped: readonly Scoped[], entry: CatalogueEntry & { type: 'counter' | 'gauge' }): ScalarValue[] {
  const values: ScalarValue[] = []
  for (const { labels, family } of familiesNamed(scoped, entry.name, entry.type)) {
    for (const sample of family.samples) values.push({ value: sample.value, labels: withScope(labels, sample.labels) })
  }
  return values
}

interface NamedValue extends ScalarValue {
  metricName: string
}

/** Buckets made cumulative, `+Inf` equal to the count, then `_sum` and `_count`, as the format wants. */
function histogramValues(scoped: readonly Scoped[], name: string): NamedValue[] {
  const values: NamedValue[] = []
  for (const { labels: scope, family } of familiesNamed(scoped, name, 'histogram')) {
    for (const sample of family.samples) {
      const labels = withScope(scope, sample.labels)
      let cumulative = 0
      family.buckets.forEach((bound, i) => {
        cumulative += sample.counts[i] ?? 0
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(bound) }, value: cumulative })
      })
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: sample.count })
      values.push({ metricName: `${name}_sum`, labels, value: sample.sum })
      values.push({ metricName: `${name}_count`, labels, value: sample.count })
    }
  }
  return values
}

// prom-client's metric classes, with what they report replaced by the snapshot's: the registry, its
// formatting (and OpenMetrics, Registry.merge, getMetricsAsJSON) work as with any other metric.

class SnapshotCounter extends Counter {
  constructor(
    private readonly entry: CatalogueEntry & { type: 'counter' },
    registry: AnyRegistry,
    private readonly read: ReadAll,
  ) {
    super({ name: entry.name, help: entry.help, registers: [registry] })
  }

  override async get(): ReturnType<Counter['get']> {
    const [base, scoped] = await Promise.all([super.get(), this.read()])
    return { ...base, help: helpOf(scoped, this.entry), values: scalarValues(scoped, this.entry) }
  }
}

class SnapshotGauge extends Gauge {
  constructor(
    private readonly entry: CatalogueEntry & { type: 'gauge' },
    registry: AnyRegistry,
    private readonly read: ReadAll,
  ) {
    super({ name: entry.name, help: entry.help, registers: [registry] })
  }

  override async get(): ReturnType<Gauge['get']> {
    const [base, scoped] = await Promise.all([super.get(), this.read()])
    return { ...base, help: helpOf(scoped, this.entry), values: scalarValues(scoped, this.entry) }
  }
}

class SnapshotHistogram extends Histogram {
  constructor(
    private readonly entry: CatalogueEntry & { type: 'histogram' },
    registry: AnyRegistry,
    private readonly read: ReadAll,
  ) {
    super({ name: entry.name, help: entry.help, registers: [registry] })
  }

  override async get(): ReturnType<Histogram['get']> {
    const scoped = await this.read()
    // Built here: prom-client's own get() would call getForPromString, that is this. Its d.ts types
    // `type` as an enum its JavaScript does not have; the registry reads the string.
    const object = { name: this.entry.name, help: helpOf(scoped, this.entry), type: 'histogram', aggregator: 'sum', values: histogramValues(scoped, this.entry.name) }
    return object as unknown as Awaited<ReturnType<Histogram['get']>>
  }

  /** What the registry's text formatting asks a histogram for (prom-client's internal name). */
  getForPromString(): ReturnType<Histogram['get']> {
    return this.get()
  }
}

function collectorOf(entry: CatalogueEntry, registry: AnyRegistry, read: ReadAll): void {
  if (entry.type === 'counter') new SnapshotCounter({ ...entry, type: 'counter' }, registry, read)
  else if (entry.type === 'gauge') new SnapshotGauge({ ...entry, type: 'gauge' }, registry, read)
  else new SnapshotHistogram({ ...entry, type: 'histogram' }, registry, read)
}

/**
 * A prom-client `Registry` exposing the instruments of a cache, or of several, under the names,
 * labels and buckets of docs/metrics.md. Mount it on any HTTP server: answer `GET /metrics` with
 * `registry.contentType` and `await registry.metrics()`. Each scrape reads `cache.metrics()` once
 * per cache; a family the catalogue does not list is not exposed. A scrape of a closed cache rejects
 * with its `CacheClosedError`.
 *
 * @returns `options.registry`, or a new one, with one collector per family registered
 * @throws InvalidOptionsError when the options are malformed: neither or both of `cache` and
 *   `caches`, a cache name outside `[A-Za-z0-9._-]{1,64}`, an invalid process-metrics prefix
 * @throws InvalidOptionsError when `registry` already holds one of the names (a second call on the
 *   same registry), or process metrics under the same prefix
 * @see https://prometheus.io/docs/practices/naming/
 */
export function createPrometheusRegistry(options: PrometheusRegistryOptions & { readonly registry?: undefined }): Registry
export function createPrometheusRegistry<R extends AnyRegistry>(options: PrometheusRegistryOptions<R> & { readonly registry: R }): R
export function createPrometheusRegistry(options: PrometheusRegistryOptions<AnyRegistry>): AnyRegistry {
  const parsed = parseOptions(optionsSchema, options, 'Prometheus registry')
  const registry: AnyRegistry = parsed.registry ?? new Registry()
  const sources =
    parsed.cache === undefined
      ? Object.entries(parsed.caches ?? {}).map(([name, source]) => ({ labels: { cache: name }, source }))
      : [{ labels: {}, source: parsed.cache }]
  const prefix = parsed.processMetrics === false ? undefined : parsed.processMetrics === true ? '' : (parsed.processMetrics.prefix ?? '')
  // Checked before anything is registered, so that a refused call leaves the registry as it was.
  const process = prefix === undefined ? [] : processMetrics(prefix, registry.contentType)
  const names = [
    ...METRIC_CATALOGUE.map((entry) => entry.name),
    ...(parsed.ai === undefined ? [] : AI_METRIC_CATALOGUE.map((entry) => entry.name)),
    ...(parsed.http === undefined ? [] : HTTP_METRIC_CATALOGUE.map((entry) => entry.name)),
    ...process.map((metric) => (metric as unknown as { name: string }).name),
  ]
  const taken = names.filter((name) => registry.getSingleMetric(name) !== undefined)
  if (taken.length > 0) {
    throw new InvalidOptionsError(`the registry already holds ${taken.join(', ')}: expose several caches with one call (caches), and collect process metrics once`)
  }
  const read = sharedRead(sources)
  for (const entry of METRIC_CATALOGUE) collectorOf(entry, registry, read)
  if (parsed.ai !== undefined) registerAiMetrics(registry, parsed.ai)
  if (parsed.http !== undefined) registerHttpMetrics(registry, parsed.http)
  for (const metric of process) registry.registerMetric(metric)
  return registry
}
