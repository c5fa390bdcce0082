import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { MAX_TRACE_KEY_LENGTH, openTrace, readTrace } from '../../src/cli/replay/trace.js'
import { isTiercacheError } from '../../src/errors.js'
import { hasTrace, tracePath } from './traces.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-trace-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const key of keys) out.push(key)
  return out
}

async function failure(keys: AsyncIterable<string>): Promise<unknown> {
  try {
    await collect(keys)
  } catch (error) {
    return error
  }
  throw new Error('expected the trace to fail')
}

describe('readTrace', () => {
  it('reads a plain file, one key per line, skipping blank lines and trimming CRLF and spaces', async () => {
    const path = file('plain.txt', '1\n2\r\n\n  3  \n\r\n4')
    expect(await collect(readTrace(path))).toEqual(['1', '2', '3', '4'])
  })

  it('recognizes gzip by its magic bytes, whatever the name', async () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => String(i % 777))
    const path = file('compressed.txt', gzipSync(keys.join('\n') + '\n'))
    expect(await collect(readTrace(path))).toEqual(keys)
    const plainNamedGz = file('plain.gz', 'a\nb\n')
    expect(await collect(readTrace(plainNamedGz))).toEqual(['a', 'b'])
  })

  it('reads concatenated gzip members', async () => {
    const path = file('members.gz', Buffer.concat([gzipSync('1\n2\n'), gzipSync('3\n')]))
    expect(await collect(readTrace(path))).toEqual(['1', '2', '3'])
  })

  it.skipIf(!hasTrace('glimpse.keys.gz'))('reads the shared glimpse trace: 6,015 requests, 2,529 keys', async () => {
    const keys = await collect(readTrace(tracePath('glimpse.keys.gz')))
    expect(keys).toHaveLength(6015)
    expect(new Set(keys).size).toBe(2529)
  })

  it('reports progress up to 1, and can be iterated again', async () => {
    const trace = openTrace(file('progress.gz', gzipSync('x\n'.repeat(100_000))))
    expect(trace.progress()).toBe(0)
    expect(await collect(trace)).toHaveLength(100_000)
    expect(trace.progress()).toBe(1)
    expect(await collect(trace)).toHaveLength(100_000)
  })

  it('stops reading when the consumer stops early', async () => {
    const trace = readTrace(file('early.txt', '1\n2\n3\n'))
    const seen: string[] = []
    for await (const key of trace) {
      seen.push(key)
      if (seen.length === 2) break
    }
    expect(seen).toEqual(['1', '2'])
  })

  it.each([
    ['a missing file', () => join(dir, 'missing.txt'), /no such file/],
    ['a directory', () => dir, /directory/],
    ['corrupt gzip', () => file('corrupt.gz', Buffer.concat([gzipSync('1\n2\n').subarray(0, 12), Buffer.from('garbage that is not deflate')])), /gzip/],
    ['truncated gzip', () => file('truncated.gz', gzipSync('1\n'.repeat(1000)).subarray(0, 30)), /gzip|end of file/],
    ['a binary file', () => file('binary.bin', Buffer.from([0x41, 0x00, 0x42, 0x0a])), /NUL/],
    ['a line too long for a key', () => file('long.txt', 'k'.repeat(MAX_TRACE_KEY_LENGTH + 1) + '\n'), /longer than 1024/],
    ['a missing file that looks like a workload', () => 'uniform:1:2', /workloads are written zipf/],
  ])('rejects %s with TC_INVALID_TRACE', async (_, path, message) => {
    const error = await failure(readTrace(path()))
    expect(isTiercacheError(error, 'TC_INVALID_TRACE')).toBe(true)
    expect((error as Error).message).toMatch(message)
  })

  it('says on which line a bad key is', async () => {
    const error = await failure(readTrace(file('line3.txt', '1\n2\nbad\0key\n')))
    expect((error as Error).message).toMatch(/line 3/)
  })

  it('generates a zipf workload of the requested size, the same for the same seed', async () => {
    const trace = openTrace('zipf:0.99:1000', { requests: 5000, seed: 9 })
    const keys = await collect(trace)
    expect(keys).toHaveLength(5000)
    expect(trace.progress()).toBe(1)
    expect(await collect(readTrace('zipf:0.99:1000', { requests: 5000, seed: 9 }))).toEqual(keys)
  })

  it('throws at once for a malformed workload', () => {
    expect(() => openTrace('zipf:abc:10')).toThrow(expect.objectContaining({ code: 'TC_INVALID_TRACE' }))
  })
})
