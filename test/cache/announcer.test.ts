import { describe, expect, it } from 'vitest'
import type { BusMessage } from '../../src/bus/bus.js'
import { MAX_KEYS_PER_MESSAGE, SetAnnouncer } from '../../src/cache/announcer.js'
import { gate } from '../helpers/cache.js'

describe('SetAnnouncer', () => {
  it('publishes at once when idle without linger, and coalesces what is written while a publish is in flight', async () => {
    const sent: BusMessage[] = []
    const gates: { open: () => void }[] = []
    const announcer = new SetAnnouncer(async (message) => {
      sent.push(message)
      const g = gate()
      gates.push(g)
      await g.promise
    }, 0)
    announcer.announce('a', 'k1')
    expect(sent).toEqual([{ type: 'set', namespace: 'a', keys: ['k1'] }])
    announcer.announce('a', 'k2')
    announcer.announce('b', 'k1')
    announcer.announce('a', 'k2')
    announcer.announce('a', 'k3')
    expect(sent).toHaveLength(1)
    gates[0]!.open()
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent.slice(1)).toEqual([
      { type: 'set', namespace: 'a', keys: ['k2', 'k3'] },
      { type: 'set', namespace: 'b', keys: ['k1'] },
    ])
    let drained = false
    const draining = announcer.drain().then(() => (drained = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(drained).toBe(false)
    for (const g of gates) g.open()
    await draining
    expect(drained).toBe(true)
  })

  it('splits a large batch into messages of at most MAX_KEYS_PER_MESSAGE keys', async () => {
    const sent: BusMessage[] = []
    let release: () => void = () => {}
    const first = new Promise<void>((resolve) => (release = resolve))
    const announcer = new SetAnnouncer(async (message) => {
      sent.push(message)
      if (sent.length === 1) await first
    }, 0)
    announcer.announce('ns', 'first')
    for (let i = 0; i < MAX_KEYS_PER_MESSAGE + 10; i++) announcer.announce('ns', `k${i}`)
    release()
    await announcer.drain()
    expect(sent.map((m) => (m.type === 'set' ? m.keys.length : 0))).toEqual([1, MAX_KEYS_PER_MESSAGE, 10])
  })

  it('lingers before the first publish, so that writes close together share one message', async () => {
    const sent: BusMessage[] = []
    const announcer = new SetAnnouncer(async (message) => {
      sent.push(message)
    }, 5)
    announcer.announce('a', 'k1')
    announcer.announce('a', 'k2')
    announcer.announce('b', 'k1')
    expect(sent).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(sent).toEqual([
      { type: 'set', namespace: 'a', keys: ['k1', 'k2'] },
      { type: 'set', namespace: 'b', keys: ['k1'] },
    ])
    // drain() sends what lingers at once
    announcer.announce('a', 'k3')
    await announcer.drain()
    expect(sent).toHaveLength(3)
  })
})
