/** Formatting of numbers and tables for the command line's human output (never for --json). */

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** `914145` → `'914,145'`. */
export function formatInteger(n: number): string {
  return integerFormat.format(n)
}

/** A fraction as a percentage: `0.32831` → `'32.83%'`. */
export function formatPercent(fraction: number, digits = 2): string {
  return `${(fraction * 100).toFixed(digits)}%`
}

/** Three significant digits, without a trailing `.0`. */
function threeDigits(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)
}

/** A duration in ms in the unit that reads best: `0.0123` → `'12.3 µs'`, `1534` → `'1.53 s'`. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${threeDigits(ms * 1000)} µs`
  if (ms < 1000) return `${threeDigits(ms)} ms`
  if (ms < 60_000) return `${threeDigits(ms / 1000)} s`
  // Rounded to the second first, so that 299,988 ms reads 5 min 0 s, not 4 min 60 s.
  const seconds = Math.round(ms / 1000)
  const minutes = Math.floor(seconds / 60)
  return `${minutes} min ${seconds - minutes * 60} s`
}

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })
const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 3 })

/**
 * US dollars as the dashboard shows them: to the cent from $1 up (`1234.5` → `'$1,234.50'`), three
 * significant digits below, where an answer saves a fraction of a cent (`0.00007912` → `'$0.0000791'`).
 */
export function formatUsd(amount: number): string {
  return amount > 0 && amount < 1 ? usdSmall.format(amount) : usd.format(amount)
}

/** Bytes in binary units: `67108864` → `'64 MiB'`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`
}

/** How a table column is aligned: text left, numbers right. */
export type Align = 'left' | 'right'

/**
 * Lays `rows` out as columns separated by two spaces; the first row is the header. Columns beyond
 * `align` are left-aligned. Trailing spaces are trimmed.
 */
export function formatTable(rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          const width = widths[i] ?? 0
          return align[i] === 'right' ? cell.padStart(width) : cell.padEnd(width)
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** `label value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

/** Milliseconds as a person reads them: `4050000` → `'1h 7m 30s'`, `28555` → `'28.555s'`, `250` → `'250ms'`. */
export function formatSpan(ms: number): string {
  if (ms === Infinity) return '∞'
  if (ms < 1000) return `${ms}ms`
  const parts: string[] = []
  let rest = ms
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    const count = Math.floor(rest / size)
    rest -= count * size
    if (count > 0) parts.push(`${count}${unit}`)
  }
  if (rest > 0) parts.push(`${+(rest / 1000).toFixed(3)}s`)
  return parts.join(' ')
}
