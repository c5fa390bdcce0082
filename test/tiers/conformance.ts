import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Entry, createEntry } from '../../src/core/entry.js'
import type { Tier } from '../../src/tiers/tier.js'

/** Builds an entry as the stack would (`createEntry`), optionally dated `createdAt` instead of now. */
export function makeEntry(
  namespace: string,
  key: string,
  value: unknown,
  options: { freshMs?: number; staleMs?: number; tags?: string[]; createdAt?: number } = {},
): Entry {
  const policy = { ttlMs: options.freshMs ?? 60_000, graceMs: options.staleMs ?? 0, tags: options.tags ?? [] }
  const entry = createEntry(namespace, key, value, policy, Number.MAX_SAFE_INTEGER)
  if (options.createdAt === undefined) return entry
  const shift = options.createdAt - entry.createdAt
  return { ...entry, createdAt: options.createdAt, freshUntil: entry.freshUntil + shift, staleUntil: entry.staleUntil + shift }
}

/**
 * The one suite every tier passes against its real backend. `open` returns a tier whose backend is
 * reachable; entries left by earlier tests are cleared before each test.
 */
export function runTierConformance(name: string, open: () => Promise<Tier>): void {
  describe(`${name} tier conformance`, () => {
    let tier: Tier
    beforeAll(async () => {
      tier = await open()
    })
    beforeEach(async () => {
      await tier.clear()
    })
    afterAll(async () => {
      await tier.close()
    })

    it('misses an absent key', async () => {
      expect(await tier.get('ns', 'absent')).toBeUndefined()
    })

    it('round-trips rich values and every entry field', async () => {
      const value = {
        date: new Date(1_700_000_000_123),
        map: new Map<unknown, unknown>([['a', 1], [2, new Set(['x'])]]),
        set: new Set([1, 'two']),
        big: 12_345_678_901_234_567_890n,
        bytes: new Uint8Array([0, 1, 254, 255]),
        nested: { list: [1, null, true, 'é', -1.5] },
      }
      const entry = makeEntry('ns', 'rich', value, { tags: ['a', 'b'], staleMs: 5_000 })
      await tier.set(entry)
      const got = await tier.get('ns', 'rich')
      expect(got).toBeDefined()
      expect(got?.value).toEqual(value)
      expect(got?.createdAt).toBe(entry.createdAt)
      expect(got?.freshUntil).toBe(entry.freshUntil)
      expect(got?.staleUntil).toBe(entry.staleUntil)
      expect(got?.size).toBe(entry.size)
      expect([...(got?.tags ?? [])].sort()).toEqual(['a', 'b'])
      if (tier.capabilities.shared) expect(Buffer.from(got?.payload ?? [])).toEqual(Buffer.from(entry.payload ?? []))
    })

    it('stores an entry that comes without its encoded payload', async () => {
      const { payload: _payload, ...withoutPayload } = makeEntry('ns', 'k', { a: [1, 2] })
      await tier.set(withoutPayload)
      expect((await tier.get('ns', 'k'))?.value).toEqual({ a: [1, 2] })
    })

    it('replaces an entry on set, with its tags', async () => {
      await tier.set(makeEntry('ns', 'k', 'old', { tags: ['old-tag'] }))
      await tier.set(makeEntry('ns', 'k', 'new', { tags: ['new-tag'] }))
      expect((await tier.get('ns', 'k'))?.value).toBe('new')
      expect(await tier.deleteByTags(['old-tag'], 'ns')).toBe(0)
      expect((await tier.get('ns', 'k'))?.value).toBe('new')
      expect(await tier.deleteByTags(['new-tag'], 'ns')).toBe(1)
      expect(await tier.get('ns', 'k')).toBeUndefined()
    })

    it('keeps namespaces apart', async () => {
      await tier.set(makeEntry('a', 'k', 'in a'))
      await tier.set(makeEntry('b', 'k', 'in b'))
      expect((await tier.get('a', 'k'))?.value).toBe('in a')
      expect((await tier.get('b', 'k'))?.value).toBe('in b')
    })

    it('keeps look-alike keys distinct', async () => {
      const keys = ['a:b', 'a%3Ab', 'a/b', 'a%2Fb', 'é', 'e\u0301', '🙂', ' k', 'k ', 'K', 'x'.repeat(1024)]
      for (const [i, key] of keys.entries()) await tier.set(makeEntry('ns', key, i))
      for (const [i, key] of keys.entries()) expect((await tier.get('ns', key))?.value).toBe(i)
    })

    it('gets many in order, with holes for misses', async () => {
      await tier.set(makeEntry('ns', 'one', 1))
      await tier.set(makeEntry('ns', 'three', 3))
      const got = await tier.getMany('ns', ['one', 'two', 'three'])
      expect(got.map((entry) => entry?.value)).toEqual([1, undefined, 3])
      expect(await tier.getMany('ns', [])).toEqual([])
    })

    it('deletes, reporting whether the entry existed', async () => {
      await tier.set(makeEntry('ns', 'k', 1))
      expect(await tier.delete('ns', 'k')).toBe(true)
      expect(await tier.delete('ns', 'k')).toBe(false)
      expect(await tier.get('ns', 'k')).toBeUndefined()
    })

    it('serves a stale entry within grace and drops it after', async () => {
      const now = Date.now()
      await tier.set({ ...makeEntry('ns', 'graced', 'g', { createdAt: now - 10_000 }), freshUntil: now - 5_000, staleUntil: now + 60_000 })
      await tier.set({ ...makeEntry('ns', 'expired', 'e', { createdAt: now - 10_000 }), freshUntil: now - 5_000, staleUntil: now - 1 })
      const graced = await tier.get('ns', 'graced')
      expect(graced?.value).toBe('g')
      expect(graced?.freshUntil).toBe(now - 5_000)
      expect(await tier.get('ns', 'expired')).toBeUndefined()
      expect((await tier.getMany('ns', ['expired', 'graced'])).map((e) => e?.value)).toEqual([undefined, 'g'])
    })

    it('deletes by tag within a namespace, touching nothing else', async () => {
      await tier.set(makeEntry('ns', 'jfk-lhr', 1, { tags: ['route:JFK:LHR', 'airline:BA'] }))
      await tier.set(makeEntry('ns', 'jfk-cdg', 2, { tags: ['route:JFK:CDG', 'airline:BA'] }))
      await tier.set(makeEntry('ns', 'plain', 3))
      await tier.set(makeEntry('other', 'jfk-lhr', 4, { tags: ['route:JFK:LHR'] }))
      expect(await tier.deleteByTags(['route:JFK:LHR'], 'ns')).toBe(1)
      expect(await tier.get('ns', 'jfk-lhr')).toBeUndefined()
      expect((await tier.get('ns', 'jfk-cdg'))?.value).toBe(2)
      expect((await tier.get('ns', 'plain'))?.value).toBe(3)
      expect((await tier.get('other', 'jfk-lhr'))?.value).toBe(4)
    })

    it('deletes by several tags at once, counting each entry once', async () => {
      await tier.set(makeEntry('ns', 'both', 1, { tags: ['t1', 't2'] }))
      await tier.set(makeEntry('ns', 'first', 2, { tags: ['t1'] }))
      await tier.set(makeEntry('ns', 'second', 3, { tags: ['t2'] }))
      await tier.set(makeEntry('ns', 'none', 4, { tags: ['t3'] }))
      expect(await tier.deleteByTags(['t1', 't2'], 'ns')).toBe(3)
      expect((await tier.get('ns', 'none'))?.value).toBe(4)
    })

    it('deletes by tag across every namespace when none is given', async () => {
      await tier.set(makeEntry('a', 'k', 1, { tags: ['shared'] }))
      await tier.set(makeEntry('b', 'k', 2, { tags: ['shared'] }))
      await tier.set(makeEntry('b', 'kept', 3, { tags: ['other'] }))
      expect(await tier.deleteByTags(['shared'])).toBe(2)
      expect(await tier.get('a', 'k')).toBeUndefined()
      expect(await tier.get('b', 'k')).toBeUndefined()
      expect((await tier.get('b', 'kept'))?.value).toBe(3)
    })

    it('clears one namespace or all', async () => {
      await tier.set(makeEntry('a', 'k', 1))
      await tier.set(makeEntry('b', 'k', 2, { tags: ['t'] }))
      await tier.clear('a')
      expect(await tier.get('a', 'k')).toBeUndefined()
      expect((await tier.get('b', 'k'))?.value).toBe(2)
      expect(await tier.count('b')).toBe(1)
      await tier.clear()
      expect(await tier.get('b', 'k')).toBeUndefined()
      expect(await tier.count()).toBe(0)
      // the tag index went with the entries
      expect(await tier.deleteByTags(['t'])).toBe(0)
    })

    it('rewrites a payload only while the tier still holds the entry it was read from', async () => {
      await tier.set(makeEntry('ns', 'k', 'old', { tags: ['t'] }))
      const read = await tier.get('ns', 'k')
      const replacement = makeEntry('ns', 'k', 'new').payload!
      if (!tier.capabilities.shared) {
        expect(await tier.rewrite(read!, replacement)).toBe(false)
        return
      }
      expect(await tier.rewrite(read!, replacement)).toBe(true)
      const rewritten = await tier.get('ns', 'k')
      expect(rewritten?.value).toBe('new')
      expect(rewritten).toMatchObject({ freshUntil: read!.freshUntil, staleUntil: read!.staleUntil, tags: ['t'], createdAt: read!.createdAt })
      // Read before a newer write: the rewrite must not undo that write.
      await tier.set(makeEntry('ns', 'k', 'newer'))
      expect(await tier.rewrite(rewritten!, makeEntry('ns', 'k', 'stale').payload!)).toBe(false)
      expect((await tier.get('ns', 'k'))?.value).toBe('newer')
      await tier.delete('ns', 'k')
      expect(await tier.rewrite(rewritten!, replacement)).toBe(false)
      expect(await tier.get('ns', 'k')).toBeUndefined()
      expect(await tier.deleteByTags(['t'], 'ns')).toBe(0)
    })

    it('lists and clears the namespaces of a scope prefix, and nothing beside it', async () => {
      const user = '~acme~AAAAAAAAAAAAAAAAAAAAAA~'
      await tier.set(makeEntry('~acme~profiles', 'k', 1, { tags: ['t'] }))
      await tier.set(makeEntry(`${user}carts`, 'k', 2))
      await tier.set(makeEntry('~acme-eu~profiles', 'k', 3))
      await tier.set(makeEntry('~acm~profiles', 'k', 4))
      await tier.set(makeEntry('acme', 'k', 5))
      await tier.set(makeEntry('~globex~profiles', 'k', 6))
      expect(await tier.namespaces('~acme~')).toEqual([`${user}carts`, '~acme~profiles'].sort())
      expect(await tier.namespaces(user)).toEqual([`${user}carts`])
      expect(await tier.namespaces('~nobody~')).toEqual([])

      await tier.clearPrefix(user)
      expect(await tier.get(`${user}carts`, 'k')).toBeUndefined()
      expect((await tier.get('~acme~profiles', 'k'))?.value).toBe(1)
      await tier.clearPrefix('~acme~')
      expect(await tier.get('~acme~profiles', 'k')).toBeUndefined()
      expect(await tier.namespaces('~acme~')).toEqual([])
      expect(await tier.deleteByTags(['t'], '~acme~profiles')).toBe(0)
      for (const [namespace, value] of [['~acme-eu~profiles', 3], ['~acm~profiles', 4], ['acme', 5], ['~globex~profiles', 6]] as const) {
        expect((await tier.get(namespace, 'k'))?.value).toBe(value)
      }
    })

    describe('keys', () => {
      /** Every key of `namespace`, page after page, with the pages' sizes. */
      async function pageThrough(namespace: string, limit: number): Promise<{ keys: string[]; sizes: number[] }> {
        const keys: string[] = []
        const sizes: number[] = []
        for (let after: string | undefined; ; ) {
          const page = await tier.keys(namespace, after === undefined ? { limit } : { after, limit })
          sizes.push(page.length)
          keys.push(...page)
          if (page.length < limit) return { keys, sizes }
          after = page[page.length - 1]
          // a guard, so that a tier whose cursor does not advance fails instead of looping forever
          if (sizes.length > 1_000) throw new Error('paging does not end')
        }
      }

      it('pages through 250 keys in pages of 100, each key exactly once, in ascending order', async () => {
        const written = Array.from({ length: 250 }, (_, i) => `key-${String(i).padStart(3, '0')}`)
        // written in shuffled order, so that insertion order cannot pass for key order
        for (const i of Array.from({ length: 250 }, (_, j) => (j * 7) % 250)) await tier.set(makeEntry('ns', written[i] as string, i))
        const { keys, sizes } = await pageThrough('ns', 100)
        expect(sizes).toEqual([100, 100, 50])
        expect(keys).toEqual(written)
      })

      it('ends with an empty page when the last page is exactly full', async () => {
        for (const key of ['a', 'b', 'c', 'd']) await tier.set(makeEntry('ns', key, key))
        const { keys, sizes } = await pageThrough('ns', 2)
        expect(keys).toEqual(['a', 'b', 'c', 'd'])
        expect(sizes).toEqual([2, 2, 0])
      })

      it('does not list expired entries, and lists entries within grace', async () => {
        const now = Date.now()
        await tier.set(makeEntry('ns', 'fresh', 1))
        await tier.set({ ...makeEntry('ns', 'graced', 2, { createdAt: now - 10_000 }), freshUntil: now - 5_000, staleUntil: now + 60_000 })
        for (const key of ['expired-a', 'expired-b', 'expired-c']) {
          await tier.set({ ...makeEntry('ns', key, 3, { createdAt: now - 10_000 }), freshUntil: now - 5_000, staleUntil: now - 1 })
        }
        expect(await tier.keys('ns', { limit: 10 })).toEqual(['fresh', 'graced'])
        // expired entries do not take up room in a page either
        expect(await tier.keys('ns', { limit: 1 })).toEqual(['fresh'])
        expect(await tier.keys('ns', { after: 'ex', limit: 1 })).toEqual(['fresh'])
      })

      it('lists only the namespace asked for', async () => {
        await tier.set(makeEntry('a', 'k1', 1))
        await tier.set(makeEntry('a', 'k2', 2))
        await tier.set(makeEntry('ab', 'k3', 3))
        await tier.set(makeEntry('b', 'k4', 4))
        expect(await tier.keys('a', { limit: 10 })).toEqual(['k1', 'k2'])
        expect(await tier.keys('b', { limit: 10 })).toEqual(['k4'])
        expect(await tier.keys('none', { limit: 10 })).toEqual([])
      })

      it('starts strictly after the cursor, which need not be a stored key; past the end gives []', async () => {
        for (const key of ['b', 'd', 'f']) await tier.set(makeEntry('ns', key, key))
        expect(await tier.keys('ns', { after: 'b', limit: 10 })).toEqual(['d', 'f'])
        expect(await tier.keys('ns', { after: 'c', limit: 10 })).toEqual(['d', 'f'])
        expect(await tier.keys('ns', { after: 'a', limit: 1 })).toEqual(['b'])
        expect(await tier.keys('ns', { after: 'f', limit: 10 })).toEqual([])
        expect(await tier.keys('ns', { after: 'zzz', limit: 10 })).toEqual([])
        expect(await tier.keys('ns', { after: '\u{10FFFF}', limit: 10 })).toEqual([])
      })

      it('pages correctly through keys with accents, case, combining marks and astral characters', async () => {
        // Around the points where UTF-16 order and code point order part (U+E000..U+FFFF against
        // astral characters), and where a linguistic collation would differ from either (case,
        // accents, punctuation, spaces).
        const written = [
          'a', 'A', 'b', 'B', 'é', 'e\u0301', 'E', 'z', 'Z', ' k', 'k ', 'k', 'k:1', 'k-1', 'k_1', 'k1', 'K1',
          'ß', 'ss', 'æ', 'ø', 'Å', '\u00ff', '\u0100', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffef', '\ufffd',
          '🙂', '😀', '🙂🙂', '𝄞', '\u{10000}', '\u{10FFFF}', '中文', '日本語', 'ﬁ', 'fi', '١٢', '12',
        ]
        for (const [i, key] of written.entries()) await tier.set(makeEntry('ns', key, i))
        for (const limit of [1, 2, 3, 7]) {
          const { keys } = await pageThrough('ns', limit)
          expect(keys).toHaveLength(written.length)
          expect(new Set(keys)).toEqual(new Set(written))
        }
        // the first page is the smallest keys of the tier's own order: the rest all come after it
        const { keys } = await pageThrough('ns', 100)
        const [first] = await tier.keys('ns', { limit: 1 })
        expect(first).toBe(keys[0])
      })

      it('does not list a key twice when keys are written and removed between pages', async () => {
        for (let i = 0; i < 30; i++) await tier.set(makeEntry('ns', `k${String(i).padStart(2, '0')}`, i))
        const seen: string[] = []
        let after: string | undefined
        for (let round = 0; round < 100; round++) {
          const page = await tier.keys('ns', after === undefined ? { limit: 5 } : { after, limit: 5 })
          seen.push(...page)
          if (page.length < 5) break
          after = page[page.length - 1]
          // rewrite a key already listed, remove one not yet listed, add one on each side of the cursor
          await tier.set(makeEntry('ns', seen[0] as string, 'again'))
          await tier.delete('ns', `k${String(29 - round).padStart(2, '0')}`)
          await tier.set(makeEntry('ns', `a${round}`, 'before the cursor'))
          await tier.set(makeEntry('ns', `z${round}`, 'after the cursor'))
        }
        expect(new Set(seen).size).toBe(seen.length)
        expect(seen.filter((key) => key.startsWith('a'))).toEqual([])
      })
    })

    it('counts entries per namespace and in all', async () => {
      await tier.set(makeEntry('a', '1', 1))
      await tier.set(makeEntry('a', '2', 2))
      await tier.set(makeEntry('b', '1', 3))
      expect(await tier.count('a')).toBe(2)
      expect(await tier.count()).toBe(3)
    })

    it('stays consistent under concurrent writes to one key', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => tier.set(makeEntry('ns', 'hot', i, { tags: [`v${i}`] }))))
      const got = await tier.get('ns', 'hot')
      expect(typeof got?.value).toBe('number')
      // exactly one version's tag still finds the entry
      const survivors = await Promise.all(Array.from({ length: 50 }, (_, i) => tier.deleteByTags([`v${i}`], 'ns')))
      expect(survivors.reduce((a, b) => a + b, 0)).toBe(1)
    })
  })
}
