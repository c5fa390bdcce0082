import { describe, expect, it } from 'vitest'
import type { BusMessage } from '../../src/bus/bus.js'
import { MAX_KEYS_PER_MESSAGE, SetAnnouncer } from '../../src/cache/announcer.js'
import { gate } from '../helpers/cache.js'

describe('SetAnnouncer', () => {
  it('publishes at once when idle, and coalesces what is written while a publish is in flight', async () => {
    const sent: BusMessage[] = []
    const gates: { open: () => void }[] = []
    const announcer = new SetAnnouncer(async (message) => {
      sent.push(message)
      const g = gate()
      gates.push(g)
      await g.promise
    })
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
    })
    announcer.announce('ns', 'first')
    for (let i = 0; i < MAX_KEYS_PER_MESSAGE + 10; i++) announcer.announce('ns', `k${i}`)
    release()
    await announcer.drain()
    expect(sent.map((m) => (m.type === 'set' ? m.keys.length : 0))).toEqual([1, MAX_KEYS_PER_MESSAGE, 10])
  })
})
