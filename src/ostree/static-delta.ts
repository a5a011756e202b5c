/**
 * Static deltas in the peer tool's format (see the folder README): a superblock describing parts,
 * each part a `(a(uuu)aa(ayay)ayay)` payload (modes, xattr sets, raw bytes, operations), compressed
 * with xz. Generation writes new objects with OPEN_SPLICE_AND_CLOSE, except modified files that are
 * rebuilt from their old version (same path in FROM) by rsync-style block matching (OPEN, WRITE from
 * the old object or from raw bytes, CLOSE); objects above the fallback size are left for loose
 * fetching. Parts are compressed in parallel.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, serialize, Variant, type GVariantValue } from '../gvariant/index.ts';
import { FedostreeError, FormatError, NotFoundError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { cpuCount, Limiter } from '../util/concurrency.ts';
import { decodeDirTree, encodeXattrs, S_IFLNK, S_IFMT, type ObjectType, type Xattr } from './objects.ts';
import type { OstreeRepo } from './repo.ts';
import { deltaRelDir, listStaticDeltas, parseDeltaName } from './summary.ts';

export const SUPERBLOCK_TYPE = '(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))';
export const PART_PAYLOAD_TYPE = '(a(uuu)aa(ayay)ayay)';
export const OBJTYPE_BYTE: Record<string, number> = { file: 1, dirtree: 2, dirmeta: 3, commit: 4 };
export const BYTE_OBJTYPE: Record<number, ObjectType> = { 1: 'file', 2: 'dirtree', 3: 'dirmeta', 4: 'commit' };
export const OP = { OPEN_SPLICE_AND_CLOSE: 0x53, OPEN: 0x6f, WRITE: 0x77, SET_READ_SOURCE: 0x72, UNSET_READ_SOURCE: 0x52, CLOSE: 0x63, BSPATCH: 0x42 } as const;
/** Largest decompressed part we accept. */
export const MAX_PART_SIZE = 512 * 1024 * 1024;

export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

function be64(n: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b.readBigUInt64LE();
}

