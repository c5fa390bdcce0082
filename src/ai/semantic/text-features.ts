/**
 * The text analysis behind `hashingEmbedder`: tokens, light stemming, a few synonyms, and the
 * "specifics" of a question (numbers, amounts, dates, names, vendor kinds) told apart from its
 * wording. English only; deterministic; no model, no download.
 */

/** A feature of a text and its weight, before hashing. */
export interface Feature {
  readonly name: string
  readonly weight: number
}

/** Weights of {@link textFeatures}. */
export interface FeatureWeights {
  /** Weight of a specific (number, amount, date, month, weekday, season, proper noun, vendor kind). */
  readonly specific: number
  /** Weight of an ordinary content word. */
  readonly word: number
  /** Weight of a bigram of consecutive content tokens. */
  readonly bigram: number
  /** Total weight of a word's character trigrams (spread over them), for morphology and typos. */
  readonly trigrams: number
}

const STOP_WORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by can
  could did do does doing down during each few for from further had has have having he her here hers herself him himself his how
  i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours ourselves out
  over own same she should so some such than that the their theirs them themselves then there these they this those through to
  too under until up very was we were what when where which while who whom why will with would you your yours yourself
  yourselves much many also really please tell know like want wanted get got give let lets let's us ok okay hi hello thanks
  thank anything something someone somewhere etc i'm i'd i'll we're we'd we'll it's what's there's how's that's any typically
  usually generally typical roughly around approximately about basically actually quite maybe might must shall ought may`.split(/\s+/),
)

/** Months, weekdays and seasons (and their abbreviations) as the one token each stands for. */
const TIME_WORDS = new Map<string, string>()
for (const [full, ...short] of [
  ['january', 'jan'], ['february', 'feb'], ['march', 'mar'], ['april', 'apr'], ['may'], ['june', 'jun'], ['july', 'jul'],
  ['august', 'aug'], ['september', 'sep', 'sept'], ['october', 'oct'], ['november', 'nov'], ['december', 'dec'],
  ['monday', 'mon'], ['tuesday', 'tue', 'tues'], ['wednesday', 'wed'], ['thursday', 'thu', 'thurs'], ['friday', 'fri'],
  ['saturday', 'sat'], ['sunday', 'sun'], ['spring'], ['summer'], ['autumn', 'fall'], ['winter'], ['weekend'], ['weekday'],
  ['christmas', 'xmas'], ['easter'], ['thanksgiving'],
] as string[][]) {
  for (const word of [full as string, ...short]) TIME_WORDS.set(word, `time:${full as string}`)
}
// "may" is a month and a modal verb, "sun" a weekday and a star, "mar" a month and a verb, "fall" a season and a verb: only capitalised, or next to a number, are they dates.
const AMBIGUOUS_TIME = new Set(['may', 'sun', 'sat', 'mar', 'wed', 'fall', 'jan', 'dec', 'sep', 'oct', 'nov', 'jun', 'jul', 'aug', 'apr', 'feb', 'mon', 'tue', 'thu', 'fri'])

/** Kinds of vendors and services: the "which one" of a question as much as a city is. */
const KINDS = new Set(
  `photographer videographer florist caterer catering baker cake dj band musician officiant planner coordinator venue
  barn vineyard winery ballroom beach garden church chapel rooftop hotel hostel resort airbnb apartment villa cabin campsite
  flight train bus ferry cruise car taxi uber rental limo shuttle restaurant bar cafe museum tour guide spa hairstylist
  makeup dress suit tuxedo ring invitation favor cocktail brunch buffet dinner lunch breakfast vegan vegetarian gluten kosher
  halal passport visa insurance luggage backpack stroller toddler kid pet dog honeymoon elopement rehearsal shower bachelorette
  bachelor anniversary engagement proposal`.split(/\s+/),
)

/** A few synonyms folded into one token (after stemming), so that a reworded question keeps its words. */
const SYNONYMS = new Map<string, string>()
for (const [canonical, ...others] of [
  ['cost', 'price', 'pric', 'expense', 'fee', 'charge', 'spend', 'expensive', 'pay'],
  ['cheap', 'affordable', 'inexpensive', 'low-cost', 'bargain'],
  ['recommend', 'suggest', 'suggestion', 'recommendation', 'advise', 'advice', 'idea', 'option'],
  ['best', 'top', 'good', 'great', 'ideal', 'nicest', 'favorite', 'favourite'],
  ['guest', 'people', 'person', 'attendee', 'pax', 'invitee', 'visitor'],
  ['wedding', 'marriage', 'nuptial'],
  ['visit', 'go', 'travel', 'trip', 'see', 'tour'],
  ['need', 'require', 'necessary', 'must-have', 'essential'],
  ['hold', 'fit', 'accommodate', 'seat', 'host', 'capacity', 'room'],
  ['book', 'reserve', 'reservation', 'booking', 'hire'],
  ['pack', 'bring', 'packing'],
  ['weather', 'climate', 'temperature'],
  ['long', 'duration', 'length', 'day'],
  ['start', 'begin', 'kick'],
  ['find', 'look', 'search', 'locate'],
  ['nearby', 'near', 'close', 'around'],
  ['plan', 'organize', 'organise', 'arrange', 'planning'],
  ['eat', 'food', 'dish', 'cuisine', 'meal'],
  ['kid', 'child', 'children', 'toddler'],
  ['photographer', 'photog', 'photography'],
  ['cake', 'baker', 'bakery'],
  ['caterer', 'cater', 'catering'],
  ['hotel', 'accommodation', 'lodging', 'stay'],
  ['pet', 'dog', 'cat'],
  ['flight', 'fly', 'airfare', 'plane', 'airline'],
  ['dress', 'gown'],
  ['itinerary', 'schedule', 'timeline', 'agenda'],
] as string[][]) {
  for (const word of others) SYNONYMS.set(word, canonical as string)
}

const UNITS = new Map([['k', 1e3], ['m', 1e6], ['thousand', 1e3], ['grand', 1e3], ['million', 1e6]])
const CURRENCY_WORDS = new Set(['dollar', 'dollars', 'usd', 'euro', 'euros', 'eur', 'pound', 'pounds', 'gbp', 'bucks'])

/** Tokens: words (with apostrophes), numbers (with separators and a unit suffix), currency signs, sentence ends. */
const TOKEN = /([$€£¥])|(\d[\d,]*(?:\.\d+)?)(?:(k|m)\b|(?:st|nd|rd|th)\b)?|([\p{L}][\p{L}'’-]*)|([.!?;:]+)/gu

interface RawToken {
  readonly kind: 'word' | 'number' | 'currency' | 'end'
  readonly text: string
  readonly capitalised: boolean
  /** All capitals, two letters or more: an acronym (US, NYC, JFK), a name even where its letters spell a stop word. */
  readonly acronym: boolean
}

function rawTokens(text: string): RawToken[] {
  const tokens: RawToken[] = []
  for (const match of text.normalize('NFKC').matchAll(TOKEN)) {
    const [, currency, number, unit, word, end] = match
    if (currency !== undefined) tokens.push({ kind: 'currency', text: currency, capitalised: false, acronym: false })
    else if (number !== undefined) {
      const value = Number(number.replace(/,/g, '')) * (unit === undefined ? 1 : (UNITS.get(unit.toLowerCase()) ?? 1))
      tokens.push({ kind: 'number', text: formatNumber(value), capitalised: false, acronym: false })
    } else if (word !== undefined) {
      for (const part of word.split(/[-]/)) {
        if (part.length === 0) continue
        const first = part.charAt(0)
        const acronym = part.length > 1 && part === part.toUpperCase() && part !== part.toLowerCase()
        tokens.push({ kind: 'word', text: part.toLowerCase().replace(/’/g, "'"), capitalised: first !== first.toLowerCase(), acronym })
      }
    } else if (end !== undefined) tokens.push({ kind: 'end', text: end, capitalised: false, acronym: false })
  }
  return tokens
}

function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : 'nan'
}

/** Light suffix stripping (a small subset of Porter's step 1), enough to fold plurals and verb forms. */
export function stem(word: string): string {
  let w = word.replace(/'s$/, '').replace(/'$/, '')
  if (w.length === 3 && /[^aeiousy]s$/.test(w)) return w.slice(0, -1)
  if (w.length <= 3) return w
  if (w.endsWith('ies') && w.length > 4) return w.slice(0, -3) + 'y'
  if (w.endsWith('sses')) return w.slice(0, -2)
  if (w.endsWith('ches') || w.endsWith('shes') || w.endsWith('xes')) return w.slice(0, -2)
  if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1)
  for (const suffix of ['ing', 'ed']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) {
      w = w.slice(0, -suffix.length)
      if (/([^aeioulsz])\1$/.test(w)) w = w.slice(0, -1)
      break
    }
  }
  return w
}

interface Token {
  readonly name: string
  readonly specific: boolean
}

/** The content tokens of a text: stop words dropped, words stemmed and folded, specifics marked. */
export function contentTokens(text: string): Token[] {
  const raw = rawTokens(text)
  const out: Token[] = []
  let sentenceStart = true
  for (let i = 0; i < raw.length; i++) {
    const token = raw[i] as RawToken
    if (token.kind === 'end') {
      sentenceStart = true
      continue
    }
    const previous = raw[i - 1]
    const next = raw[i + 1]
    const atStart = sentenceStart
    sentenceStart = false
    if (token.kind === 'currency') continue
    if (token.kind === 'number') {
      const money = previous?.kind === 'currency' || (next?.kind === 'word' && CURRENCY_WORDS.has(next.text))
      out.push({ name: money ? `money:${token.text}` : `num:${token.text}`, specific: true })
      continue
    }
    const word = token.text
    const time = TIME_WORDS.get(word)
    if (time !== undefined && (!AMBIGUOUS_TIME.has(word) || (token.capitalised && !atStart) || previous?.kind === 'number' || next?.kind === 'number')) {
      out.push({ name: time, specific: true })
      continue
    }
    if (token.acronym && !CURRENCY_WORDS.has(word)) {
      out.push({ name: word, specific: true })
      continue
    }
    if (STOP_WORDS.has(word) || CURRENCY_WORDS.has(word) || UNITS.has(word)) continue
    const stemmed = stem(word)
    const folded = SYNONYMS.get(stemmed) ?? SYNONYMS.get(word) ?? stemmed
    if (STOP_WORDS.has(folded) || folded.length < 2) continue
    // A capitalised word inside a sentence is a name (a city, a venue, a brand); "I" and
    // sentence starts are not evidence of one.
    const proper = token.capitalised && !atStart && word.length > 1
    // One feature name either way, so that "Austin venues" and "venues in Austin" share it.
    out.push({ name: folded, specific: proper || KINDS.has(folded) })
  }
  return out
}

/**
 * The weighted features of a text: its content tokens (specifics weighted up), bigrams of
 * consecutive content tokens, and the character trigrams of ordinary words. A repeated feature
 * adds up, with sub-linear growth (square root of the count) so that repetition does not dominate.
 */
export function textFeatures(text: string, weights: FeatureWeights): Feature[] {
  const tokens = contentTokens(text)
  const totals = new Map<string, number>()
  const add = (name: string, weight: number) => totals.set(name, (totals.get(name) ?? 0) + weight)
  const counts = new Map<string, number>()
  for (const token of tokens) counts.set(token.name, (counts.get(token.name) ?? 0) + 1)
  for (const [name, count] of counts) {
    const specific = tokens.some((t) => t.name === name && t.specific)
    add(`w:${name}`, (specific ? weights.specific : weights.word) * Math.sqrt(count))
    if (!specific && weights.trigrams > 0 && name.length > 3) {
      const padded = `^${name}$`
      const grams = padded.length - 2
      for (let i = 0; i < grams; i++) add(`c:${padded.slice(i, i + 3)}`, (weights.trigrams * Math.sqrt(count)) / Math.sqrt(grams))
    }
  }
  for (let i = 1; i < tokens.length; i++) add(`b:${(tokens[i - 1] as Token).name} ${(tokens[i] as Token).name}`, weights.bigram)
  return [...totals].map(([name, weight]) => ({ name, weight }))
}
