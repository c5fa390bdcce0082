import type { ReadStream } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
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
  /**
   * The keys in order, a batch at a time (a few thousand): one await per batch rather than per key,
   * for replays that run millions of requests a second. Iterating the trace itself reads these.
   */
  batches(): AsyncIterable<readonly string[]>
}

/** Keys per batch of a workload. */
const WORKLOAD_BATCH = 4096

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
    for await (const batch of this.batches()) yield* batch
  }

  async *batches(): AsyncGenerator<readonly string[], void, undefined> {
    this.generated = 0
    let batch: string[] = []
    for (const key of generateWorkload(this.workload, this.options)) {
      batch.push(key)
      if (batch.length === WORKLOAD_BATCH) {
        this.generated += batch.length
        yield batch
        batch = []
      }
    }
    this.generated += batch.length
    if (batch.length > 0) yield batch
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
   * The share of the text handed out as keys: it moves with every batch of text (a few thousand
   * keys). The bytes the stream has read would jump by 64 KiB read-ahead chunks (for gzip, 64 KiB of
   * compressed text, tens of thousands of keys) and stand still in between, which froze the bar and
   * made its ETA climb.
   */
  progress(): number {
    if (this.textBytes > 0 && this.consumed <= this.textBytes) return this.consumed / this.textBytes
    if (this.stream === undefined || this.compressedSize === 0) return this.textBytes > 0 ? 1 : 0
    return Math.min(1, this.stream.bytesRead / this.compressedSize)
  }

  /** Key by key: the progress moves with each (by its line's bytes; a trimmed or blank line runs it a little late). */
  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    for await (const { keys } of this.chunks()) {
      for (const key of keys) {
        this.consumed += Buffer.byteLength(key) + 1
        yield key
      }
    }
  }

  async *batches(): AsyncGenerator<readonly string[], void, undefined> {
    for await (const { keys, bytes } of this.chunks()) {
      this.consumed += bytes
      if (keys.length > 0) yield keys
    }
  }

  /**
   * The keys of each chunk of text the stream gives, split by hand (readline cost about a
   * microsecond per line, more than an L1 lookup), with the chunk's bytes.
   */
  private async *chunks(): AsyncGenerator<{ readonly keys: readonly string[]; readonly bytes: number }, void, undefined> {
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
      const lines = new LineSplitter(path)
      for await (const chunk of input as AsyncIterable<Buffer>) yield { keys: lines.push(chunk), bytes: chunk.length }
      yield { keys: lines.end(), bytes: 0 }
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

/**
 * Splits text chunks into keys, one per line: lines trimmed (CRLF files work), blank lines skipped,
 * a line that is not a storable key refused with its number.
 */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private rest = ''
  private lineNumber = 0

  constructor(private readonly path: string) {}

  /** The whole lines of `chunk` (with what the previous chunks left), as keys. */
  push(chunk: Buffer): string[] {
    const text = this.rest + this.decoder.write(chunk)
    const keys: string[] = []
    let start = 0
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.take(text.slice(start, end), keys)
      start = end + 1
    }
    this.rest = text.slice(start)
    return keys
  }

  /** The last line, when the text does not end with a line break. */
  end(): string[] {
    const keys: string[] = []
    const text = this.rest + this.decoder.end()
    this.rest = ''
    if (text !== '') this.take(text, keys)
    return keys
  }

  private take(line: string, keys: string[]): void {
    this.lineNumber++
    const key = line.trim()
    if (key.length === 0) return
    if (key.length > MAX_TRACE_KEY_LENGTH || key.includes('\0')) {
      throw new InvalidTraceError(
        `${this.path}, line ${this.lineNumber}: not a key (${key.includes('\0') ? 'contains NUL bytes: a binary file?' : `longer than ${MAX_TRACE_KEY_LENGTH} characters`})`,
      )
    }
    keys.push(key)
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