/** Run xz on `input` (compress or decompress) without blocking the event loop. */
export function xz(input: Uint8Array, decompress: boolean, maxOut = MAX_PART_SIZE): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', decompress ? ['-dc', '-q'] : ['-c', '-6', '--check=crc64', '-T1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let n = 0;
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      n += c.length;
      if (n > maxOut) {
        child.kill();
        reject(new FormatError(`xz: output larger than ${maxOut} bytes`));
      }
      out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new FedostreeError('EXZ', `running xz: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new FormatError(`xz ${decompress ? 'decompression' : 'compression'} failed: ${err.trim()}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

interface PlannedObject { type: ObjectType; checksum: string; size: number }

/** Objects reachable from a commit's tree (not the commit itself): key `checksum.type`. */
async function reachable(repo: OstreeRepo, commit: string): Promise<Map<string, PlannedObject>> {
  const out = new Map<string, PlannedObject>();
  const c = await repo.readCommit(commit);
  const walk = async (tree: string, meta: string): Promise<void> => {
    if (!out.has(`${meta}.dirmeta`)) out.set(`${meta}.dirmeta`, { type: 'dirmeta', checksum: meta, size: 0 });
    if (out.has(`${tree}.dirtree`)) return;
    out.set(`${tree}.dirtree`, { type: 'dirtree', checksum: tree, size: 0 });
    const t = decodeDirTree(await repo.loadMetadata('dirtree', tree), `dirtree ${tree}`);
    for (const f of t.files) out.set(`${f.checksum}.file`, { type: 'file', checksum: f.checksum, size: 0 });
    for (const d of t.dirs) await walk(d.tree, d.meta);
  };
  await walk(c.rootTree, c.rootMeta);
  return out;
}

/** Regular-file paths of a commit → content checksum (to pair modified files with their old version). */
async function filePaths(repo: OstreeRepo, commit: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const c = await repo.readCommit(commit);
  const walk = async (tree: string, prefix: string): Promise<void> => {
    const t = decodeDirTree(await repo.loadMetadata('dirtree', tree), `dirtree ${tree}`);
    for (const f of t.files) out.set(prefix + f.name, f.checksum);
    for (const d of t.dirs) await walk(d.tree, `${prefix}${d.name}/`);
  };
  await walk(c.rootTree, '/');
  return out;
}

/** A segment of a rebuilt file: bytes copied from the old object, or literal new bytes. */
export type RollSegment = { copy: true; offset: number; length: number } | { copy: false; offset: number; length: number };

const ROLL_BLOCK = 2048;

/**
 * rsync-style matching: blocks of `old` (fixed size, weak rolling sum + exact compare) found anywhere
 * in `neu`, extended byte-wise. Returns the segments that rebuild `neu` (offsets into old / neu).
 */
export function rollsumSegments(old: Buffer, neu: Buffer, block = ROLL_BLOCK): RollSegment[] {
  const segs: RollSegment[] = [];
  const table = new Map<number, number[]>();
  const weak = (buf: Buffer, start: number): [number, number] => {
    let a = 0;
    let b = 0;
    for (let i = 0; i < block; i++) {
      a = (a + buf[start + i]) & 0xffff;
      b = (b + (block - i) * buf[start + i]) & 0xffff;
    }
    return [a, b];
  };
  for (let i = 0; (i + 1) * block <= old.length; i++) {
    const [a, b] = weak(old, i * block);
    const k = (b << 16) | a;
    const list = table.get(k);
    if (list) {
      if (list.length < 8) list.push(i);
    } else table.set(k, [i]);
  }
  const lit = (from: number, to: number): void => {
    if (to > from) segs.push({ copy: false, offset: from, length: to - from });
  };
  let pos = 0;
  let litStart = 0;
  if (neu.length < block || table.size === 0) {
    lit(0, neu.length);
    return segs;
  }
  let [a, b] = weak(neu, 0);
  while (pos + block <= neu.length) {
    const cands = table.get((b << 16) | a);
    let matched = -1;
    if (cands) {
      for (const idx of cands) {
        if (neu.compare(old, idx * block, idx * block + block, pos, pos + block) === 0) {
          matched = idx;
          break;
        }
      }
    }
    if (matched >= 0) {
      lit(litStart, pos);
      const oStart = matched * block;
      let len = block;
      while (oStart + len < old.length && pos + len < neu.length && old[oStart + len] === neu[pos + len]) len++;
      const last = segs[segs.length - 1];
      if (last && last.copy && last.offset + last.length === oStart) last.length += len;
      else segs.push({ copy: true, offset: oStart, length: len });
      pos += len;
      litStart = pos;
      if (pos + block <= neu.length) [a, b] = weak(neu, pos);
      continue;
    }
    if (pos + block >= neu.length) break;
    const out = neu[pos];
    const inn = neu[pos + block];
    a = (a - out + inn) & 0xffff;
    b = (b - block * out + a) & 0xffff;
    pos++;
  }
  lit(litStart, neu.length);
  return segs;
}

export interface DeltaGenerateOptions {
  /** Uncompressed part size limit in bytes (default 32e6). */
  maxChunkSize?: number;
  /** Content objects larger than this are fallbacks (default 4e6). */
  minFallbackSize?: number;
  /** xz-compress parts (default true). */
  compress?: boolean;
  /** Superblock timestamp (seconds); default now. */
  now?: bigint;
  /** Rebuild modified files from their old version (same path) where that saves space (default true). */
  rollsum?: boolean;
}

export interface DeltaGenerateResult { name: string; parts: number; fallbacks: number; objects: number; size: number }

class PartBuilder {
  modes: Array<[number, number, number]> = [];
  private readonly modeIdx = new Map<string, number>();
  xattrs: Xattr[][] = [];
  private readonly xattrIdx = new Map<string, number>();
  raw: Buffer[] = [];
  rawLen = 0;
  ops: Buffer[] = [];
  objects: Buffer[] = [];

  mode(uid: number, gid: number, mode: number): number {
    const k = `${uid}:${gid}:${mode}`;
    let i = this.modeIdx.get(k);
    if (i === undefined) {
      i = this.modes.length;
      this.modes.push([uid, gid, mode]);
      this.modeIdx.set(k, i);
    }
    return i;
  }

  xattr(x: Xattr[]): number {
    const k = encodeXattrs(x).toString('hex');
    let i = this.xattrIdx.get(k);
    if (i === undefined) {
      i = this.xattrs.length;
      this.xattrs.push(x);
      this.xattrIdx.set(k, i);
    }
    return i;
  }

  addRaw(b: Uint8Array): number {
    const off = this.rawLen;
    this.raw.push(Buffer.from(b));
    this.rawLen += b.length;
    return off;
  }

  record(type: ObjectType, checksum: string): void {
    this.objects.push(Buffer.concat([Buffer.from([OBJTYPE_BYTE[type]]), Buffer.from(checksum, 'hex')]));
  }

  payload(): Buffer {
    const modes: GVariantValue = this.modes.map(([u, g, m]) => [u >>> 0, g >>> 0, m >>> 0].map((x) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(x);
      return b.readUInt32LE();
    }));
    const xattrs: GVariantValue = this.xattrs.map((xs) => [...xs].sort((a, b) => Buffer.compare(a[0], b[0]))
      .map(([n, v]) => [Buffer.concat([n, Buffer.from([0])]), v]));
    return serialize(PART_PAYLOAD_TYPE, [modes, xattrs, Buffer.concat(this.raw), Buffer.concat(this.ops)]);
  }
}

