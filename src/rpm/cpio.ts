import { FormatError } from '../util/errors.ts';

/** Magic strings of the cpio variants rpm payloads use. */
export const CPIO_NEWC = '070701';
export const CPIO_CRC = '070702';
/** rpm's large-file variant: magic + 8 hex digits of the file index; metadata comes from the header. */
export const CPIO_STRIPPED = '07070X';
export const CPIO_TRAILER = 'TRAILER!!!';
/** Longest member name accepted (PATH_MAX). */
export const CPIO_MAX_NAME = 4096;

/** One cpio member header. For the stripped variant only `fx` is meaningful. */
export interface CpioHeader {
  format: 'newc' | 'crc' | 'stripped';
  /** Offset of the header in the uncompressed archive. */
  offset: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  /** Data size (newc/crc); -1 for stripped (the caller knows it from the header). */
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
  /** File index into the package header (stripped variant only). */
  fx: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Pull-based reader over an async iterable of chunks: exact reads for headers, zero-copy chunk
 * slices for member data. Counts bytes so offsets in errors point into the uncompressed archive.
 */
export class ChunkReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = EMPTY;
  private pos = 0;
  private eof = false;
  /** Bytes consumed so far. */
  offset = 0;
  /** Upper bound on bytes that may be consumed (decompression-bomb cap). */
  private readonly limit: number;
  private readonly what: string;

  constructor(source: AsyncIterable<Buffer>, what: string, limit = Number.MAX_SAFE_INTEGER) {
    this.it = source[Symbol.asyncIterator]();
    this.what = what;
    this.limit = limit;
  }

  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const r = await this.it.next();
    if (r.done) {
      this.eof = true;
      return false;
    }
    const chunk = r.value;
    if (this.pos < this.buf.length) this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    else this.buf = chunk;
    this.pos = 0;
    return true;
  }

  private consume(n: number): void {
    this.pos += n;
    this.offset += n;
    if (this.offset > this.limit) {
      throw new FormatError(`${this.what}: archive exceeds its recorded size of ${this.limit} bytes (decompression bomb?)`, { limit: this.limit });
    }
  }

  /** Exactly `n` bytes (copied if they span chunks); FormatError at end of data. */
  async read(n: number, purpose: string): Promise<Buffer> {
    while (this.buf.length - this.pos < n) {
      if (!(await this.fill())) {
        throw new FormatError(`${this.what}: unexpected end of archive at byte ${this.offset + (this.buf.length - this.pos)} reading ${purpose}`, { offset: this.offset });
      }
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.consume(n);
    return out;
  }

  /** Chunks totalling exactly `n` bytes, without copying. */
  async *take(n: number, purpose: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pos >= this.buf.length && !(await this.fill())) {
        throw new FormatError(`${this.what}: unexpected end of archive at byte ${this.offset} reading ${purpose} (${left} of ${n} bytes missing)`, { offset: this.offset });
      }
      const k = Math.min(left, this.buf.length - this.pos);
      const out = this.buf.subarray(this.pos, this.pos + k);
      this.consume(k);
      left -= k;
      yield out;
    }
  }

  async skip(n: number, purpose: string): Promise<void> {
    for await (const chunk of this.take(n, purpose)) void chunk;
  }

  /** Skip to the next multiple of 4 in the archive. */
  async align4(purpose: string): Promise<void> {
    const pad = (4 - (this.offset % 4)) % 4;
    if (pad) await this.skip(pad, purpose);
  }

  /** Consume whatever remains, at most `max` bytes; returns the count. */
  async drain(max: number): Promise<number> {
    let n = this.buf.length - this.pos;
    this.pos = this.buf.length;
    while (await this.fill()) {
      n += this.buf.length;
      this.pos = this.buf.length;
      if (n > max) throw new FormatError(`${this.what}: more than ${max} bytes of data after the archive trailer`);
    }
    return n;
  }
}

function hex(b: Buffer, at: number, field: string, what: string, offset: number): number {
  const s = b.toString('latin1', at, at + 8);
  if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new FormatError(`${what}: cpio header at byte ${offset}: bad ${field} field '${s}'`, { offset });
  return parseInt(s, 16);
}

/**
 * Read the next member header (name included, padding skipped); undefined at the trailer.
 * The member's data follows: `size` bytes (or as many as the package header says for stripped
 * members), then padding to 4.
 */
export async function readCpioHeader(r: ChunkReader, what: string): Promise<CpioHeader | undefined> {
  const offset = r.offset;
  const magicBuf = await r.read(6, 'a cpio header');
  const magic = magicBuf.toString('latin1');
  if (magic === CPIO_STRIPPED) {
    const fxb = await r.read(8, 'a cpio header');
    const fx = hex(fxb, 0, 'file index', what, offset);
    await r.align4('cpio header padding');
    return { format: 'stripped', offset, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 0, mtime: 0, size: -1, devMajor: 0, devMinor: 0, rdevMajor: 0, rdevMinor: 0, name: '', fx };
  }
  if (magic !== CPIO_NEWC && magic !== CPIO_CRC) {
    throw new FormatError(`${what}: bad cpio magic '${magicBuf.toString('hex')}' at byte ${offset}`, { offset });
  }
  const b = await r.read(104, 'a cpio header');
  const f = (i: number, name: string): number => hex(b, i * 8, name, what, offset);
  const h: CpioHeader = {
    format: magic === CPIO_NEWC ? 'newc' : 'crc',
    offset,
    ino: f(0, 'ino'),
    mode: f(1, 'mode'),
    uid: f(2, 'uid'),
    gid: f(3, 'gid'),
    nlink: f(4, 'nlink'),
    mtime: f(5, 'mtime'),
    size: f(6, 'filesize'),
    devMajor: f(7, 'devmajor'),
    devMinor: f(8, 'devminor'),
    rdevMajor: f(9, 'rdevmajor'),
    rdevMinor: f(10, 'rdevminor'),
    name: '',
    fx: -1,
  };
  const namesize = f(11, 'namesize');
  if (namesize < 2 || namesize > CPIO_MAX_NAME + 1) throw new FormatError(`${what}: cpio header at byte ${offset}: bad name size ${namesize}`, { offset });
  const nameBuf = await r.read(namesize, 'a cpio member name');
  if (nameBuf[namesize - 1] !== 0 || nameBuf.indexOf(0) !== namesize - 1) {
    throw new FormatError(`${what}: cpio header at byte ${offset}: member name is not NUL-terminated or contains NUL`, { offset });
  }
  h.name = nameBuf.toString('utf8', 0, namesize - 1);
  await r.align4('cpio name padding');
  if (h.name === CPIO_TRAILER) return undefined;
  return h;
}
