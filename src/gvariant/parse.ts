/**
 * Strict GVariant parser for untrusted bytes: accepts only GLib normal form, checks every offset
 * against its container, and does bounded work (each byte is visited once per nesting level).
 * `ay` values are returned as Buffer views into the input (no copy).
 */
import { isUtf8 } from 'node:buffer';
import { FormatError } from '../util/errors.ts';
import { alignUp, offsetWidthOf, readOffset } from './_framing.ts';
import { MAX_DEPTH, isValidObjectPath, isValidSignature, tryTypeInfo, typeInfo, type TypeInfo } from './type.ts';
import { Variant, type GVariantValue } from './variant.ts';

/** Thrown inside the parser; converted to FormatError (with the top-level type) at the edge. */
class Malformed extends Error {
  readonly type: string;
  readonly offset: number;
  constructor(t: TypeInfo, offset: number, what: string) {
    super(what);
    this.type = t.str;
    this.offset = offset;
  }
}

function zeros(buf: Buffer, from: number, to: number, t: TypeInfo): void {
  for (let k = from; k < to; k++) if (buf[k] !== 0) throw new Malformed(t, k, 'non-zero padding byte');
}

function read(t: TypeInfo, buf: Buffer, start: number, end: number, depth: number): GVariantValue {
  const size = end - start;
  if (t.fixed !== 0 && size !== t.fixed) throw new Malformed(t, start, `size ${size}, expected ${t.fixed}`);
  switch (t.kind) {
    case 'b': {
      const b = buf[start];
      if (b > 1) throw new Malformed(t, start, `boolean byte ${b}`);
      return b === 1;
    }
    case 'y':
      return buf[start];
    case 'n':
      return buf.readInt16LE(start);
    case 'q':
      return buf.readUInt16LE(start);
    case 'i':
    case 'h':
      return buf.readInt32LE(start);
    case 'u':
      return buf.readUInt32LE(start);
    case 'x':
      return buf.readBigInt64LE(start);
    case 't':
      return buf.readBigUInt64LE(start);
    case 'd':
      return buf.readDoubleLE(start);
    case 's':
    case 'o':
    case 'g':
      return readString(t, buf, start, end);
    case 'v':
      return readVariant(t, buf, start, end, depth);
    case 'm': {
      if (size === 0) return null;
      const e = t.elem!;
      if (e.fixed !== 0) return read(e, buf, start, end, depth + 1);
      if (buf[end - 1] !== 0) throw new Malformed(t, end - 1, 'maybe without trailing zero byte');
      return read(e, buf, start, end - 1, depth + 1);
    }
    case 'a':
      return readArray(t, buf, start, end, depth);
    default:
      return readTuple(t, buf, start, end, depth);
  }
}

/** Buffer's own decoder methods: `latin1Slice` is twice as fast as `toString('latin1', …)` for short names. */
interface FastSlices {
  latin1Slice(start: number, end: number): string;
}

