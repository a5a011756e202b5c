/**
 * GVariant serialiser: GLib normal form, little-endian. Two passes over the value: the first
 * computes the exact size, the second writes into one zero-filled Buffer of that size.
 */
import { FormatError } from '../util/errors.ts';
import { alignUp, offsetWidthFor, writeOffset } from './_framing.ts';
import { MAX_DEPTH, isValidObjectPath, isValidSignature, typeInfo, type TypeInfo } from './type.ts';
import { Variant, type GVariantValue } from './variant.ts';

/** A value that does not fit its type; `path` is filled in on the way out. */
class ValueError extends Error {
  readonly path: Array<number | string> = [];
}

function bad(t: TypeInfo, v: unknown, expected: string): never {
  throw new ValueError(`expected ${expected} for '${t.str}', got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (v instanceof Variant) return `Variant '${v.type}'`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

function annotate(err: unknown, key: number | string): never {
  if (err instanceof ValueError) err.path.unshift(key);
  throw err;
}

function variantChild(t: TypeInfo, v: GVariantValue): TypeInfo {
  if (!(v instanceof Variant)) bad(t, v, 'a Variant');
  return typeInfo(v.type);
}

function sizeOf(t: TypeInfo, v: GVariantValue, depth: number): number {
  if (t.fixed !== 0) return t.fixed;
  switch (t.kind) {
    case 's':
    case 'o':
    case 'g':
      if (typeof v !== 'string') bad(t, v, 'a string');
      return utf8Length(v) + 1;
    case 'v': {
      const ct = variantChild(t, v);
      if (depth + ct.depth > MAX_DEPTH) bad(t, v, `nesting at most ${MAX_DEPTH} deep`);
      try {
        return sizeOf(ct, (v as Variant).value, depth + 1) + 1 + ct.str.length;
      } catch (err) {
        return annotate(err, '<>');
      }
    }
    case 'm': {
      if (v === null) return 0;
      const e = t.elem!;
      try {
        return sizeOf(e, v, depth + 1) + (e.fixed === 0 ? 1 : 0);
      } catch (err) {
        return annotate(err, 'just');
      }
    }
    case 'a': {
      const e = t.elem!;
      if (e.fixed !== 0) {
        if (v instanceof Uint8Array && e.kind === 'y') return v.length;
        if (!Array.isArray(v)) bad(t, v, e.kind === 'y' ? 'a Uint8Array or an array' : 'an array');
        return v.length * e.fixed;
      }
      if (!Array.isArray(v)) bad(t, v, 'an array');
      let p = 0;
      let i = 0;
      try {
        for (; i < v.length; i++) p = alignUp(p, e.align) + sizeOf(e, v[i], depth + 1);
      } catch (err) {
        annotate(err, i);
      }
      return p + v.length * offsetWidthFor(p, v.length);
    }
    default: {
      // variable-size tuple or dict entry
      const ms = t.members;
      if (!Array.isArray(v) || v.length !== ms.length) bad(t, v, `an array of ${ms.length}`);
      let p = 0;
      let framed = 0;
      let i = 0;
      try {
        for (; i < ms.length; i++) {
          const m = ms[i];
          p = alignUp(p, m.align) + (m.fixed !== 0 ? m.fixed : sizeOf(m, v[i], depth + 1));
          if (m.fixed === 0 && i < ms.length - 1) framed++;
        }
      } catch (err) {
        annotate(err, i);
      }
      return p + framed * offsetWidthFor(p, framed);
    }
  }
}

/** Framing offsets waiting to be written, shared by all containers of one serialise call. */
let stack: number[] = [];
let sp = 0;

/** UTF-8 length without encoding: ASCII strings (the usual case) need one pass over char codes. */
function utf8Length(s: string): number {
  if (s.length > 64) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/**
 * Write `s` byte by byte if it is pure ASCII; returns the bytes written, the index of the first NUL
 * (caller rejects it) or -1 if a non-ASCII character means the caller must use the UTF-8 encoder.
 */
function writeAscii(s: string, buf: Buffer, pos: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    if (c === 0) return i;
    buf[pos + i] = c;
  }
  return n;
}

function intIn(t: TypeInfo, v: GVariantValue, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(t, v, `an integer in ${min}..${max}`);
  return v;
}

function bigIn(t: TypeInfo, v: GVariantValue, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else bad(t, v, 'a bigint');
  if (b < min || b > max) bad(t, v, `an integer in ${min}..${max}`);
  return b;
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Write `v` at `pos` (already aligned for `t`); returns the end position. */
function write(t: TypeInfo, v: GVariantValue, buf: Buffer, pos: number): number {
  switch (t.kind) {
    case 'b':
      if (typeof v !== 'boolean') bad(t, v, 'a boolean');
      buf[pos] = v ? 1 : 0;
      return pos + 1;
    case 'y':
      buf[pos] = intIn(t, v, 0, 0xff);
      return pos + 1;
    case 'n':
      buf.writeInt16LE(intIn(t, v, -0x8000, 0x7fff), pos);
      return pos + 2;
    case 'q':
      buf.writeUInt16LE(intIn(t, v, 0, 0xffff), pos);
      return pos + 2;
    case 'i':
    case 'h':
      buf.writeInt32LE(intIn(t, v, -0x80000000, 0x7fffffff), pos);
      return pos + 4;
    case 'u':
      buf.writeUInt32LE(intIn(t, v, 0, 0xffffffff), pos);
      return pos + 4;
    case 'x':
      buf.writeBigInt64LE(bigIn(t, v, I64_MIN, I64_MAX), pos);
      return pos + 8;
    case 't':
      buf.writeBigUInt64LE(bigIn(t, v, 0n, U64_MAX), pos);
      return pos + 8;
    case 'd':
      if (typeof v !== 'number') bad(t, v, 'a number');
      buf.writeDoubleLE(v, pos);
      return pos + 8;
    case 's':
    case 'o':
    case 'g': {
      const s = v as string;
      if (t.kind === 'o' && !isValidObjectPath(s)) bad(t, v, 'an object path');
      if (t.kind === 'g' && !isValidSignature(s)) bad(t, v, 'a type signature');
      let n = -1;
      if (s.length <= 64) n = writeAscii(s, buf, pos);
      if (n < 0) {
        if (s.includes('\0')) bad(t, v, 'a string without NUL');
        if (!s.isWellFormed()) bad(t, v, 'a well-formed Unicode string');
        n = buf.write(s, pos, 'utf8');
      } else if (n < s.length) bad(t, v, 'a string without NUL');
      buf[pos + n] = 0;
      return pos + n + 1;
    }
    case 'v': {
      const variant = v as Variant;
      const ct = typeInfo(variant.type);
      let p: number;
      try {
        p = write(ct, variant.value, buf, pos);
      } catch (err) {
        return annotate(err, '<>');
      }
      buf[p] = 0;
      return p + 1 + buf.write(ct.str, p + 1, 'latin1');
    }
    case 'm': {
      if (v === null) return pos;
      const e = t.elem!;
      let p: number;
      try {
        p = write(e, v, buf, pos);
      } catch (err) {
        return annotate(err, 'just');
      }
      if (e.fixed === 0) buf[p++] = 0;
      return p;
    }
    case 'a':
      return writeArray(t, v, buf, pos);
    default:
      return writeTuple(t, v, buf, pos);
  }
}

function writeArray(t: TypeInfo, v: GVariantValue, buf: Buffer, start: number): number {
  const e = t.elem!;
  if (v instanceof Uint8Array) {
    const len = v.length;
    if (len > 64) buf.set(v, start);
    else for (let k = 0; k < len; k++) buf[start + k] = v[k]; // checksums and names: a loop beats set()
    return start + len;
  }
  const list = v as GVariantValue[];
  const n = list.length;
  let p = start;
  let i = 0;
  if (e.fixed !== 0) {
    try {
      for (; i < n; i++) p = writeFixed(e, list[i], buf, p);
    } catch (err) {
      annotate(err, i);
    }
    return p;
  }
  // element ends go on the shared stack (no allocation per container); nested writes push above them
  const base = sp;
  try {
    for (; i < n; i++) {
      p = alignUp(p, e.align);
      p = write(e, list[i], buf, p);
      stack[sp++] = p - start;
    }
  } catch (err) {
    sp = base;
    annotate(err, i);
  }
  const w = offsetWidthFor(p - start, n);
  for (i = 0; i < n; i++, p += w) writeOffset(buf, p, w, stack[base + i]);
  sp = base;
  return p;
}

/** Fixed-size values: write then report exactly start + size (covers trailing tuple padding). */
function writeFixed(t: TypeInfo, v: GVariantValue, buf: Buffer, start: number): number {
  write(t, v, buf, start);
  return start + t.fixed;
}

function writeTuple(t: TypeInfo, v: GVariantValue, buf: Buffer, start: number): number {
  const ms = t.members;
  const list = v as GVariantValue[];
  if (!Array.isArray(list) || list.length !== ms.length) bad(t, v, `an array of ${ms.length}`);
  if (ms.length === 0) {
    buf[start] = 0;
    return start + 1;
  }
  let p = start;
  const base = sp;
  let i = 0;
  try {
    for (; i < ms.length; i++) {
      const m = ms[i];
      p = alignUp(p, m.align);
      if (m.fixed !== 0) p = writeFixed(m, list[i], buf, p);
      else {
        p = write(m, list[i], buf, p);
        if (i < ms.length - 1) stack[sp++] = p - start;
      }
    }
  } catch (err) {
    sp = base;
    annotate(err, i);
  }
  if (t.fixed !== 0) return start + t.fixed;
  const framed = sp - base;
  if (framed === 0) return p;
  const w = offsetWidthFor(p - start, framed);
  for (let k = sp - 1; k >= base; k--, p += w) writeOffset(buf, p, w, stack[k]);
  sp = base;
  return p;
}

/**
 * Serialise `value` as GVariant type `type` in normal form (little-endian, byte-exact with GLib).
 * @throws FormatError if `type` is invalid or `value` does not fit it (the message names the path).
 * @example serialize('(su)', ['hi', 7]) // <68 69 00 00 07 00 00 00>
 */
export function serialize(type: string, value: GVariantValue): Buffer {
  const t = typeInfo(type);
  try {
    const size = sizeOf(t, value, 0);
    sp = 0;
    if (stack.length > 65536) stack = [];
    const buf = Buffer.alloc(size);
    const end = write(t, value, buf, 0);
    if (end !== size) throw new Error(`gvariant serialiser size mismatch for '${type}': computed ${size}, wrote ${end}`);
    return buf;
  } catch (err) {
    if (err instanceof ValueError) {
      const where = err.path.length > 0 ? ` at ${err.path.map((k) => `[${k}]`).join('')}` : '';
      throw new FormatError(`cannot serialise value as '${type}'${where}: ${err.message}`, { type, path: err.path });
    }
    throw err;
  }
}
