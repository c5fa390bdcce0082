import { type CalendarWindow, occurrencesAround, parseCalendarDay } from './calendar.js'
import type { SeasonConfig } from './schema.js'

/** The seasons holding at some instant, constant until {@link SeasonState.untilMs}. */
export interface SeasonState {
  /** Indexes, in {@link SeasonCalendar.names}, of the seasons holding, in declaration order. */
  readonly active: readonly number[]
  /** The multiplier of L1's bounds: the largest `l1` other than `1` of the seasons holding, else `1`. */
  readonly l1Scale: number
  /** The first instant after the state's start at which a season starts or ends; `Infinity` when none will. */
  readonly untilMs: number
}

interface Season {
  readonly name: string
  readonly l1: number
  readonly timeZone: string
  readonly windows: readonly CalendarWindow[]
}

function windowOf(window: { from: string; to: string }): CalendarWindow {
  const from = parseCalendarDay(window.from)
  const to = parseCalendarDay(window.to)
  // The schema has checked both days.
  if (from === undefined || to === undefined) throw new TypeError(`unchecked window ${window.from}..${window.to}`)
  return { from, to }
}

/**
 * The seasons of a configuration as a calendar: which hold at an instant, and when that changes.
 *
 * A season holds from the start of its window's first day to the end of its last day, in its time
 * zone (`[start, end)`: the last millisecond of the last day is in, the first of the next day is
 * out). Seasons may overlap: every season holding applies (their ttl factors multiply; L1 takes the
 * largest `l1` among those that set one: capacity is a bound, and needs of ×3 and ×2 need ×3). The
 * state at an instant is cached until the next boundary, so that a call per `getOrSet` costs a
 * comparison.
 */
export class SeasonCalendar {
  /** The seasons' names, in declaration order. */
  readonly names: readonly string[]
  private readonly seasons: readonly Season[]
  private cached: { readonly fromMs: number; readonly state: SeasonState } | undefined

  constructor(seasons: Readonly<Record<string, SeasonConfig>>) {
    this.seasons = Object.entries(seasons).map(([name, season]) => ({ name, l1: season.l1, timeZone: season.timeZone, windows: season.windows.map(windowOf) }))
    this.names = this.seasons.map((season) => season.name)
  }

  /** The seasons holding at `now` (epoch ms). */
  at(now: number): SeasonState {
    const cached = this.cached
    if (cached !== undefined && now >= cached.fromMs && now < cached.state.untilMs) return cached.state
    const state = this.compute(now, () => true)
    this.cached = { fromMs: now, state }
    return state
  }

  /** The multiplier of L1's bounds at `now`: the largest `l1` other than `1` of the seasons holding, else `1`. */
  l1Scale(now: number): number {
    return this.at(now).l1Scale
  }

  /**
   * The first instant after `now` at which a season with an `l1` other than `1` starts or ends (when
   * {@link l1Scale} may change); undefined when none ever will.
   */
  nextL1Boundary(now: number): number | undefined {
    const until = this.compute(now, (season) => season.l1 !== 1).untilMs
    return until === Infinity ? undefined : until
  }

  private compute(now: number, counts: (season: Season) => boolean): SeasonState {
    const active: number[] = []
    let l1Scale: number | undefined
    let untilMs = Infinity
    this.seasons.forEach((season, index) => {
      let holds = false
      for (const window of season.windows) {
        for (const { startMs, endMs } of occurrencesAround(window, now, season.timeZone)) {
          if (startMs <= now && now < endMs) holds = true
          if (!counts(season)) continue
          if (startMs > now) untilMs = Math.min(untilMs, startMs)
          if (endMs > now) untilMs = Math.min(untilMs, endMs)
        }
      }
      if (!holds) return
      active.push(index)
      // A season that leaves L1 alone (l1 1, the default) does not outvote one that shrinks it.
      if (season.l1 !== 1) l1Scale = Math.max(l1Scale ?? 0, season.l1)
    })
    return Object.freeze({ active: Object.freeze(active), l1Scale: l1Scale ?? 1, untilMs })
  }
}
