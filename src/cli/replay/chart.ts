/**
 * The hit-ratio curve of a sizing replay as an SVG image: hit ratio against L1 size, one line per
 * eviction policy (the complement of a miss-ratio curve), so that one sees where more memory stops
 * paying. Written by hand: a few lines, paths and labels, no DOM needed.
 */
import type { SizingReport } from './sizes.js'

const WIDTH = 720
const HEIGHT = 420
const MARGIN = { top: 48, right: 150, bottom: 56, left: 64 }
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** `n` as a short label: 1000 → 1k, 2500000 → 2.5M. */
function shortNumber(n: number): string {
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`
  if (n >= 1e3) return `${Number((n / 1e3).toPrecision(3))}k`
  return String(n)
}

/**
 * The SVG document of `report`'s curve: x the L1 size in entries (a log scale when the sizes span
 * ten times or more), y the hit ratio in %, from 0 to the next 10 % above the highest point.
 */
export function hitRatioChart(report: SizingReport): string {
  const sizes = [...new Set(report.points.map((point) => point.entries))].sort((a, b) => a - b)
  const evictions = [...new Set(report.points.map((point) => point.eviction))]
  const low = sizes[0] ?? 1
  const high = sizes.at(-1) ?? 1
  const log = high / low >= 10
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const span = log ? Math.log(high / low) : high - low
  const x = (size: number) => MARGIN.left + (span === 0 ? plotWidth / 2 : ((log ? Math.log(size / low) : size - low) / span) * plotWidth)
  const top = Math.min(100, Math.max(10, Math.ceil((Math.max(...report.points.map((point) => point.hitRatio)) * 100) / 10) * 10))
  const y = (ratio: number) => MARGIN.top + plotHeight - ((ratio * 100) / top) * plotHeight
  const parts: string[] = []
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`)
  parts.push(`<text x="${MARGIN.left}" y="28" font-size="16" font-weight="600">${escape(`Hit ratio by L1 size: ${report.trace}`)}</text>`)
  for (let percent = 0; percent <= top; percent += 10) {
    const at = y(percent / 100)
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${at}" y2="${at}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${MARGIN.left - 8}" y="${at + 4}" font-size="12" text-anchor="end">${percent} %</text>`)
  }
  for (const size of sizes) {
    parts.push(`<line x1="${x(size)}" x2="${x(size)}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight + 5}" stroke="#333"/>`)
    parts.push(`<text x="${x(size)}" y="${MARGIN.top + plotHeight + 20}" font-size="12" text-anchor="middle">${shortNumber(size)}</text>`)
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`)
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 12}" font-size="13" text-anchor="middle">L1 size (entries${log ? ', log scale' : ''})</text>`)
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" font-size="13" text-anchor="middle">hit ratio</text>`)
  evictions.forEach((eviction, index) => {
    const color = COLORS[index % COLORS.length] ?? '#000'
    const points = report.points.filter((point) => point.eviction === eviction).sort((a, b) => a.entries - b.entries)
    const path = points.map((point, n) => `${n === 0 ? 'M' : 'L'}${x(point.entries).toFixed(1)},${y(point.hitRatio).toFixed(1)}`).join(' ')
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`)
    for (const point of points) {
      parts.push(`<circle cx="${x(point.entries).toFixed(1)}" cy="${y(point.hitRatio).toFixed(1)}" r="3.5" fill="${color}"><title>${escape(`${eviction} at ${point.entries}: ${(point.hitRatio * 100).toFixed(2)} %`)}</title></circle>`)
    }
    const legendY = MARGIN.top + 16 + index * 22
    parts.push(`<line x1="${WIDTH - MARGIN.right + 16}" x2="${WIDTH - MARGIN.right + 40}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`)
    parts.push(`<text x="${WIDTH - MARGIN.right + 46}" y="${legendY + 4}" font-size="13">${escape(eviction)}</text>`)
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif">\n${parts.join('\n')}\n</svg>\n`
}
