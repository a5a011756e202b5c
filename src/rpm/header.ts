import { FormatError } from '../util/errors.ts';
import { Tag, Type, tagName, typeName } from './tags.ts';

/**
 * RPM headers: an index of (tag, type, offset, count) entries over a data store, big-endian.
 *
 * On disk a header starts with an 8-byte magic (8e ad e8 01 00 00 00 00), then il (number of
 * index entries, BE32), dl (data store length, BE32), il 16-byte entries and dl bytes of data.
 * The rpmdb stores the same without the magic ("blob"). The first entry may be a region tag
 * (61/62/63, type BIN, count 16) whose offset points at a 16-byte trailer entry inside the data
 * store; the trailer's negated offset is 16 × the number of entries the region covers and the
 * region's data ends just after the trailer. Entries added at install time follow the region.
 */

/** One index entry, as stored (offset relative to the start of the data store). */
export interface HeaderEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

/** The on-disk magic before a header in a package file. */
export const HEADER_MAGIC: Buffer = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);

/** Upper bounds, as rpm enforces them: at most 0xffff entries and 256 MiB of data. */
export const MAX_HEADER_ENTRIES = 0xffff;
export const MAX_HEADER_DATA = 256 * 1024 * 1024;

const REGION_TAGS: ReadonlySet<number> = new Set([Tag.HEADERIMAGE, Tag.HEADERSIGNATURES, Tag.HEADERIMMUTABLE]);
const REGION_TRAILER_SIZE = 16;

/** Fixed element size per type (0 = variable length). */
const TYPE_SIZE: readonly number[] = [0, 1, 1, 2, 4, 8, 0, 1, 0, 0];

/** Alignment a type's data needs inside the data store. */
export function typeAlignment(type: number): number {
  return type === Type.INT16 ? 2 : type === Type.INT32 ? 4 : type === Type.INT64 ? 8 : 1;
}

/** Region info of a parsed header (absent for legacy headers without a region tag). */
export interface HeaderRegion {
  tag: number;
  /** Number of index entries the region covers, including the region tag itself. */
  ril: number;
  /** Length of the region's data, including the trailer. */
  rdl: number;
}

export class RpmHeader {
  /** The header blob as rpmdb stores it: il(4 BE) dl(4 BE) index entries, data store — no 8-byte magic. */
  readonly blob: Buffer;
  readonly entries: ReadonlyMap<number, HeaderEntry>;
  /** Entries in index order. */
  readonly entryList: readonly HeaderEntry[];
  readonly region: HeaderRegion | undefined;
  /** What this header is, for error messages ("foo.rpm: main header"). */
  readonly what: string;
  private readonly dataStart: number;
  private readonly dl: number;

  private constructor(blob: Buffer, list: HeaderEntry[], region: HeaderRegion | undefined, what: string) {
    this.blob = blob;
    this.entryList = list;
    this.region = region;
    this.what = what;
    this.dataStart = 8 + list.length * 16;
    this.dl = blob.length - this.dataStart;
    const m = new Map<number, HeaderEntry>();
    for (const e of list) m.set(e.tag, e);
    this.entries = m;
  }

  /**
   * Parse a header that starts with the 8-byte magic at `offset` of `buf` (a package file).
   * `end` is the offset just past the data store (for the signature header, before the
   * alignment padding to 8 bytes).
   */
  static parseWithMagic(buf: Uint8Array, offset: number, what: string): { header: RpmHeader; end: number } {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (offset < 0 || offset + 16 > b.length) {
      throw new FormatError(`${what}: truncated header at byte ${offset} (file has ${b.length} bytes)`, { offset });
    }
    if (!b.subarray(offset, offset + 8).equals(HEADER_MAGIC)) {
      throw new FormatError(`${what}: bad header magic at byte ${offset}: ${b.subarray(offset, offset + 8).toString('hex')}`, { offset });
    }
    const il = b.readUInt32BE(offset + 8);
    const dl = b.readUInt32BE(offset + 12);
    checkSizes(il, dl, what);
    const len = 8 + il * 16 + dl;
    if (offset + 8 + len > b.length) {
      throw new FormatError(`${what}: header of ${len} bytes at byte ${offset + 8} runs past the end of the data (${b.length} bytes)`, { il, dl });
    }
    const blob = Buffer.from(b.subarray(offset + 8, offset + 8 + len));
    return { header: RpmHeader.parseBlob(blob, what), end: offset + 8 + len };
  }

