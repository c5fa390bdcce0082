import type { ReadStream } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { InvalidTraceError, isTiercacheError } from '../../errors.js'
import { type WorkloadOptions, type ZipfWorkload, generateWorkload, isWorkloadSpec, parseWorkload, resolveWorkloadOptions } from './workload.js'

/**
 * Longest key accepted in a trace, in UTF-16 code units: the cache's default `limits.maxKeyLength`,
 * so that every key read can be stored.
 */
export const MAX_TRACE_KEY_LENGTH = 1024

/**
 * The uncompressed size of a gzip file from its trailer's ISIZE (RFC 1952 §2.3.1: the size mod
 * 2^32, little-endian, in the last 4 bytes), or 0 when the file is too short to have one. For a file
 * of several members it is the last member's only; {@link FileTrace.progress} then falls back to the
 * compressed bytes read once the text handed out passes it.
 */
async function gzipTextSize(handle: FileHandle, size: number): Promise<number> {
  // A member is at least a 10-byte header and an 8-byte trailer.
  if (size < 18) return 0
  const trailer = Buffer.alloc(4)
  const { bytesRead } = await handle.read(trailer, 0, 4, size - 4)
  return bytesRead === 4 ? trailer.readUInt32LE(0) : 0
}

/** The first two bytes of every gzip member (RFC 1952 §2.3.1). */
const GZIP_MAGIC = [0x1f, 0x8b] as const

/**
 * An access trace: the keys requested, in order. Iterate it once; each iteration reads the source
 * anew (a file is opened only when iteration starts, and closed when it ends or stops early).
 */
export interface Trace extends AsyncIterable<string> {
  /** What is replayed: the file path, or the workload spec. */
  readonly name: string
  /** How far the current iteration has got, 0..1: bytes of the file read, or requests generated. */
  progress(): number
}

/**
 * Opens an access trace for replay. `spec` is either
 *
 * - a built-in workload, `zipf:<s>:<keys>` (see {@link parseWorkload}), generating
 *   `options.requests` requests from `options.seed`; or
 * - a file with one key per line, plain text or gzip (recognised by its magic bytes, not its name),
 *   streamed, never loaded whole. Lines are trimmed, so CRLF files work; blank lines are skipped.
 *
 * A malformed workload spec throws at once. File errors reject the first `next()` of the iteration:
 * a file that cannot be opened or read, corrupt gzip, or a line that is not a storable key (NUL
 * byte, longer than {@link MAX_TRACE_KEY_LENGTH}).
 *
 * @throws InvalidTraceError (`TC_INVALID_TRACE`), thrown or rejected as said above
 */
export function openTrace(spec: string, options?: WorkloadOptions): Trace {
  if (isWorkloadSpec(spec)) return new WorkloadTrace(spec, options)
  return new FileTrace(spec)
}

/**
 * The keys of a trace file or workload, in order; {@link openTrace} without progress.
 * @throws InvalidTraceError (`TC_INVALID_TRACE`) as {@link openTrace}
 */
export function readTrace(spec: string, options?: WorkloadOptions): AsyncIterable<string> {
  return openTrace(spec, options)
}

class WorkloadTrace implements Trace {
  private readonly workload: ZipfWorkload
  private readonly options: Required<WorkloadOptions>
  private generated = 0

  constructor(
    readonly name: string,
    options: WorkloadOptions | undefined,
  ) {
    this.workload = parseWorkload(name)
    this.options = resolveWorkloadOptions(options)
  }

  progress(): number {
    return this.generated / this.options.requests
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    this.generated = 0
    for (const key of generateWorkload(this.workload, this.options)) {
      this.generated++
      yield key
    }
  }
}

class FileTrace implements Trace {
  /** Bytes of text in the file: its size, or for gzip the uncompressed size its trailer gives. */
  private textBytes = 0
  /** Bytes of text handed out as keys so far, line breaks included. */
  private consumed = 0
  /** For gzip whose trailer cannot be trusted (several members): the compressed size. */
  private compressedSize = 0
  private stream: ReadStream | undefined

  constructor(readonly name: string) {}

  /**
   * The share of the text handed out as keys: it moves with every request. The bytes the stream has
   * read would jump by 64 KiB read-ahead chunks (for gzip, 64 KiB of compressed text, tens of
   * thousands of keys) and stand still in between, which froze the bar and made its ETA climb.
   */
  progress(): number {
    if (this.textBytes > 0 && this.consumed <= this.textBytes) return this.consumed / this.textBytes
    if (this.stream === undefined || this.compressedSize === 0) return this.textBytes > 0 ? 1 : 0
    return Math.min(1, this.stream.bytesRead / this.compressedSize)
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    const path = this.name
    let handle: FileHandle | undefined
    let input: Readable | undefined
    try {
      handle = await open(path, 'r')
      const size = (await handle.stat()).size
      const magic = Buffer.alloc(2)
      // Reading (not just opening) fails on a directory, so that error surfaces here too.
      const { bytesRead } = await handle.read(magic, 0, 2, 0)
      const gzip = bytesRead === 2 && magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1]
      this.consumed = 0
      this.compressedSize = gzip ? size : 0
      this.textBytes = gzip ? await gzipTextSize(handle, size) : size
      const stream = handle.createReadStream({ start: 0, autoClose: true })
      // From here the stream owns the handle and closes it when destroyed.
      handle = undefined
      this.stream = stream
      input = gzip ? pipeWithErrors(stream, createGunzip()) : stream
      const lines = createInterface({ input, crlfDelay: Infinity })
      let lineNumber = 0
      for await (const line of lines) {
        lineNumber++
        // UTF-8 bytes of the line and its break (1 for LF; CRLF files run a little early).
        this.consumed += Buffer.byteLength(line) + 1
        const key = line.trim()
        if (key.length === 0) continue
        if (key.length > MAX_TRACE_KEY_LENGTH || key.includes('\0')) {
          throw new InvalidTraceError(
            `${path}, line ${lineNumber}: not a key (${key.includes('\0') ? 'contains NUL bytes: a binary file?' : `longer than ${MAX_TRACE_KEY_LENGTH} characters`})`,
          )
        }
        yield key
      }
    } catch (error) {
      if (isTiercacheError(error)) throw error
      throw new InvalidTraceError(`cannot read trace ${describePath(path)}: ${describeError(error)}`, { cause: error })
    } finally {
      input?.destroy()
      this.stream?.destroy()
      await handle?.close()
    }
  }
}

/** `source.pipe(target)`, forwarding the source's errors (pipe alone would leave them unhandled). */
function pipeWithErrors(source: Readable, target: NodeJS.ReadWriteStream & Readable): Readable {
  source.once('error', (error) => target.destroy(error))
  return source.pipe(target)
}

function describePath(path: string): string {
  // A missing 'foo:bar' was probably meant as a workload.
  return path.includes(':') && !isWorkloadSpec(path) ? `'${path}' (workloads are written zipf:<s>:<keys>)` : `'${path}'`
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'no such file'
    if (code === 'EISDIR') return 'it is a directory'
    if (code === 'EACCES') return 'permission denied'
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') return `corrupt gzip data (${error.message})`
    return error.message
  }
  return String(error)
}
