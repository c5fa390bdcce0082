/**
 * Parsers of flag values, for commander's `argParser`. They run on values from the command line and
 * from environment variables alike, and throw InvalidOptionsError (`TC_INVALID_OPTIONS`, exit code
 * 2) naming the flag.
 */
import { z } from 'zod'
import type { Prices } from '../ai/index.js'
import { InvalidOptionsError, isTiercacheError, toMs } from '../index.js'
import { type Plans, parsePlans } from '../security/rate-limit/index.js'
import type { ReplayL3 } from './replay/run.js'

/** A commander value parser. */
export type FlagParser<T> = (value: string) => T

/** A whole number: digits, optionally grouped with `_` or `,` (`1_000_000`), or `1e6`. */
function parseWhole(value: string): number {
  const text = value.trim().replace(/[_,](?=\d{3})/g, '')
  return /^\d+(e\d+)?$/i.test(text) ? Number(text) : Number.NaN
}

/** An integer from `min` to `max`. */
export function integerFlag(flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): FlagParser<number> {
  return (value) => {
    const n = parseWhole(value)
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidOptionsError(`${flag} must be an integer from ${min} to ${max}, not '${value}'`)
    }
    return n
  }
}

/** A TCP port, 0 to 65535 (0: any free port). */
export const portFlag: (flag: string) => FlagParser<number> = (flag) => integerFlag(flag, 0, 65_535)

/**
 * A duration, kept as given for `createCache` (which converts it) once checked: `'250ms'`, `'30s'`,
 * `'5m'`, `'1h'`, `'7d'`, or bare milliseconds (`'1500'`, returned as a number).
 */
export function durationFlag(flag: string): FlagParser<number | string> {
  return (value) => {
    const text = value.trim()
    const input = /^\d+(\.\d+)?$/.test(text) ? Number(text) : text
    try {
      toMs(input, flag)
    } catch (error) {
      if (isTiercacheError(error)) throw new InvalidOptionsError(`${error.message}, not '${value}'`)
      throw error
    }
    return input
  }
}

/** A duration in whole milliseconds (`'1ms'`, `'0.25s'`, `'20'`). */
export function durationMsFlag(flag: string): FlagParser<number> {
  return (value) => toMs(durationFlag(flag)(value), flag)
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
}

/** A size in bytes: `'1048576'`, `'512KiB'`, `'64MiB'`, `'1GB'` (KiB/MiB/GiB and k/m/g are powers of 1024, KB/MB/GB of 1000). */
export function bytesFlag(flag: string): FlagParser<number> {
  return (value) => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim())
    const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()]
    const bytes = match === null || unit === undefined ? Number.NaN : Math.round(Number(match[1]) * unit)
    if (!Number.isSafeInteger(bytes) || bytes < 1) {
      throw new InvalidOptionsError(`${flag} must be a size such as 1048576, 512KiB or 64MiB, not '${value}'`)
    }
    return bytes
  }
}

/**
 * The L3 of a replay: `none`; `temp` (a temporary SQLite file, the default); `sqlite:<path>`;
 * `postgres:<url>`, or a bare `postgres://` / `postgresql://` URL.
 */