function readString(t: TypeInfo, buf: Buffer, start: number, end: number): string {
  if (end === start) throw new Malformed(t, start, 'empty string (missing NUL)');
  if (buf[end - 1] !== 0) throw new Malformed(t, end - 1, 'string without NUL terminator');
  const nul = buf.indexOf(0, start);
  if (nul !== end - 1) throw new Malformed(t, nul, 'NUL inside string');
  let ascii = true;
  for (let k = start; k < nul; k++) {
    if (buf[k] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii && !isUtf8(buf.subarray(start, nul))) throw new Malformed(t, start, 'string is not valid UTF-8');
  const s = ascii ? (buf as unknown as FastSlices).latin1Slice(start, nul) : buf.toString('utf8', start, nul);
  if (t.kind === 'o' && !isValidObjectPath(s)) throw new Malformed(t, start, `invalid object path ${JSON.stringify(s)}`);
  if (t.kind === 'g' && !isValidSignature(s)) throw new Malformed(t, start, `invalid signature ${JSON.stringify(s)}`);
  return s;
}

function readVariant(t: TypeInfo, buf: Buffer, start: number, end: number, depth: number): Variant {
  let sep = end - 1;
  while (sep >= start && buf[sep] !== 0) sep--;
  if (sep < start) throw new Malformed(t, start, 'variant without type separator');
  let typeStr = '';
  for (let k = sep + 1; k < end; k++) {
    const c = buf[k];
    if (c >= 0x80) throw new Malformed(t, k, 'non-ASCII byte in variant type');
    typeStr += String.fromCharCode(c);
  }
  const ct = tryTypeInfo(typeStr);
  if (ct === null) throw new Malformed(t, sep + 1, `invalid variant type ${JSON.stringify(typeStr.slice(0, 64))}`);
  if (depth + ct.depth > MAX_DEPTH) throw new Malformed(t, start, `nesting deeper than ${MAX_DEPTH}`);
  return new Variant(ct.str, read(ct, buf, start, sep, depth + 1));
}

function readArray(t: TypeInfo, buf: Buffer, start: number, end: number, depth: number): GVariantValue {
  const e = t.elem!;
  const size = end - start;
  if (e.fixed !== 0) {
    if (size % e.fixed !== 0) throw new Malformed(t, start, `size ${size} is not a multiple of element size ${e.fixed}`);
    if (e.kind === 'y') return buf.subarray(start, end);
    const n = size / e.fixed;
    const out = new Array<GVariantValue>(n);
    for (let i = 0, p = start; i < n; i++, p += e.fixed) out[i] = read(e, buf, p, p + e.fixed, depth + 1);
    return out;
  }
  if (size === 0) return [];
  const w = offsetWidthOf(size);
  if (size < w) throw new Malformed(t, start, 'array too small for its framing offset');
  const last = readOffset(buf, end - w, w);
  if (last > size) throw new Malformed(t, end - w, `framing offset ${last} beyond array size ${size}`);
  const tail = size - last;
  if (tail % w !== 0 || tail === 0) throw new Malformed(t, start + last, 'framing offset area is not a whole number of offsets');
  const n = tail / w;
  const out = new Array<GVariantValue>(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const at = start + last + i * w;
    const o = readOffset(buf, at, w);
    const s = alignUp(prev, e.align);
    if (o < s || o > last) throw new Malformed(t, at, `element ${i} framing offset ${o} out of order or out of bounds`);
    zeros(buf, start + prev, start + s, t);
    out[i] = read(e, buf, start + s, start + o, depth + 1);
    prev = o;
  }
  return out;
}

function readTuple(t: TypeInfo, buf: Buffer, start: number, end: number, depth: number): GVariantValue[] {
  const ms = t.members;
  const size = end - start;
  if (ms.length === 0) {
    if (buf[start] !== 0) throw new Malformed(t, start, 'unit value is not a zero byte');
    return [];
  }
  let nFramed = 0;
  for (let i = 0; i < ms.length - 1; i++) if (ms[i].fixed === 0) nFramed++;
  if (size === 0 && nFramed > 0) throw new Malformed(t, start, 'empty data for a tuple that needs framing offsets');
  const w = t.fixed !== 0 ? 0 : offsetWidthOf(size);
  const offsetsStart = size - nFramed * w;
  if (offsetsStart < 0) throw new Malformed(t, start, 'tuple too small for its framing offsets');
  const out = new Array<GVariantValue>(ms.length);
  let pos = 0;
  let k = 0;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    const s = alignUp(pos, m.align);
    let e: number;
    if (m.fixed !== 0) e = s + m.fixed;
    else if (i === ms.length - 1) e = offsetsStart;
    else {
      k++;
      e = readOffset(buf, end - k * w, w);
    }
    if (s > e || e > offsetsStart) throw new Malformed(t, start + s, `member ${i} (${m.str}) out of bounds`);
    zeros(buf, start + pos, start + s, t);
    out[i] = read(m, buf, start + s, start + e, depth + 1);
    pos = e;
  }
  if (t.fixed !== 0) {
    zeros(buf, start + pos, end, t);
  } else if (pos !== offsetsStart) {
    throw new Malformed(t, start + pos, `${offsetsStart - pos} unused bytes after the last member`);
  }
  return out;
}

/**
 * Parse GVariant bytes of type `type`. Strict: anything that is not GLib normal form
 * (bad offsets, non-zero padding, wrong sizes, invalid UTF-8, interior NUL...) is rejected.
 * @throws FormatError naming the type and the byte offset of the problem.
 * @example parse('as', Buffer.from('610062630000020506', 'hex')) // ['a', 'bc', '']
 */
export function parse(type: string, data: Uint8Array): GVariantValue {
  const t = typeInfo(type);
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    return read(t, buf, 0, buf.length, 0);
  } catch (err) {
    if (err instanceof Malformed) {
      const inner = err.type === type ? '' : ` (in '${err.type.length > 64 ? err.type.slice(0, 64) + '…' : err.type}')`;
      throw new FormatError(`invalid GVariant '${type}' at byte ${err.offset}${inner}: ${err.message}`, { type, offset: err.offset });
    }
    if (err instanceof FormatError) throw err;
    throw new FormatError(`invalid GVariant '${type}': internal parser error: ${err instanceof Error ? err.message : String(err)}`, { type }, { cause: err });
  }
}