  /** Parse a bare blob (rpmdb form). */
  static fromBlob(blob: Uint8Array, what: string): RpmHeader {
    const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    if (b.length < 8) throw new FormatError(`${what}: header blob of ${b.length} bytes is too short`);
    const il = b.readUInt32BE(0);
    const dl = b.readUInt32BE(4);
    checkSizes(il, dl, what);
    const len = 8 + il * 16 + dl;
    if (len !== b.length) {
      throw new FormatError(`${what}: header blob is ${b.length} bytes but its index says ${len} (il ${il}, dl ${dl})`, { il, dl });
    }
    return RpmHeader.parseBlob(Buffer.from(b), what);
  }

  private static parseBlob(blob: Buffer, what: string): RpmHeader {
    const il = blob.readUInt32BE(0);
    const dl = blob.readUInt32BE(4);
    const ds = 8 + il * 16;
    const list: HeaderEntry[] = [];
    for (let i = 0; i < il; i++) {
      const p = 8 + i * 16;
      list.push({ tag: blob.readUInt32BE(p), type: blob.readUInt32BE(p + 4), offset: blob.readInt32BE(p + 8), count: blob.readUInt32BE(p + 12) });
    }
    const region = parseRegion(blob, list, ds, dl, what);
    const seen = new Set<number>();
    let end = 0;
    for (let i = region ? 1 : 0; i < il; i++) {
      const e = list[i];
      const where = `${what}: entry ${i} (tag ${tagName(e.tag)})`;
      if (e.tag < Tag.HEADERI18NTABLE) throw new FormatError(`${where}: tag number ${e.tag} is reserved`, { tag: e.tag });
      if (seen.has(e.tag)) throw new FormatError(`${where}: duplicate tag`, { tag: e.tag });
      seen.add(e.tag);
      if (e.type < Type.CHAR || e.type > Type.I18NSTRING) throw new FormatError(`${where}: bad type ${e.type}`, { tag: e.tag, type: e.type });
      if (e.count === 0 || e.count > dl) throw new FormatError(`${where}: absurd count ${e.count} (data store has ${dl} bytes)`, { tag: e.tag, count: e.count });
      if (e.offset < 0 || e.offset >= dl) throw new FormatError(`${where}: offset ${e.offset} outside the data store (${dl} bytes)`, { tag: e.tag, offset: e.offset });
      if (e.offset % typeAlignment(e.type) !== 0) throw new FormatError(`${where}: offset ${e.offset} misaligned for ${typeName(e.type)}`, { tag: e.tag });
      if (e.offset < end) throw new FormatError(`${where}: data at ${e.offset} overlaps the previous entry's data (ends at ${end})`, { tag: e.tag });
      const len = dataLength(blob, ds, dl, e);
      if (len < 0) throw new FormatError(`${where}: ${typeName(e.type)} data of count ${e.count} at offset ${e.offset} runs outside the data store or is not NUL-terminated`, { tag: e.tag });
      end = e.offset + len;
      if (region && end > region.rdl - REGION_TRAILER_SIZE && e.offset < region.rdl) {
        throw new FormatError(`${where}: data overlaps the region trailer`, { tag: e.tag });
      }
    }
    return new RpmHeader(blob, list, region, what);
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  /** The raw data bytes of an entry (fixed-size types only need count × size; strings up to their NULs). */
  rawData(tag: number): Buffer | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    const len = dataLength(this.blob, this.dataStart, this.dl, e);
    return this.blob.subarray(this.dataStart + e.offset, this.dataStart + e.offset + len);
  }