export function l3Flag(flag: string): FlagParser<ReplayL3> {
  return (value) => {
    const text = value.trim()
    if (text === 'none') return false
    if (text === 'temp' || text === 'sqlite') return 'temporary'
    if (text.startsWith('sqlite:') && text.length > 'sqlite:'.length) return { sqlite: text.slice('sqlite:'.length) }
    if (/^postgres(ql)?:\/\//.test(text)) return { postgres: text }
    if (text.startsWith('postgres:') && text.length > 'postgres:'.length) return { postgres: text.slice('postgres:'.length) }
    throw new InvalidOptionsError(`${flag} must be none, temp, sqlite:<path> or postgres:<url>`)
  }
}

/** An http(s) URL, returned without trailing slashes. */
export function urlFlag(flag: string): FlagParser<string> {
  return (value) => {
    let url: URL
    try {
      url = new URL(value.trim())
    } catch {
      throw new InvalidOptionsError(`${flag} must be a URL such as http://127.0.0.1:4100, not '${value}'`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionsError(`${flag} must be an http or https URL`)
    return url.toString().replace(/\/+$/, '')
  }
}

/** A comma-separated list of tags, trimmed, without empty items or duplicates; at least one. */
export function tagsFlag(flag: string): FlagParser<string[]> {
  return (value) => {
    const tags = [...new Set(value.split(',').map((tag) => tag.trim()).filter((tag) => tag !== ''))]
    if (tags.length === 0) throw new InvalidOptionsError(`${flag} needs at least one tag, e.g. ${flag} user:42,catalog`)
    return tags
  }
}

/** A user id as the cache takes it: 1 to 256 characters (UTF-16 code units), well-formed. */
export function userIdFlag(flag: string): FlagParser<string> {
  return (value) => {
    if (value.length === 0 || value.length > 256 || !value.isWellFormed()) {
      throw new InvalidOptionsError(`${flag} must be a user id of 1 to 256 characters`)
    }
    return value
  }
}

/**
 * Rate-limit plans as JSON: `{ "<name>": { "limit": n, "windowMs": ms } | "unlimited", ... }`, as
 * `serve --plans` and `keys create --plans` take them (TIERCACHE_PLANS).
 */
export function plansFlag(flag: string): FlagParser<Plans> {
  return (value) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(value)
    } catch {
      throw new InvalidOptionsError(`${flag} must be JSON such as {"free":{"limit":1000,"windowMs":3600000},"unlimited":"unlimited"}`)
    }
    try {
      return parsePlans(parsed)
    } catch (error) {
      throw error instanceof InvalidOptionsError ? new InvalidOptionsError(`${flag}: ${error.message}`) : error
    }
  }
}

/** `--redis-prefix`: the pattern of `l2.prefix`, checked here so that the message names the flag. */
export function redisPrefixFlag(flag: string): FlagParser<string> {
  return (value) => {
    if (!/^[A-Za-z0-9._:/-]{1,64}$/.test(value)) throw new InvalidOptionsError(`${flag} must be 1 to 64 letters, digits, '.', '_', ':', '/' or '-'`)
    return value
  }
}

/** `key=value`, added to the values before it, for a repeatable flag such as `--context`. */
export function contextPairFlag(flag: string): (value: string, previous: Readonly<Record<string, string>>) => Record<string, string> {
  return (value, previous) => {
    const at = value.indexOf('=')
    if (at <= 0) throw new InvalidOptionsError(`${flag} must be key=value, e.g. ${flag} freshness=realtime, not '${value}'`)
    return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1).trim() }
  }
}

/** An instant: a date (`2026-07-01`, UTC midnight) or an ISO time (`2026-07-01T12:00:00Z`), as epoch ms. */
export function dateFlag(flag: string): FlagParser<number> {
  return (value) => {
    const ms = Date.parse(value.trim())
    if (!Number.isFinite(ms)) throw new InvalidOptionsError(`${flag} must be a date (2026-07-01) or an ISO time (2026-07-01T12:00:00Z), not '${value}'`)
    return ms
  }
}

const perMillion = z.number({ error: 'must be a number: US dollars per million tokens' }).nonnegative('must be 0 or more')

/** Prices by model: `{ "<model>": { inputPerMillion, outputPerMillion } }`, both US dollars per million tokens. */
const pricesSchema = z.record(
  z.string().min(1),
  z.strictObject(
    { inputPerMillion: perMillion, outputPerMillion: perMillion },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be { "inputPerMillion": n, "outputPerMillion": n }' : undefined) },
  ),
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be an object of models' : issue.code === 'invalid_key' ? 'a model name must not be empty' : undefined) },
)

/**
 * The AI gateway's prices by model as JSON, `{"gpt-4o-mini":{"inputPerMillion":0.15,"outputPerMillion":0.6}}`
 * (US dollars per million tokens), as `serve --ai-prices` takes them (TIERCACHE_AI_PRICES).
 */
export function pricesFlag(flag: string): FlagParser<Prices> {
  const example = '{"gpt-4o-mini":{"inputPerMillion":0.15,"outputPerMillion":0.6}}'
  return (value) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(value)
    } catch {
      throw new InvalidOptionsError(`${flag} must be JSON such as ${example}`)
    }
    const prices = pricesSchema.safeParse(parsed)
    if (prices.success) return prices.data
    const problems = prices.error.issues.map((issue) => {
      const path = issue.path.map(String).filter((part) => part !== '')
      return `${path.length === 0 ? '' : `${path.join('.')}: `}${issue.message}`
    })
    throw new InvalidOptionsError(`${flag}: ${problems.join('; ')} (e.g. ${example})`)
  }
}