/** Generate the static delta FROM→TO (`from` null = from scratch) into `deltas/`. */
export async function generateStaticDelta(repo: OstreeRepo, from: string | null, to: string, options: DeltaGenerateOptions = {}): Promise<DeltaGenerateResult> {
  const maxChunk = options.maxChunkSize ?? 32_000_000;
  const minFallback = options.minFallbackSize ?? 4_000_000;
  const compress = options.compress ?? true;
  const commitBytes = await repo.loadMetadata('commit', to);
  const target = await reachable(repo, to);
  /** New content object → old content object at the same path (rollsum candidates). */
  const previous = new Map<string, string>();
  if (from) {
    await repo.loadMetadata('commit', from);
    for (const k of (await reachable(repo, from)).keys()) target.delete(k);
    if (options.rollsum ?? true) {
      const oldPaths = await filePaths(repo, from);
      for (const [path, csum] of await filePaths(repo, to)) {
        const old = oldPaths.get(path);
        if (old && old !== csum && target.has(`${csum}.file`)) previous.set(csum, old);
      }
    }
  }
  const list = [...target.values()];
  // Headers and sizes of content objects.
  const files = list.filter((o) => o.type === 'file').map((o) => o.checksum);
  const headers = new Map<string, Awaited<ReturnType<OstreeRepo['readFileHeader']>>>();
  for (let i = 0; i < files.length; i += 2000) {
    const m = await repo.readFileHeaders(files.slice(i, i + 2000));
    for (const [k, v] of m) headers.set(k, v);
  }
  const dir = join(repo.path, deltaRelDir(from, to));
  await rm(dir, { recursive: true, force: true });
  // Full parts are compressed and written while the next ones fill (at most one per core in flight).
  const encoded: Array<{ sha: Buffer; size: number; usize: number; objects: Buffer }> = [];
  const writers = new Limiter(cpuCount);
  const inFlight: Array<Promise<void>> = [];
  let partIndex = 0;
  const failed: { err: Error | null } = { err: null };
  const finish = (p: PartBuilder): void => {
    if (!p.objects.length) return;
    const i = partIndex++;
    inFlight.push(writers.run(async () => {
      const payload = p.payload();
      p.raw = [];
      const body = compress ? Buffer.concat([Buffer.from('x'), await xz(payload, false)]) : Buffer.concat([Buffer.from([0]), payload]);
      await writeFileAtomic(join(dir, String(i)), body, { tmpDir: repo.tmpDir, noSync: true });
      encoded[i] = { sha: createHash('sha256').update(body).digest(), size: body.length, usize: payload.length, objects: Buffer.concat(p.objects) };
    }).catch((err: unknown) => {
      failed.err ??= err instanceof Error ? err : new Error(String(err));
    }));
  };
  let current = new PartBuilder();
  const fallbacks: GVariantValue[] = [];
  const room = (n: number): PartBuilder => {
    if (current.rawLen > 0 && current.rawLen + n > maxChunk) {
      finish(current);
      current = new PartBuilder();
    }
    return current;
  };
  // Metadata first (dirmeta, dirtree), then content: the applier needs no ordering, this keeps parts small.
  const order = [...list.filter((o) => o.type !== 'file'), ...list.filter((o) => o.type === 'file')];
  // Content is read (inflated) ahead, a window at a time, on all cores.
  const WINDOW = 64;
  let ahead = new Map<string, Promise<Buffer>>();
  const readAhead = (start: number): void => {
    ahead = new Map();
    for (const o of order.slice(start, start + WINDOW)) {
      const h = o.type === 'file' ? headers.get(o.checksum) : undefined;
      if (h && h.size <= minFallback && (h.header.mode & S_IFMT) !== S_IFLNK) {
        const pr = repo.readFileContent(o.checksum).then((r) => r.content);
        pr.catch(() => undefined);
        ahead.set(o.checksum, pr);
      }
    }
  };
  for (const [index, o] of order.entries()) {
    if (index % WINDOW === 0) readAhead(index);
    if (o.type !== 'file') {
      const data = await repo.loadMetadata(o.type, o.checksum);
      const p = room(data.length);
      const off = p.addRaw(data);
      p.ops.push(Buffer.from([OP.OPEN_SPLICE_AND_CLOSE]), varint(data.length), varint(off));
      p.record(o.type, o.checksum);
      continue;
    }
    const h = headers.get(o.checksum);
    if (!h) throw new NotFoundError(`${repo.path}: file object ${o.checksum} missing (needed by ${to})`);
    if (h.size > minFallback) {
      const st = await import('node:fs/promises').then((fs) => fs.stat(repo.objectPath(o.checksum, 'file')));
      fallbacks.push([OBJTYPE_BYTE.file, Buffer.from(o.checksum, 'hex'), BigInt(st.size), BigInt(h.size)]);
      continue;
    }
    const isLink = (h.header.mode & S_IFMT) === S_IFLNK;
    const data = isLink ? Buffer.from(h.header.symlinkTarget) : await (ahead.get(o.checksum) ?? repo.readFileContent(o.checksum).then((r) => r.content));
    const prev = previous.get(o.checksum);
    if (!isLink && prev && data.length >= 4 * ROLL_BLOCK) {
      const oldHdr = (await repo.readFileHeaders([prev])).get(prev);
      if (oldHdr && (oldHdr.header.mode & S_IFMT) !== S_IFLNK && oldHdr.size <= minFallback) {
        const old = (await repo.readFileContent(prev)).content;
        const segs = rollsumSegments(old, data);
        const copied = segs.reduce((n, g) => n + (g.copy ? g.length : 0), 0);
        if (copied >= data.length / 4) {
          const literal = data.length - copied;
          const p = room(literal + 32);
          const mi = p.mode(h.header.uid, h.header.gid, h.header.mode);
          const xi = p.xattr(h.header.xattrs);
          const srcOff = p.addRaw(Buffer.from(prev, 'hex'));
          p.ops.push(Buffer.from([OP.OPEN]), varint(mi), varint(xi), varint(data.length));
          let sourceSet = false;
          for (const g of segs) {
            if (g.copy) {
              if (!sourceSet) p.ops.push(Buffer.from([OP.SET_READ_SOURCE]), varint(srcOff));
              sourceSet = true;
              p.ops.push(Buffer.from([OP.WRITE]), varint(g.length), varint(g.offset));
            } else {
              if (sourceSet) p.ops.push(Buffer.from([OP.UNSET_READ_SOURCE]));
              sourceSet = false;
              const off = p.addRaw(data.subarray(g.offset, g.offset + g.length));
              p.ops.push(Buffer.from([OP.WRITE]), varint(g.length), varint(off));
            }
          }
          if (sourceSet) p.ops.push(Buffer.from([OP.UNSET_READ_SOURCE]));
          p.ops.push(Buffer.from([OP.CLOSE]));
          p.record('file', o.checksum);
          continue;
        }
      }
    }
    const p = room(data.length);
    const mi = p.mode(h.header.uid, h.header.gid, h.header.mode);
    const xi = p.xattr(h.header.xattrs);
    const off = p.addRaw(data);
    p.ops.push(Buffer.from([OP.OPEN_SPLICE_AND_CLOSE]), varint(mi), varint(xi), varint(data.length), varint(off));
    p.record('file', o.checksum);
  }
  finish(current);
  await Promise.all(inFlight);
  if (failed.err) throw failed.err;
  const now = options.now ?? BigInt(Math.floor(Date.now() / 1000));
  const superblock = serialize(SUPERBLOCK_TYPE, [
    [['ostree.endianness', new Variant('y', 0x6c)]],
    be64(now),
    from ? Buffer.from(from, 'hex') : Buffer.alloc(0),
    Buffer.from(to, 'hex'),
    parse('(a{sv}aya(say)sstayay)', commitBytes),
    Buffer.alloc(0),
    encoded.map((e) => [0, e.sha, BigInt(e.size), BigInt(e.usize), e.objects]),
    fallbacks,
  ]);
  await writeFileAtomic(join(dir, 'superblock'), superblock, { tmpDir: repo.tmpDir });
  return {
    name: from ? `${from}-${to}` : to, parts: encoded.length, fallbacks: fallbacks.length, objects: list.length,
    size: encoded.reduce((s, e) => s + e.size, 0) + superblock.length,
  };
}

