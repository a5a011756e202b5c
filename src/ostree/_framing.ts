/**
 * GVariant framing for the fixed OSTree object types (normal form). Kept private to this folder:
 * the object encoders here are hand-specialised for speed and for strict, bounded parsing of
 * untrusted objects; generic values (commit metadata) go through `src/gvariant`.
 */
import { FormatError } from '../util/errors.ts';

/** Width of framing offsets for a container whose body is `body` bytes with `n` offsets. */
export function offsetWidth(body: number, n: number): number {
  if (n === 0) return 0;
  if (body + n <= 0xff) return 1;
  if (body + n * 2 <= 0xffff) return 2;
  if (body + n * 4 <= 0xffffffff) return 4;
  return 8;
}

/** Width of framing offsets when reading a container of total size `size`. */
export function readWidth(size: number): number {
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

/** Append `offsets` (LE, minimal width) to `body`. */
export function frame(body: Buffer, offsets: number[]): Buffer {
  if (offsets.length === 0) return body;
  const w = offsetWidth(body.length, offsets.length);
  const out = Buffer.alloc(body.length + w * offsets.length);
  body.copy(out, 0);
  let p = body.length;
  for (const o of offsets) {
    writeLE(out, p, o, w);
    p += w;
  }
  return out;
}

function writeLE(buf: Buffer, pos: number, v: number, w: number): void {
  if (w === 1) buf[pos] = v;
  else if (w === 2) buf.writeUInt16LE(v, pos);
  else if (w === 4) buf.writeUInt32LE(v, pos);
  else buf.writeBigUInt64LE(BigInt(v), pos);
}

export function readLE(buf: Uint8Array, pos: number, w: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (w === 1) return b[pos];
  if (w === 2) return b.readUInt16LE(pos);
  if (w === 4) return b.readUInt32LE(pos);
  const v = b.readBigUInt64LE(pos);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(v);
}

/** Encode an array of variable-size elements with alignment `align`. */
export function encodeVarArray(elements: Buffer[], align = 1): Buffer {
  if (elements.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  const ends: number[] = [];
  let pos = 0;
  for (const e of elements) {
    const pad = (align - (pos % align)) % align;
    if (pad) {
      parts.push(Buffer.alloc(pad));
      pos += pad;
    }
    parts.push(e);
    pos += e.length;
    ends.push(pos);
  }
  return frame(Buffer.concat(parts, pos), ends);
}

/** Split an array of variable-size elements; strict bounds checks. */
export function decodeVarArray(data: Uint8Array, what: string, align = 1): Uint8Array[] {
  const size = data.length;
  if (size === 0) return [];
  const w = readWidth(size);
  if (size < w) throw new FormatError(`${what}: array too short for its framing offset`);
  const lastEnd = readLE(data, size - w, w);
  if (lastEnd > size - w) throw new FormatError(`${what}: array framing offset ${lastEnd} out of bounds`);
  const offArea = size - lastEnd;
  if (offArea % w !== 0 || offArea === 0) throw new FormatError(`${what}: array framing offsets misaligned`);
  const n = offArea / w;
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = readLE(data, lastEnd + i * w, w);
    const s = align > 1 ? start + ((align - (start % align)) % align) : start;
    if (end < s || end > lastEnd) throw new FormatError(`${what}: element ${i} framing offset ${end} out of bounds`);
    out.push(data.subarray(s, end));
    start = end;
  }
  return out;
}

/** Read a NUL-terminated string occupying exactly `data`. */
export function decodeString(data: Uint8Array, what: string): string {
  if (data.length === 0 || data[data.length - 1] !== 0) throw new FormatError(`${what}: string not NUL-terminated`);
  const body = data.subarray(0, data.length - 1);
  if (body.includes(0)) throw new FormatError(`${what}: string contains NUL`);
  const s = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (Buffer.byteLength(s) !== body.length) throw new FormatError(`${what}: string is not valid UTF-8`);
  return s;
}

export function encodeString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(b.length + 1);
  b.copy(out);
  return out;
}

/**
 * Read the framing offsets at the end of a tuple whose variable non-last members number `n`.
 * Returns the offsets in member order and the end of the body.
 */
export function tupleOffsets(data: Uint8Array, n: number, what: string): { offs: number[]; bodyEnd: number } {
  if (n === 0) return { offs: [], bodyEnd: data.length };
  const w = readWidth(data.length);
  if (data.length < n * w) throw new FormatError(`${what}: too short for ${n} framing offsets`);
  const bodyEnd = data.length - n * w;
  const offs: number[] = [];
  for (let i = 0; i < n; i++) {
    // Reverse order: the first member's offset is the last bytes.
    const o = readLE(data, data.length - (i + 1) * w, w);
    if (o > bodyEnd) throw new FormatError(`${what}: framing offset ${o} out of bounds`);
    offs.push(o);
  }
  return { offs, bodyEnd };
}

export function align(pos: number, a: number): number {
  return pos + ((a - (pos % a)) % a);
}
