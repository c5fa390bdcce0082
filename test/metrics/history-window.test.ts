import { describe, expect, it } from 'vitest'
import type { HistogramFamily } from '../../src/cache/instruments/snapshot.js'
import { familiesOf } from '../../src/metrics/stats/history-window.js'
import type { CounterSum } from '../../src/metrics/history/store.js'

const row = (metric: string, labels: string, value: number, le = '', lower: number | null = null): CounterSum => ({ step: 0, metric, labels, le, lower, value })

describe('familiesOf', () => {
  it('sums the rows of a series, and keeps series apart by labels', () => {
    const families = familiesOf([
      row('tiercache_requests_total', '{"namespace":"a","operation":"get"}', 2),
      row('tiercache_requests_total', '{"namespace":"a","operation":"get"}', 3),
      row('tiercache_requests_total', '{"namespace":"b","operation":"get"}', 1),
    ])
    expect(families).toEqual([
      {
        type: 'counter',
        name: 'tiercache_requests_total',
        help: '',
        samples: [
          { labels: { namespace: 'a', operation: 'get' }, value: 5 },
          { labels: { namespace: 'b', operation: 'get' }, value: 1 },
        ],
      },
    ])
  })

  it('rebuilds histograms from bucket rows, bounding buckets that had no rows by their neighbours', () => {
    const labels = '{"tier":"l3"}'
    const [family] = familiesOf([
      row('tiercache_tier_read_duration_seconds_bucket', labels, 10, '0.005', 0.0025),
      row('tiercache_tier_read_duration_seconds_bucket', labels, 2, '0.05', 0.025),
      row('tiercache_tier_read_duration_seconds_bucket', labels, 1, '+Inf', 10),
      row('tiercache_tier_read_duration_seconds_sum', labels, 11.5),
      row('tiercache_tier_read_duration_seconds_count', labels, 13),
    ]) as [HistogramFamily]
    expect(family).toMatchObject({ type: 'histogram', name: 'tiercache_tier_read_duration_seconds', buckets: [0.0025, 0.005, 0.025, 0.05, 10] })
    expect(family.samples).toEqual([{ labels: { tier: 'l3' }, counts: [0, 10, 0, 2, 0, 1], sum: 11.5, count: 13 }])
  })

  it('reads labels that are not an object of strings as none', () => {
    const [family] = familiesOf([row('tiercache_deletes_total', 'not json', 1), row('tiercache_deletes_total', '[1]', 1)])
    expect(family).toMatchObject({ samples: [{ labels: {}, value: 1 }, { labels: {}, value: 1 }] })
  })
})
