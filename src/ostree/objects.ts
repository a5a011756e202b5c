/**
 * OSTree object model: pure encoders/decoders for dirtree, dirmeta, commit, commitmeta and
 * content-object headers (GVariant normal form), and checksum helpers. No I/O.
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../util/errors.ts';
import {
  align, decodeString, decodeVarArray, encodeString, encodeVarArray, frame, tupleOffsets,
} from './_framing.ts';

export const ObjectType = {
  FILE: 'file',
  DIR_TREE: 'dirtree',
  DIR_META: 'dirmeta',
  COMMIT: 'commit',
  TOMBSTONE_COMMIT: 'commit-tombstone',
  COMMIT_META: 'commitmeta',
} as const;
export type ObjectType = (typeof ObjectType)[keyof typeof ObjectType];

/** Metadata object types (their loose file is the serialized variant; checksum = sha256 of it). */
export const METADATA_TYPES: readonly ObjectType[] = ['dirtree', 'dirmeta', 'commit'];

/** An extended attribute: name without trailing NUL, raw value. */
export type Xattr = [name: Buffer, value: Buffer];

export interface FileHeader {
  uid: number;
  gid: number;
  /** Full st_mode including S_IFREG / S_IFLNK. */
  mode: number;
  rdev: number;
  symlinkTarget: string;
  xattrs: Xattr[];
}

export interface DirMeta {
  uid: number;
  gid: number;
  /** Full st_mode including S_IFDIR. */
  mode: number;
  xattrs: Xattr[];
}

export interface DirTreeFile { name: string; checksum: string }
export interface DirTreeDir { name: string; tree: string; meta: string }
export interface DirTree { files: DirTreeFile[]; dirs: DirTreeDir[] }

/** One commit-metadata entry; `data` is the serialized value of type `type` (the variant's child). */
export interface MetaEntry { key: string; type: string; data: Buffer }

export interface Commit {
  metadata: MetaEntry[];
  parent: string | null;
  related: Array<{ name: string; checksum: string }>;
  subject: string;
  body: string;
  /** Seconds since the epoch. */
  timestamp: bigint;
  rootTree: string;
  rootMeta: string;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFDIR = 0o040000;

/** The empty dirtree `([],[])`. */
export const EMPTY_DIRTREE_CHECKSUM = '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d';

const HEX64 = /^[0-9a-f]{64}$/;

export function isChecksum(s: string): boolean {
  return HEX64.test(s);
}

export function sha256hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function csumBytes(hex: string, what: string): Buffer {
  if (!HEX64.test(hex)) throw new FormatError(`${what}: invalid checksum '${hex}'`);
  return Buffer.from(hex, 'hex');
}

function csumHex(b: Uint8Array, what: string): string {
  if (b.length !== 32) throw new FormatError(`${what}: checksum has ${b.length} bytes, expected 32`);
  return Buffer.from(b.buffer, b.byteOffset, 32).toString('hex');
}

/** Validate a single path component from a dirtree (no '', '.', '..', '/', NUL). */
export function validateName(name: string, what: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new FormatError(`${what}: invalid file name ${JSON.stringify(name)}`);
  }
}

/** Byte-order (strcmp) comparison of UTF-8 names, as used to sort dirtree entries. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// ---------- xattrs a(ayay) ----------

export function sortXattrs(xattrs: Xattr[]): Xattr[] {
  return [...xattrs].sort((a, b) => Buffer.compare(a[0], b[0]));
}

export function encodeXattrs(xattrs: Xattr[]): Buffer {
  const elems = sortXattrs(xattrs).map(([name, value]) => {
    const body = Buffer.concat([name, Buffer.from([0]), value]);
    return frame(body, [name.length + 1]);
  });
  return encodeVarArray(elems);
}

export function decodeXattrs(data: Uint8Array, what: string): Xattr[] {
  return decodeVarArray(data, `${what}: xattrs`).map((e, i) => {
    const { offs, bodyEnd } = tupleOffsets(e, 1, `${what}: xattr ${i}`);
    const nameEnd = offs[0];
    if (nameEnd < 1 || e[nameEnd - 1] !== 0) throw new FormatError(`${what}: xattr ${i} name not NUL-terminated`);
    return [Buffer.from(e.subarray(0, nameEnd - 1)), Buffer.from(e.subarray(nameEnd, bodyEnd))] as Xattr;
  });
}

// ---------- dirmeta (uuua(ayay)) and bare-user `user.ostreemeta` ----------

export function encodeDirMeta(m: DirMeta): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(m.uid >>> 0, 0);
  head.writeUInt32BE(m.gid >>> 0, 4);
  head.writeUInt32BE(m.mode >>> 0, 8);
  return Buffer.concat([head, encodeXattrs(m.xattrs)]);
}

export function decodeDirMeta(data: Uint8Array, what = 'dirmeta'): DirMeta {
  if (data.length < 12) throw new FormatError(`${what}: ${data.length} bytes, too short`);
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return {
    uid: b.readUInt32BE(0),
    gid: b.readUInt32BE(4),
    mode: b.readUInt32BE(8),
    xattrs: decodeXattrs(data.subarray(12), what),
  };
}

// ---------- content headers ----------

/** The (uuuusa(ayay)) header variant. */
export function encodeFileHeader(h: FileHeader): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(h.uid >>> 0, 0);
  head.writeUInt32BE(h.gid >>> 0, 4);
  head.writeUInt32BE(h.mode >>> 0, 8);
  head.writeUInt32BE(h.rdev >>> 0, 12);
  const target = encodeString(h.symlinkTarget);
  const body = Buffer.concat([head, target, encodeXattrs(h.xattrs)]);
  return frame(body, [16 + target.length]);
}

