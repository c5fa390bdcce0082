import { InvalidContextError } from '../../errors.js'
import type { MarketSpec } from './schema.js'
import { shown } from './shown.js'

/**
 * A place name as market data is matched on: Unicode NFC, trimmed, runs of whitespace as one space,
 * lowercased (locale-independent), so that `'new  york'` finds `'New York'`.
 */
export function normalizePlace(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase()
}

/** A location's bucket, and why. */
export interface PlaceBucket {
  /** `city:<name>` for a major city, `region:<region>` for a city of a region, else the market's `otherwise`. */
  readonly bucket: string
  readonly reason: string
}

/** Buckets locations by one market's data: a major city stands alone, the cities of a region share its bucket. */
export class Market {
  private readonly places = new Map<string, PlaceBucket>()

  constructor(
    private readonly name: string,
    private readonly spec: MarketSpec,
  ) {
    for (const city of spec.major) this.places.set(normalizePlace(city), { bucket: `city:${city}`, reason: `${city} is a major city of market ${name}: it stands alone` })
    for (const [region, cities] of Object.entries(spec.regions)) {
      for (const city of cities) this.places.set(normalizePlace(city), { bucket: `region:${region}`, reason: `${city} is in region ${region} of market ${name}` })
    }
  }

  /**
   * The bucket of `location`.
   * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a location the market does not list, when it has no `otherwise`, or a value that is not text
   */
  bucketOf(location: string | number | boolean, field: string): PlaceBucket {
    if (typeof location !== 'string') throw new InvalidContextError(`context field ${field}: a location is text, not ${shown(location)}`)
    const found = this.places.get(normalizePlace(location))
    if (found !== undefined) return found
    const { otherwise } = this.spec
    if (otherwise === undefined) {
      throw new InvalidContextError(
        `context field ${field}: market ${this.name} lists no location ${shown(location)}; add it to keys.markets.${this.name} (major or a region), or give the market an otherwise bucket`,
      )
    }
    return { bucket: otherwise, reason: `${shown(location)} is listed nowhere in market ${this.name}: its otherwise bucket` }
  }
}