export interface SuperblockInfo {
  from: string | null;
  to: string;
  timestamp: bigint;
  commit: Buffer;
  metadata: Array<[string, Variant]>;
  parts: Array<{ sha256: string; size: number; usize: number; objects: number; objectList: Array<{ type: ObjectType; checksum: string }> }>;
  fallbacks: Array<{ type: ObjectType; checksum: string; size: number; usize: number }>;
}

/** Parse superblock bytes (untrusted). */
export function parseSuperblock(data: Uint8Array, what = 'static delta superblock'): SuperblockInfo {
  let v: GVariantValue;
  try {
    v = parse(SUPERBLOCK_TYPE, data);
  } catch (err) {
    throw new FormatError(`${what}: ${(err as Error).message}`);
  }
  const [md, ts, from, to, commit, , headers, fbs] = v as [Array<[string, Variant]>, bigint, Uint8Array, Uint8Array, GVariantValue, Uint8Array, Array<[number, Uint8Array, bigint, bigint, Uint8Array]>, Array<[number, Uint8Array, bigint, bigint]>];
  const endian = md.find(([k]) => k === 'ostree.endianness')?.[1];
  const big = endian?.type === 'y' && endian.value === 0x42;
  const num = (n: bigint): number => Number(big ? be64(n) : n);
  if (from.length !== 0 && from.length !== 32) throw new FormatError(`${what}: from checksum has ${from.length} bytes`);
  if (to.length !== 32) throw new FormatError(`${what}: to checksum has ${to.length} bytes`);
  const objType = (b: number): ObjectType => {
    const t = BYTE_OBJTYPE[b];
    if (!t) throw new FormatError(`${what}: unknown object type ${b}`);
    return t;
  };
  return {
    from: from.length ? Buffer.from(from).toString('hex') : null,
    to: Buffer.from(to).toString('hex'),
    timestamp: be64(ts),
    commit: serialize('(a{sv}aya(say)sstayay)', commit),
    metadata: md,
    parts: headers.map(([ver, sha, size, usize, objs], i) => {
      if (ver !== 0) throw new FormatError(`${what}: part ${i} has unsupported version ${ver}`);
      if (sha.length !== 32) throw new FormatError(`${what}: part ${i} checksum has ${sha.length} bytes`);
      if (objs.length % 33 !== 0) throw new FormatError(`${what}: part ${i} object list length ${objs.length} is not a multiple of 33`);
      const objectList: Array<{ type: ObjectType; checksum: string }> = [];
      for (let o = 0; o < objs.length; o += 33) objectList.push({ type: objType(objs[o]), checksum: Buffer.from(objs.subarray(o + 1, o + 33)).toString('hex') });
      return { sha256: Buffer.from(sha).toString('hex'), size: num(size), usize: num(usize), objects: objectList.length, objectList };
    }),
    fallbacks: fbs.map(([t, c, size, usize]) => {
      if (c.length !== 32) throw new FormatError(`${what}: fallback checksum has ${c.length} bytes`);
      return { type: objType(t), checksum: Buffer.from(c).toString('hex'), size: num(size), usize: num(usize) };
    }),
  };
}

/** Names of the static deltas in a repository (hex `TO` or `FROM-TO`). */
export async function listStaticDeltasCli(repo: OstreeRepo): Promise<string[]> {
  return [...(await listStaticDeltas(repo)).keys()];
}

/** Describe a delta by name. */
export async function showStaticDelta(repo: OstreeRepo, name: string): Promise<Omit<SuperblockInfo, 'commit' | 'metadata' | 'fallbacks' | 'parts'> & { parts: Array<{ objects: number; size: number; usize: number }>; fallbacks: number }> {
  const { from, to } = parseDeltaName(name);
  let data: Buffer;
  try {
    data = await readFile(join(repo.path, deltaRelDir(from, to), 'superblock'));
  } catch {
    throw new NotFoundError(`${repo.path}: no static delta ${name}`);
  }
  const sb = parseSuperblock(data, `static delta ${name}`);
  return { from: sb.from, to: sb.to, timestamp: sb.timestamp, parts: sb.parts.map((p) => ({ objects: p.objects, size: p.size, usize: p.usize })), fallbacks: sb.fallbacks.length };
}