/** The (tuuuusa(ayay)) archive header variant. */
export function encodeArchiveHeader(h: FileHeader, size: bigint): Buffer {
  const head = Buffer.alloc(24);
  head.writeBigUInt64BE(size, 0);
  head.writeUInt32BE(h.uid >>> 0, 8);
  head.writeUInt32BE(h.gid >>> 0, 12);
  head.writeUInt32BE(h.mode >>> 0, 16);
  head.writeUInt32BE(h.rdev >>> 0, 20);
  const target = encodeString(h.symlinkTarget);
  const body = Buffer.concat([head, target, encodeXattrs(h.xattrs)]);
  return frame(body, [24 + target.length]);
}

function lenPrefix(v: Buffer): Buffer {
  const out = Buffer.alloc(8 + v.length);
  out.writeUInt32BE(v.length, 0);
  v.copy(out, 8);
  return out;
}

/** The bytes hashed before a file's content: BE32 length, 4 zero bytes, header variant. */
export function contentStreamHeader(h: FileHeader): Buffer {
  return lenPrefix(encodeFileHeader(h));
}

/** The start of a `.filez` object (followed by raw DEFLATE of the content). */
export function archiveStreamHeader(h: FileHeader, size: bigint): Buffer {
  return lenPrefix(encodeArchiveHeader(h, size));
}

function decodeHeaderTail(data: Uint8Array, fixed: number, what: string): { target: string; xattrs: Xattr[] } {
  const { offs, bodyEnd } = tupleOffsets(data, 1, what);
  const tEnd = offs[0];
  if (tEnd < fixed + 1 || tEnd > bodyEnd) throw new FormatError(`${what}: symlink target offset out of bounds`);
  return {
    target: decodeString(data.subarray(fixed, tEnd), `${what}: symlink target`),
    xattrs: decodeXattrs(data.subarray(tEnd, bodyEnd), what),
  };
}

export function decodeFileHeader(data: Uint8Array, what = 'file header'): FileHeader {
  if (data.length < 17) throw new FormatError(`${what}: ${data.length} bytes, too short`);
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const { target, xattrs } = decodeHeaderTail(data, 16, what);
  return { uid: b.readUInt32BE(0), gid: b.readUInt32BE(4), mode: b.readUInt32BE(8), rdev: b.readUInt32BE(12), symlinkTarget: target, xattrs };
}

export function decodeArchiveHeader(data: Uint8Array, what = 'archive header'): { header: FileHeader; size: bigint } {
  if (data.length < 25) throw new FormatError(`${what}: ${data.length} bytes, too short`);
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const { target, xattrs } = decodeHeaderTail(data, 24, what);
  return {
    size: b.readBigUInt64BE(0),
    header: { uid: b.readUInt32BE(8), gid: b.readUInt32BE(12), mode: b.readUInt32BE(16), rdev: b.readUInt32BE(20), symlinkTarget: target, xattrs },
  };
}

/** Largest accepted content header (a header is small; this bounds hostile input). */
export const MAX_HEADER_SIZE = 16 * 1024 * 1024;

