/**
 * Node's process metrics (prom-client's `collectDefaultMetrics`), collected once per process and
 * name prefix and shared by every registry that asks: they describe the process, not a cache, and
 * each collection starts an event-loop monitor and a GC observer that nothing stops, so one per
 * registry would leak with every server a process builds.
 */
import { type Metric, Registry, type RegistryContentType, collectDefaultMetrics } from 'prom-client'

const shared = new Map<string, Registry<RegistryContentType>>()

/**
 * The process metrics under `prefix`, for a registry of `contentType`: the same metric objects
 * every time (apart per content type, since an OpenMetrics registry renames counters in place).
 */
export function processMetrics(prefix: string, contentType: RegistryContentType): Metric[] {
  const id = `${contentType}\u0000${prefix}`
  let registry = shared.get(id)
  if (registry === undefined) {
    registry = new Registry<RegistryContentType>()
    registry.setContentType(contentType)
    collectDefaultMetrics({ register: registry, prefix })
    shared.set(id, registry)
  }
  // prom-client's d.ts types its registered metrics as plain objects; they are the Metric instances.
  return registry.getMetricsAsArray() as unknown as Metric[]
}
