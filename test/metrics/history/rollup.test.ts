import { describe, expect, it } from 'vitest'
import { canonicalLabels, flatten, inEverySpan, minuteOf, rollupRows } from '../../../src/metrics/history/rollup.js'
import { FakeInstruments } from './fake-source.js'

const MIN = 60_000

describe('rollup rows', () => {
  it('spells labels one way whatever their order', () => {
    expect(canonicalLabels({ tier: 'l1', namespace: 'flights' })).toBe('{"namespace":"flights","tier":"l1"}')
    expect(canonicalLabels({ namespace: 'flights', tier: 'l1' })).toBe(canonicalLabels({ tier: 'l1', namespace: 'flights' }))
    expect(canonicalLabels({})).toBe('{}')
  })

  it('writes what each counter added, every gauge, and nothing for counters that stood still', () => {
    const m = new FakeInstruments()
      .count('tiercache_requests_total', { namespace: 'a', operation: 'get' }, 5)
      .count('tiercache_requests_total', { namespace: 'b', operation: 'get' }, 2)
      .set('tiercache_entries', { tier: 'l1' }, 40)
    const first = flatten(m.snapshot())
    expect(rollupRows(new Map(), first, 0, 'i1')).toEqual([
      { span: MIN, minute: 0, instance: 'i1', metric: 'tiercache_requests_total', labels: '{"namespace":"a","operation":"get"}', pointLabels: '{}', le: '', lower: null, tenant: '', kind: 'counter', value: 5 },
      { span: MIN, minute: 0, instance: 'i1', metric: 'tiercache_requests_total', labels: '{"namespace":"b","operation":"get"}', pointLabels: '{}', le: '', lower: null, tenant: '', kind: 'counter', value: 2 },
      { span: MIN, minute: 0, instance: 'i1', metric: 'tiercache_entries', labels: '{"tier":"l1"}', pointLabels: '{"tier":"l1"}', le: '', lower: null, tenant: '', kind: 'gauge', value: 40 },
    ])
    m.count('tiercache_requests_total', { namespace: 'a', operation: 'get' }, 3).set('tiercache_entries', { tier: 'l1' }, 38)
    const second = flatten(m.snapshot())
    expect(rollupRows(first, second, MIN, 'i1').map((r) => [r.metric, r.labels, r.value])).toEqual([
      ['tiercache_requests_total', '{"namespace":"a","operation":"get"}', 3],
      ['tiercache_entries', '{"tier":"l1"}', 38],
    ])
  })

  it('writes a histogram as bucket, sum and count deltas, only for buckets that moved', () => {
    const m = new FakeInstruments().observe('tiercache_origin_duration_seconds', { namespace: 'a' }, 0.003, 0.004, 20)
    const first = flatten(m.snapshot())
    m.observe('tiercache_origin_duration_seconds', { namespace: 'a' }, 0.004)
    const rows = rollupRows(first, flatten(m.snapshot()), MIN, 'i1')
    expect(rows.map((r) => [r.metric, r.le, r.lower, r.value])).toEqual([
      ['tiercache_origin_duration_seconds_bucket', '0.005', 0.0025, 1],
      ['tiercache_origin_duration_seconds_sum', '', null, expect.closeTo(0.004, 12)],
      ['tiercache_origin_duration_seconds_count', '', null, 1],
    ])
    expect(rows.map((r) => [r.metric, r.le, r.value])).toEqual([
      ['tiercache_origin_duration_seconds_bucket', '0.005', 1],
      ['tiercache_origin_duration_seconds_sum', '', expect.closeTo(0.004, 12)],
      ['tiercache_origin_duration_seconds_count', '', 1],
    ])
    const all = rollupRows(new Map(), first, 0, 'i1')
    expect(all.map((r) => [r.metric, r.le, r.lower, r.value]).slice(0, 2)).toEqual([
      ['tiercache_origin_duration_seconds_bucket', '0.005', 0.0025, 2],
      ['tiercache_origin_duration_seconds_bucket', '+Inf', 10, 1],
    ])
    const lowest = new FakeInstruments().observe('tiercache_origin_duration_seconds', {}, 0.00001)
    expect(rollupRows(new Map(), flatten(lowest.snapshot()), 0, 'i1')[0]).toMatchObject({ le: '0.0001', lower: null })
    expect(all.map((r) => [r.metric, r.le, r.value])).toEqual([
      ['tiercache_origin_duration_seconds_bucket', '0.005', 2],
      ['tiercache_origin_duration_seconds_bucket', '+Inf', 1],
      ['tiercache_origin_duration_seconds_sum', '', expect.closeTo(20.007, 12)],
      ['tiercache_origin_duration_seconds_count', '', 3],
    ])
  })

  it('takes a counter that went down for a restarted source: the new value is what was added', () => {
    const m = new FakeInstruments().count('tiercache_hits_total', { namespace: 'a', tier: 'l1' }, 10)
    const before = flatten(m.snapshot())
    m.reset().count('tiercache_hits_total', { namespace: 'a', tier: 'l1' }, 4)
    expect(rollupRows(before, flatten(m.snapshot()), MIN, 'i1').map((r) => r.value)).toEqual([4])
  })

  it('keeps the tenant label apart, for reads by tenant, and the point labels without namespace, tenant, operation', () => {
    const m = new FakeInstruments().count('tiercache_misses_total', { namespace: 'a', tier: 'l2', reason: 'absent', tenant: 'acme' })
    expect(rollupRows(new Map(), flatten(m.snapshot()), 0, 'i1')[0]).toMatchObject({ tenant: 'acme', pointLabels: '{"reason":"absent","tier":"l2"}' })
  })

  it('copies minute rows into the 5-minute, hour and 6-hour steps that hold them', () => {
    const m = new FakeInstruments().count('tiercache_hits_total', { namespace: 'a', tier: 'l1' }, 2)
    const minute = 10 * 3_600_000 + 7 * MIN
    const rows = inEverySpan(rollupRows(new Map(), flatten(m.snapshot()), minute, 'i1'))
    expect(rows.map((r) => [r.span, r.minute, r.value])).toEqual([
      [MIN, minute, 2],
      [5 * MIN, minute - 2 * MIN, 2],
      [3_600_000, 10 * 3_600_000, 2],
      [6 * 3_600_000, 6 * 3_600_000, 2],
    ])
  })

  it('stores a flush in the minute of its midpoint', () => {
    expect(minuteOf(10 * MIN + 5, 11 * MIN + 5)).toBe(10 * MIN) // a timer a little late
    expect(minuteOf(10 * MIN - 5, 11 * MIN - 5)).toBe(10 * MIN) // a clock a little early
    expect(minuteOf(11 * MIN, 11 * MIN + 20_000)).toBe(11 * MIN) // a flush on close, mid-minute
    expect(minuteOf(5 * MIN, 5 * MIN)).toBe(5 * MIN)
  })
})
