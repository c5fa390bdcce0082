// The shared access traces (../shared/traces, see its README): gzip text, one decimal id per line.
// Read whole and parsed by hand: a readline stream costs ~1 s per million lines, the byte loop ~10 ms.
import { existsSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

/** Where the traces are: TIERCACHE_TRACES, else ../shared/traces beside the checkout. */
export const TRACES_DIR =
  process.env.TIERCACHE_TRACES ?? fileURLToPath(new URL('../../../shared/traces/', import.meta.url))

/**
 * A trace as dense ids: `keys[i]` is the i-th request's key, renumbered 0..distinct-1 in order of
 * first appearance, so that simulators can index typed arrays by key.
 * @typedef {{ name: string, keys: Int32Array, distinct: number }} Trace
 */

/** The path of trace `name` (e.g. 'oltp'), or undefined when it is not there. */
export function tracePath(name, dir = TRACES_DIR) {
  const file = `${dir.replace(/\/?$/, '/')}${name}.keys.gz`
  return existsSync(file) ? file : undefined
}

/**
 * Reads trace `name` from `dir`.
 * @returns {Trace}
 */
export function loadTrace(name, dir = TRACES_DIR) {
  const file = tracePath(name, dir)
  if (file === undefined) throw new Error(`trace ${name} not found in ${dir}`)
  const text = gunzipSync(readFileSync(file))
  let lines = 0
  for (let i = 0; i < text.length; i++) if (text[i] === 10) lines++
  const keys = new Int32Array(lines + 1)
  const dense = new Map()
  let n = 0
  let value = 0
  let digits = 0
  const push = () => {
    let id = dense.get(value)
    if (id === undefined) dense.set(value, (id = dense.size))
    keys[n++] = id
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48)
      digits++
    } else if (c === 10) {
      if (digits > 0) push()
      value = 0
      digits = 0
    }
  }
  if (digits > 0) push()
  return { name, keys: keys.subarray(0, n), distinct: dense.size }
}