/** Split a length-prefixed header off the front of `data`: returns the variant and where the payload starts. */
export function splitLenPrefixed(data: Uint8Array, what: string): { variant: Uint8Array; payloadStart: number } {
  if (data.length < 8) throw new FormatError(`${what}: truncated header prefix`);
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const len = b.readUInt32BE(0);
  if (len > MAX_HEADER_SIZE) throw new FormatError(`${what}: header length ${len} too large`);
  if (b.readUInt32BE(4) !== 0) throw new FormatError(`${what}: header padding not zero`);
  if (8 + len > data.length) throw new FormatError(`${what}: truncated header (${len} bytes announced)`);
  return { variant: data.subarray(8, 8 + len), payloadStart: 8 + len };
}

/** Validate a file header for a content object (type and bounds). */
export function validateFileHeader(h: FileHeader, what: string): void {
  const fmt = h.mode & S_IFMT;
  if (fmt === S_IFREG) {
    if (h.symlinkTarget !== '') throw new FormatError(`${what}: regular file with a symlink target`);
  } else if (fmt === S_IFLNK) {
    if (h.symlinkTarget === '') throw new FormatError(`${what}: symlink with an empty target`);
  } else {
    throw new FormatError(`${what}: invalid file mode 0${h.mode.toString(8)}`);
  }
}

/** Checksum of a content object given its header and all of its bytes. */
export function contentChecksum(h: FileHeader, content: Uint8Array = new Uint8Array(0)): string {
  return createHash('sha256').update(contentStreamHeader(h)).update(content).digest('hex');
}

// ---------- dirtree (a(say)a(sayay)) ----------

export function encodeDirTree(t: DirTree): Buffer {
  const files = [...t.files].sort((a, b) => compareNames(a.name, b.name)).map((f) => {
    const name = encodeString(f.name);
    return frame(Buffer.concat([name, csumBytes(f.checksum, `dirtree file ${f.name}`)]), [name.length]);
  });
  const dirs = [...t.dirs].sort((a, b) => compareNames(a.name, b.name)).map((d) => {
    const name = encodeString(d.name);
    const body = Buffer.concat([name, csumBytes(d.tree, `dirtree dir ${d.name}`), csumBytes(d.meta, `dirtree dir ${d.name}`)]);
    return frame(body, [name.length + 32, name.length]);
  });
  const fa = encodeVarArray(files);
  const da = encodeVarArray(dirs);
  return frame(Buffer.concat([fa, da]), [fa.length]);
}

export function decodeDirTree(data: Uint8Array, what = 'dirtree'): DirTree {
  const { offs, bodyEnd } = tupleOffsets(data, 1, what);
  const fa = data.subarray(0, offs[0]);
  const da = data.subarray(offs[0], bodyEnd);
  const files = decodeVarArray(fa, `${what}: files`).map((e, i) => {
    const { offs: o, bodyEnd: be } = tupleOffsets(e, 1, `${what}: file ${i}`);
    const name = decodeString(e.subarray(0, o[0]), `${what}: file ${i} name`);
    validateName(name, `${what}: file entry`);
    return { name, checksum: csumHex(e.subarray(o[0], be), `${what}: file ${name}`) };
  });
  const dirs = decodeVarArray(da, `${what}: dirs`).map((e, i) => {
    const { offs: o, bodyEnd: be } = tupleOffsets(e, 2, `${what}: dir ${i}`);
    const [nameEnd, treeEnd] = o;
    if (treeEnd < nameEnd) throw new FormatError(`${what}: dir ${i} framing offsets out of order`);
    const name = decodeString(e.subarray(0, nameEnd), `${what}: dir ${i} name`);
    validateName(name, `${what}: dir entry`);
    return {
      name,
      tree: csumHex(e.subarray(nameEnd, treeEnd), `${what}: dir ${name} tree`),
      meta: csumHex(e.subarray(treeEnd, be), `${what}: dir ${name} meta`),
    };
  });
  return { files, dirs };
}

// ---------- a{sv} ----------

const TYPE_CHARS = /^[bynqiuxthdsogvam(){}*?r]+$/;

export function encodeVariant(type: string, data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.from([0]), Buffer.from(type, 'ascii')]);
}

export function decodeVariant(data: Uint8Array, what: string): { type: string; data: Buffer } {
  const sep = data.lastIndexOf(0);
  if (sep < 0) throw new FormatError(`${what}: variant without type separator`);
  const type = Buffer.from(data.subarray(sep + 1)).toString('latin1');
  if (!TYPE_CHARS.test(type)) throw new FormatError(`${what}: invalid variant type '${type}'`);
  return { type, data: Buffer.from(data.subarray(0, sep)) };
}

export function encodeVardict(entries: MetaEntry[]): Buffer {
  const elems = entries.map((e) => {
    const key = encodeString(e.key);
    const vstart = align(key.length, 8);
    const body = Buffer.concat([key, Buffer.alloc(vstart - key.length), encodeVariant(e.type, e.data)]);
    return frame(body, [key.length]);
  });
  return encodeVarArray(elems, 8);
}

