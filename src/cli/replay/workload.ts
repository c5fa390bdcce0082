import { InvalidTraceError } from '../../errors.js'
import { Xoshiro128 } from './random.js'
import { ZipfSampler } from './zipf.js'

/**
 * A synthetic workload, written `zipf:<s>:<keys>`: requests for the keys `"1"` … `"<keys>"`, drawn
 * independently with P(key k) ∝ 1 / k^s, so that `"1"` is the most requested. `s` is a
 * non-negative decimal (0 is uniform, 0.99 is the YCSB default skew, larger is more skewed) and
 * `keys` a positive integer (`1000000`, `1e6` or `1_000_000`).
 *
 * Keys are drawn independently of each other (the independent reference model): the workload has
 * popularity skew but no temporal locality, unlike a real trace.
 */
export interface ZipfWorkload {
  readonly kind: 'zipf'
  /** The exponent s, ≥ 0. */
  readonly exponent: number
  /** Number of distinct keys. */
  readonly keys: number
}

/** How many requests a workload generates, and from which seed. */
export interface WorkloadOptions {
  /** Requests generated. @default 1_000_000 */
  readonly requests?: number
  /** Seed of the generator: the same seed gives the same requests. @default 1 */
  readonly seed?: number
}

/** Default number of requests of a synthetic workload. */
export const DEFAULT_WORKLOAD_REQUESTS = 1_000_000
/** Default seed of a synthetic workload. */
export const DEFAULT_WORKLOAD_SEED = 1

/** Largest `<keys>` accepted: 2^32, far beyond what a replay can touch. */
const MAX_KEYS = 2 ** 32

/** True when `spec` names a built-in workload rather than a file. */
export function isWorkloadSpec(spec: string): boolean {
  return spec.startsWith('zipf:')
}

/**
 * Parses `zipf:<s>:<keys>`.
 * @throws InvalidTraceError (`TC_INVALID_TRACE`) when the spec is malformed or out of range
 */
export function parseWorkload(spec: string): ZipfWorkload {
  const match = /^zipf:([^:]+):([^:]+)$/.exec(spec.trim())
  if (match === null) throw new InvalidTraceError(`workload '${spec}' must look like zipf:<s>:<keys>, e.g. zipf:0.99:1000000`)
  const exponent = Number(match[1])
  if (!/^\d*\.?\d+$/.test(match[1] ?? '') || !Number.isFinite(exponent) || exponent > 100) {
    throw new InvalidTraceError(`workload '${spec}': the exponent s must be a decimal number from 0 to 100`)
  }
  const keys = Number((match[2] ?? '').replaceAll('_', ''))
  if (!Number.isSafeInteger(keys) || keys < 1 || keys > MAX_KEYS) {
    throw new InvalidTraceError(`workload '${spec}': the number of keys must be an integer from 1 to ${MAX_KEYS}`)
  }
  return { kind: 'zipf', exponent, keys }
}

/**
 * Checks and fills in {@link WorkloadOptions}.
 * @throws InvalidTraceError when `requests` is not a positive safe integer or `seed` not a safe integer
 */
export function resolveWorkloadOptions(options: WorkloadOptions = {}): Required<WorkloadOptions> {
  const requests = options.requests ?? DEFAULT_WORKLOAD_REQUESTS
  const seed = options.seed ?? DEFAULT_WORKLOAD_SEED
  if (!Number.isSafeInteger(requests) || requests < 1) throw new InvalidTraceError('a workload needs a positive integer number of requests')
  if (!Number.isSafeInteger(seed)) throw new InvalidTraceError('a workload seed must be an integer')
  return { requests, seed }
}

/** The `options.requests` requests of `workload`, as keys; the same seed gives the same keys. */
export function* generateWorkload(workload: ZipfWorkload, options: Required<WorkloadOptions>): Generator<string, void, undefined> {
  const sampler = new ZipfSampler(workload.keys, workload.exponent, new Xoshiro128(options.seed))
  for (let i = 0; i < options.requests; i++) yield String(sampler.sample())
}