  /** STRING / I18NSTRING (first) / single-element STRING_ARRAY. */
  string(tag: number): string | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    if (e.type === Type.STRING || e.type === Type.I18NSTRING || (e.type === Type.STRING_ARRAY && e.count === 1)) {
      return this.readStrings(e, 1)[0];
    }
    throw this.typeError(e, 'a string');
  }

  /** STRING_ARRAY / I18NSTRING (one per locale) / STRING (as a one-element array). */
  strings(tag: number): string[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    if (e.type === Type.STRING_ARRAY || e.type === Type.I18NSTRING || e.type === Type.STRING) return this.readStrings(e, e.count);
    throw this.typeError(e, 'a string array');
  }

  /** INT8/16/32 and CHAR, unsigned. */
  numbers(tag: number): number[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    const p = this.dataStart + e.offset;
    const out: number[] = new Array<number>(e.count);
    switch (e.type) {
      case Type.CHAR:
      case Type.INT8:
        for (let i = 0; i < e.count; i++) out[i] = this.blob[p + i]!;
        return out;
      case Type.INT16:
        for (let i = 0; i < e.count; i++) out[i] = this.blob.readUInt16BE(p + 2 * i);
        return out;
      case Type.INT32:
        for (let i = 0; i < e.count; i++) out[i] = this.blob.readUInt32BE(p + 4 * i);
        return out;
      default:
        throw this.typeError(e, 'an integer array');
    }
  }

  /** First element of numbers(). */
  number(tag: number): number | undefined {
    return this.numbers(tag)?.[0];
  }

  /** INT64 (INT32/16/8 are widened). */
  bigints(tag: number): bigint[] | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    if (e.type === Type.INT64) {
      const p = this.dataStart + e.offset;
      const out: bigint[] = [];
      for (let i = 0; i < e.count; i++) out.push(this.blob.readBigUInt64BE(p + 8 * i));
      return out;
    }
    return this.numbers(tag)?.map((n) => BigInt(n));
  }

  /** BIN data (a copy-free view into the blob). */
  binary(tag: number): Buffer | undefined {
    const e = this.entries.get(tag);
    if (!e) return undefined;
    if (e.type !== Type.BIN) throw this.typeError(e, 'binary data');
    const p = this.dataStart + e.offset;
    return this.blob.subarray(p, p + e.count);
  }

  /**
   * The immutable region as rpm hashes it for SHA1/SHA256 header digests: the 8-byte magic, then
   * ril, rdl, the region's index entries and its data (including the trailer). For a package's
   * main header this is the whole header with its magic.
   */
  immutableRegion(): Buffer {
    const r = this.region;
    if (!r) throw new FormatError(`${this.what}: header has no region tag, so no immutable region`);
    const head = Buffer.alloc(16);
    HEADER_MAGIC.copy(head, 0);
    head.writeUInt32BE(r.ril, 8);
    head.writeUInt32BE(r.rdl, 12);
    return Buffer.concat([head, this.blob.subarray(8, 8 + r.ril * 16), this.blob.subarray(this.dataStart, this.dataStart + r.rdl)]);
  }

  /** The blob with the 8-byte magic in front (package-file form). */
  withMagic(): Buffer {
    return Buffer.concat([HEADER_MAGIC, this.blob]);
  }

  private readStrings(e: HeaderEntry, n: number): string[] {
    const out: string[] = [];
    let p = this.dataStart + e.offset;
    for (let i = 0; i < n; i++) {
      const z = this.blob.indexOf(0, p);
      out.push(this.blob.toString('utf8', p, z));
      p = z + 1;
    }
    return out;
  }

  private typeError(e: HeaderEntry, wanted: string): FormatError {
    return new FormatError(`${this.what}: tag ${tagName(e.tag)} has type ${typeName(e.type)}, expected ${wanted}`, { tag: e.tag, type: e.type });
  }
}

function checkSizes(il: number, dl: number, what: string): void {
  if (il < 1 || il > MAX_HEADER_ENTRIES) throw new FormatError(`${what}: absurd number of header entries: ${il}`, { il });
  if (dl > MAX_HEADER_DATA) throw new FormatError(`${what}: absurd header data size: ${dl} bytes`, { dl });
}

/** Byte length of an entry's data, or -1 if it does not fit in the store / lacks a NUL. */
function dataLength(blob: Buffer, ds: number, dl: number, e: HeaderEntry): number {
  const start = ds + e.offset;
  const limit = ds + dl;
  const size = TYPE_SIZE[e.type] ?? 0;
  if (size > 0) {
    const len = e.count * size;
    return e.offset + len > dl ? -1 : len;
  }
  if (e.type === Type.STRING && e.count !== 1) return -1;
  let p = start;
  for (let i = 0; i < e.count; i++) {
    const z = blob.indexOf(0, p);
    if (z < 0 || z >= limit) return -1;
    p = z + 1;
  }
  return p - start;
}

