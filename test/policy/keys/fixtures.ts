import type { PolicyConfigInput } from '../../../src/policy/config.js'

/** The planner's configuration of the issue: market, season, budget and guests buckets. */
export const plannerConfig = {
  seasons: {
    peak: { windows: [{ from: '04-01', to: '10-31' }], ttl: 0.5, l1: 3 },
    holidays: { windows: [{ from: '12-15', to: '01-05' }] },
  },
  keys: {
    markets: {
      us: {
        major: ['New York', 'Los Angeles', 'Chicago'],
        regions: { TX: ['Austin', 'Dallas', 'El Paso'], 'Pacific Northwest': ['Portland', 'Seattle'] },
      },
      uk: { major: ['London'], regions: { Scotland: ['Edinburgh', 'Glasgow'] }, otherwise: 'rest-of-uk' },
    },
    builders: {
      venueSearch: {
        version: 2,
        params: ['query', { name: 'page', type: 'integer', optional: true }],
        context: {
          location: { market: 'us' },
          date: { season: true },
          budget: { tiers: [5000, 15000, 40000] },
          guests: { bands: [50, 100, 200] },
        },
      },
      photographers: {
        params: [{ name: 'style', type: 'string', fold: true }],
        context: {
          location: { market: 'uk' },
          date: { windows: { summer: [{ from: '06-01', to: '08-31' }] }, otherwise: 'rest-of-year', optional: true },
          budget: { tiers: [1000, 3000], names: ['basic', 'standard', 'premium'], optional: true },
        },
      },
      countries: { params: [] },
    },
  },
} satisfies PolicyConfigInput