export function decodeVardict(data: Uint8Array, what: string): MetaEntry[] {
  return decodeVarArray(data, what, 8).map((e, i) => {
    const { offs, bodyEnd } = tupleOffsets(e, 1, `${what}: entry ${i}`);
    const key = decodeString(e.subarray(0, offs[0]), `${what}: entry ${i} key`);
    const vs = align(offs[0], 8);
    if (vs > bodyEnd) throw new FormatError(`${what}: entry ${key} value out of bounds`);
    const v = decodeVariant(e.subarray(vs, bodyEnd), `${what}: entry ${key}`);
    return { key, type: v.type, data: v.data };
  });
}

// Simple value encoders for metadata written by the repository itself.
export function metaString(key: string, value: string): MetaEntry {
  return { key, type: 's', data: encodeString(value) };
}

export function metaStrv(key: string, values: string[]): MetaEntry {
  return { key, type: 'as', data: encodeVarArray(values.map(encodeString)) };
}

export function decodeStrv(data: Uint8Array, what: string): string[] {
  return decodeVarArray(data, what).map((e) => decodeString(e, what));
}

// ---------- commit (a{sv}aya(say)sstayay) ----------

export function encodeCommit(c: Commit): Buffer {
  const parts: Buffer[] = [];
  const offs: number[] = [];
  let pos = 0;
  const push = (b: Buffer, framed: boolean): void => {
    parts.push(b);
    pos += b.length;
    if (framed) offs.push(pos);
  };
  push(encodeVardict(c.metadata), true);
  push(c.parent ? csumBytes(c.parent, 'commit parent') : Buffer.alloc(0), true);
  const related = c.related.map((r) => {
    const name = encodeString(r.name);
    return frame(Buffer.concat([name, csumBytes(r.checksum, 'commit related')]), [name.length]);
  });
  push(encodeVarArray(related), true);
  push(encodeString(c.subject), true);
  push(encodeString(c.body), true);
  const pad = align(pos, 8) - pos;
  push(Buffer.alloc(pad), false);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt.asUintN(64, c.timestamp));
  push(ts, false);
  push(csumBytes(c.rootTree, 'commit root tree'), true);
  push(csumBytes(c.rootMeta, 'commit root meta'), false);
  return frame(Buffer.concat(parts, pos), offs.reverse());
}

export function decodeCommit(data: Uint8Array, what = 'commit'): Commit {
  const { offs, bodyEnd } = tupleOffsets(data, 6, what);
  const [oMeta, oParent, oRel, oSubj, oBody, oTree] = offs;
  const tStart = align(oBody, 8);
  const tEnd = tStart + 8;
  if (!(oMeta <= oParent && oParent <= oRel && oRel <= oSubj && oSubj <= oBody && tEnd <= oTree && oTree <= bodyEnd)) {
    throw new FormatError(`${what}: framing offsets out of order`);
  }
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parentBytes = data.subarray(oMeta, oParent);
  return {
    metadata: decodeVardict(data.subarray(0, oMeta), `${what}: metadata`),
    parent: parentBytes.length === 0 ? null : csumHex(parentBytes, `${what}: parent`),
    related: decodeVarArray(data.subarray(oParent, oRel), `${what}: related`).map((e, i) => {
      const { offs: o, bodyEnd: be } = tupleOffsets(e, 1, `${what}: related ${i}`);
      return { name: decodeString(e.subarray(0, o[0]), `${what}: related ${i}`), checksum: csumHex(e.subarray(o[0], be), `${what}: related ${i}`) };
    }),
    subject: decodeString(data.subarray(oRel, oSubj), `${what}: subject`),
    body: decodeString(data.subarray(oSubj, oBody), `${what}: body`),
    timestamp: b.readBigUInt64BE(tStart),
    rootTree: csumHex(data.subarray(tEnd, oTree), `${what}: root tree`),
    rootMeta: csumHex(data.subarray(oTree, bodyEnd), `${what}: root meta`),
  };
}

/** Look up a metadata key's entry. */
export function metaGet(entries: MetaEntry[], key: string): MetaEntry | undefined {
  return entries.find((e) => e.key === key);
}

/** Loose object path relative to the repo: objects/XX/REST.TYPE. */
export function objectRelPath(checksum: string, type: ObjectType, archive: boolean): string {
  const ext = type === 'file' ? (archive ? 'filez' : 'file') : type;
  return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${ext}`;
}
