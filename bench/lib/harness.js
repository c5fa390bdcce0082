// Measuring and printing: every suite hands its tasks to `measure` and prints with `formatTable`, so
// that all numbers in one run come from the same method and read the same way. `measurePaired` is
// for ratios too tight to read off two rows timed seconds apart (the L2 suite's goals).
import { setImmediate } from 'node:timers'
import { Bench } from 'tinybench'

/**
 * Timing settings of one run. `--quick` shortens them for a smoke test (numbers then are rough).
 * @typedef {{ time: number, warmupTime: number }} Timing
 */

/**
 * A task of a suite.
 * @typedef {object} TaskSpec
 * @property {string} name - row label
 * @property {(i: number) => unknown} fn - one operation; may return a promise, which is awaited
 * @property {number} [batch] - operations timed together per sample (see `measure`); default 1
 * @property {boolean} [skip] - print the row as skipped instead of running it
 * @property {string} [skipReason]
 */

/**
 * The figures of one row. Times are in milliseconds per operation.
 * @typedef {object} Row
 * @property {string} name
 * @property {number} [opsPerSec] - 1000 / mean
 * @property {number} [mean]
 * @property {number} [p50]
 * @property {number} [p99]
 * @property {number} [rme] - relative margin of error of the mean, percent (95 %)
 * @property {number} [samples]
 * @property {number} [batch]
 * @property {string} [error] - why the row has no figures
 */

/**
 * Runs each task with tinybench (warm-up, then at least `timing.time` ms of samples) and returns one
 * row per task, in order.
 *
 * An operation that takes ~100 ns cannot be timed alone: a timer read costs ~30-50 ns and tinybench's
 * own await adds more. So a task with `batch: n` is timed n operations at a time (each awaited, in
 * sequence, as a caller would), and the sample recorded is the mean per operation of that batch,
 * through tinybench's `overriddenDuration`. Mean and ops/s are then exact per operation; p50 and p99
 * describe batch means, so they show jitter between batches, not the tail of single calls. Tasks
 * slow enough to time one by one (anything doing I/O) use `batch: 1`, and their p99 is per call.
 *
 * A task that throws is reported with its error rather than aborting the suite.
 *
 * @param {TaskSpec[]} tasks
 * @param {Timing} timing
 * @returns {Promise<Row[]>}
 */
export async function measure(tasks, timing) {
  const bench = new Bench({
    time: timing.time,
    warmupTime: timing.warmupTime,
    // Few but long batched samples are fine; the time budget is what bounds the run.
    iterations: 10,
    warmupIterations: 5,
    // Start every task (warm-up and run) with a clean heap, so that one task's garbage is not
    // collected on the next one's clock. Needs `node --expose-gc`, which `npm run bench` passes.
    setup: () => global.gc?.(),
  })
  const batches = new Map()
  for (const task of tasks) {
    if (task.skip) continue
    const batch = task.batch ?? 1
    batches.set(task.name, batch)
    bench.add(task.name, timed(task.fn, batch), { async: true })
  }
  await bench.run()

  return tasks.map((task) => {
    if (task.skip) return { name: task.name, error: task.skipReason ?? 'skipped' }
    const result = bench.getTask(task.name)?.result
    if (result === undefined || result.state === 'errored') {
      return { name: task.name, error: `error: ${result?.error?.message ?? 'did not run'}` }
    }
    if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
      return { name: task.name, error: result.state }
    }
    const { latency } = result
    return {
      name: task.name,
      // tinybench's throughput.mean is the mean of per-sample rates (biased upwards by fast
      // outliers); operations over time is 1000 / mean latency.
      opsPerSec: 1000 / latency.mean,
      mean: latency.mean,
      p50: latency.p50,
      p99: latency.p99,
      rme: latency.rme,
      samples: latency.samplesCount,
      batch: batches.get(task.name),
    }
  })
}

/** Wraps `fn` into a tinybench task that runs it `batch` times and reports the mean per call. */
function timed(fn, batch) {
  let i = 0
  return async () => {
    const start = process.hrtime.bigint()
    for (let n = 0; n < batch; n++) await fn(i++)
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6
    return { overriddenDuration: elapsedMs / batch, overriddenIterationCost: elapsedMs }
  }
}