function parseRegion(blob: Buffer, list: HeaderEntry[], ds: number, dl: number, what: string): HeaderRegion | undefined {
  const first = list[0];
  if (!REGION_TAGS.has(first.tag)) return undefined;
  const tagn = tagName(first.tag);
  if (first.type !== Type.BIN || first.count !== REGION_TRAILER_SIZE) {
    throw new FormatError(`${what}: region tag ${tagn} is bad: type ${first.type}, offset ${first.offset}, count ${first.count}`);
  }
  if (first.offset < 0 || first.offset + REGION_TRAILER_SIZE > dl) {
    throw new FormatError(`${what}: region tag ${tagn} trailer offset ${first.offset} is outside the data store (${dl} bytes)`);
  }
  const t = ds + first.offset;
  let ttag = blob.readUInt32BE(t);
  const ttype = blob.readUInt32BE(t + 4);
  const toff = -blob.readInt32BE(t + 8);
  const tcount = blob.readUInt32BE(t + 12);
  // Some old packages carry HEADERIMAGE in the signature region's trailer.
  if (first.tag === Tag.HEADERSIGNATURES && ttag === Tag.HEADERIMAGE) ttag = Tag.HEADERSIGNATURES;
  if (ttag !== first.tag || ttype !== Type.BIN || tcount !== REGION_TRAILER_SIZE) {
    throw new FormatError(`${what}: region trailer is bad: tag ${ttag}, type ${ttype}, count ${tcount} (region tag ${tagn})`);
  }
  const ril = toff / 16;
  const rdl = first.offset + REGION_TRAILER_SIZE;
  if (toff <= 0 || toff % 16 !== 0 || ril > list.length || rdl > dl) {
    throw new FormatError(`${what}: region size is bad: ${toff / 16} entries, ${rdl} bytes (header has ${list.length} entries, ${dl} bytes)`);
  }
  return { tag: first.tag, ril, rdl };
}

/** A value for HeaderBuilder.add, by type. */
export type HeaderValue = string | readonly string[] | number | readonly number[] | bigint | readonly bigint[] | Uint8Array;

interface PendingEntry {
  tag: number;
  type: number;
  count: number;
  data: Buffer;
}

/**
 * Build a header blob in rpm's layout: entries sorted by tag, each entry's data aligned for its
 * type in the same order; with `region`, a region tag first whose trailer ends the data store.
 * `HeaderBuilder.extend(header)` keeps an existing header's region verbatim and appends the new
 * entries after it (what rpm does when it adds install-time tags).
 *
 * ```ts
 * const blob = new HeaderBuilder({ region: Tag.HEADERIMMUTABLE })
 *   .add(Tag.NAME, Type.STRING, 'hello').add(Tag.EPOCH, Type.INT32, 1).toBlob();
 * ```
 */
export class HeaderBuilder {
  private readonly pending = new Map<number, PendingEntry>();
  private readonly regionTag: number | undefined;
  private base: RpmHeader | undefined;

  constructor(opts: { region?: number } = {}) {
    this.regionTag = opts.region;
    if (opts.region !== undefined && !REGION_TAGS.has(opts.region)) throw new RangeError(`not a region tag: ${opts.region}`);
  }

  /** Start from `header`'s region (entries and data kept byte for byte); new tags go after it. */
  static extend(header: RpmHeader): HeaderBuilder {
    if (!header.region) throw new FormatError(`${header.what}: header has no region to extend`);
    const b = new HeaderBuilder();
    b.base = header;
    return b;
  }

  /** Add (or replace) an entry. */
  add(tag: number, type: number, value: HeaderValue): this {
    if (this.base?.region && this.base.entryList.slice(0, this.base.region.ril).some((e) => e.tag === tag)) {
      throw new RangeError(`tag ${tagName(tag)} is already in the header's region`);
    }
    this.pending.set(tag, { tag, type, ...encodeValue(tag, type, value) });
    return this;
  }

