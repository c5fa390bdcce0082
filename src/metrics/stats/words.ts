/** Figures in words, for the messages of suggestions (read by people, in JSON and on the terminal). */

/** `0.4567` → `'46%'`; below 10 %, one decimal: `0.0123` → `'1.2%'`. */
export function formatShare(fraction: number): string {
  const percent = fraction * 100
  return `${percent >= 10 || percent === 0 ? Math.round(percent) : percent.toFixed(1)}%`
}

/** Bytes in binary units: `300000` → `'293 KiB'`. */
export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`
}

/** A ttl in ms, in the unit that reads best: `1500` → `'1.5 s'`, `300000` → `'5 min'`. */
export function formatTtl(ms: number): string {
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`
  return `${Number((ms / 3_600_000).toFixed(1))} h`
}

/** `('l2', 'redis')` → `'L2 (redis)'`. */
export function tierName(level: string, kind: string | undefined): string {
  return kind === undefined ? level.toUpperCase() : `${level.toUpperCase()} (${kind})`
}