/**
 * The figures of one operation of {@link measurePaired}. Times in milliseconds per operation.
 * @typedef {{ name: string, mean: number, p50: number, samples: number }} PairedFigures
 */

/**
 * Times two or more operations in alternation, one call of each per round (in reverse order every
 * other round, so that neither always runs first), each call timed alone and started once the I/O
 * pending after the previous one has run: a warm-up of `timing.warmupTime`, then at least
 * `timing.time` ms of rounds.
 *
 * For comparing operations that each take one network round trip: on a shared machine the round
 * trip drifts by tens of percent over seconds (the other processes' load, the server's), so two rows
 * measured one after the other can differ by more than what separates the operations. Alternating
 * call by call exposes both to the same conditions, and the ratio of their medians is stable from
 * run to run.
 *
 * @param {{ name: string, fn: (i: number) => unknown }[]} operations
 * @param {Timing} timing
 * @returns {Promise<PairedFigures[]>} in the order of `operations`
 */
export async function measurePaired(operations, timing) {
  const samples = operations.map(() => [])
  let i = 0
  const rounds = async (ms, record) => {
    const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6))
    for (let round = 0; process.hrtime.bigint() < end; round++) {
      for (let k = 0; k < operations.length; k++) {
        const index = round % 2 === 0 ? k : operations.length - 1 - k
        const start = process.hrtime.bigint()
        await operations[index].fn(i++)
        if (record) samples[index].push(Number(process.hrtime.bigint() - start) / 1e6)
        // Let the I/O that arrived with the reply run before the next call: what a call leaves
        // behind (the echo of a bus message it published) would otherwise be timed on the next
        // call, which belongs to another operation.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  }
  global.gc?.()
  await rounds(timing.warmupTime, false)
  await rounds(timing.time, true)
  return operations.map(({ name }, index) => {
    const sorted = samples[index].sort((a, b) => a - b)
    return {
      name,
      mean: sorted.reduce((sum, d) => sum + d, 0) / sorted.length,
      p50: sorted[Math.floor((sorted.length - 1) / 2)],
      samples: sorted.length,
    }
  })
}

/** `ms` (a duration in milliseconds) in the unit that reads best: ns, µs, ms or s. */
export function formatDuration(ms) {
  if (ms === undefined || !Number.isFinite(ms)) return '-'
  if (ms < 0.001) return `${(ms * 1e6).toFixed(0)} ns`
  if (ms < 0.01) return `${(ms * 1e3).toFixed(2)} µs`
  if (ms < 1) return `${(ms * 1e3).toFixed(1)} µs`
  if (ms < 1000) return `${ms.toFixed(2)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

/** An integer with thousands separators, independent of the machine's locale. */
export function formatCount(n) {
  if (n === undefined || !Number.isFinite(n)) return '-'
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** A ratio such as `12.3×`. */
export function formatRatio(r) {
  if (!Number.isFinite(r)) return '-'
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

/**
 * Rows as an aligned markdown table: task | ops/s | mean | p50 | p99 | ± | samples.
 * A row without figures shows its reason in the ops/s column.
 * @param {Row[]} rows
 */
export function formatTable(rows) {
  const header = ['task', 'ops/s', 'mean', 'p50', 'p99', '±', 'samples']
  const right = [false, true, true, true, true, true, true]
  const body = rows.map((row) =>
    row.error !== undefined
      ? [row.name, row.error, '', '', '', '', '']
      : [
          row.name,
          formatCount(row.opsPerSec),
          formatDuration(row.mean),
          formatDuration(row.p50),
          formatDuration(row.p99),
          `${row.rme.toFixed(1)}%`,
          row.batch > 1 ? `${formatCount(row.samples)}×${row.batch}` : formatCount(row.samples),
        ],
  )
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => cells[c].length)))
  const line = (cells) =>
    '| ' + cells.map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ') + ' |'
  const rule = '|' + widths.map((w, c) => (right[c] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|'
  return [line(header), rule, ...body.map(line)].join('\n')
}

/** The row named `name`, when it has figures. */
export function figures(rows, name) {
  const row = rows.find((r) => r.name === name)
  return row?.error === undefined ? row : undefined
}