  has(tag: number): boolean {
    return this.pending.has(tag) || (this.base?.has(tag) ?? false);
  }

  /** The blob (rpmdb form, no magic). */
  toBlob(): Buffer {
    const sorted = [...this.pending.values()].sort((a, b) => a.tag - b.tag);
    const index: Buffer[] = [];
    const data: Buffer[] = [];
    let dlen = 0;
    const push = (buf: Buffer): void => {
      data.push(buf);
      dlen += buf.length;
    };
    const entry = (tag: number, type: number, offset: number, count: number): Buffer => {
      const e = Buffer.alloc(16);
      e.writeUInt32BE(tag >>> 0, 0);
      e.writeUInt32BE(type, 4);
      e.writeInt32BE(offset, 8);
      e.writeUInt32BE(count, 12);
      return e;
    };
    if (this.base?.region) {
      const r = this.base.region;
      const ds = 8 + this.base.entryList.length * 16;
      index.push(this.base.blob.subarray(8, 8 + r.ril * 16));
      push(this.base.blob.subarray(ds, ds + r.rdl));
    }
    for (const p of sorted) {
      const align = typeAlignment(p.type);
      const pad = (align - (dlen % align)) % align;
      if (pad) push(Buffer.alloc(pad));
      index.push(entry(p.tag, p.type, dlen, p.count));
      push(p.data);
    }
    if (this.regionTag !== undefined) {
      const il = sorted.length + 1;
      const regionEntry = entry(this.regionTag, Type.BIN, dlen, REGION_TRAILER_SIZE);
      push(entry(this.regionTag, Type.BIN, -(il * 16), REGION_TRAILER_SIZE));
      index.unshift(regionEntry);
    }
    const il = index.reduce((n, b) => n + b.length / 16, 0);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(il, 0);
    head.writeUInt32BE(dlen, 4);
    return Buffer.concat([head, ...index, ...data]);
  }

  /** Build and parse back. */
  toHeader(what = 'built header'): RpmHeader {
    return RpmHeader.fromBlob(this.toBlob(), what);
  }
}

function encodeValue(tag: number, type: number, value: HeaderValue): { count: number; data: Buffer } {
  const bad = (): never => {
    throw new TypeError(`tag ${tagName(tag)}: value does not fit type ${typeName(type)}`);
  };
  const nums = (): readonly number[] => (typeof value === 'number' ? [value] : Array.isArray(value) || value instanceof Uint8Array ? (value as readonly number[]) : bad());
  switch (type) {
    case Type.CHAR:
    case Type.INT8: {
      const a = nums();
      return { count: a.length, data: Buffer.from(Array.from(a, (n) => n & 0xff)) };
    }
    case Type.INT16: {
      const a = nums();
      const d = Buffer.alloc(a.length * 2);
      a.forEach((n, i) => d.writeUInt16BE(n & 0xffff, i * 2));
      return { count: a.length, data: d };
    }
    case Type.INT32: {
      const a = nums();
      const d = Buffer.alloc(a.length * 4);
      a.forEach((n, i) => d.writeUInt32BE(n >>> 0, i * 4));
      return { count: a.length, data: d };
    }
    case Type.INT64: {
      const a: readonly (bigint | number)[] =
        typeof value === 'bigint' || typeof value === 'number' ? [value] : Array.isArray(value) ? (value as readonly (bigint | number)[]) : bad();
      const d = Buffer.alloc(a.length * 8);
      a.forEach((n, i) => d.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n)), i * 8));
      return { count: a.length, data: d };
    }
    case Type.STRING:
      if (typeof value !== 'string') bad();
      return { count: 1, data: Buffer.from(`${value as string}\0`, 'utf8') };
    case Type.BIN:
      if (!(value instanceof Uint8Array)) bad();
      return { count: (value as Uint8Array).length, data: Buffer.from(value as Uint8Array) };
    case Type.STRING_ARRAY:
    case Type.I18NSTRING: {
      const a: readonly string[] = typeof value === 'string' ? [value] : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value) : bad();
      return { count: a.length, data: Buffer.from(a.map((s) => `${s}\0`).join(''), 'utf8') };
    }
    default:
      throw new TypeError(`tag ${tagName(tag)}: cannot build type ${type}`);
  }
}
