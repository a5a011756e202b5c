/**
 * Applying a static delta: fetch the superblock (checked against the index/summary hash), then each
 * part (checked against the superblock), decompress, run its operations and write every object it
 * produces after re-hashing it. Objects already present are skipped; fallbacks are left to the
 * normal object walk that follows.
 */
import { createHash } from 'node:crypto';
import { parse } from '../gvariant/index.ts';
import { FormatError, IntegrityError, NotFoundError } from '../util/errors.ts';
import type { Limiter } from '../util/concurrency.ts';
import { contentChecksum, sha256hex, S_IFLNK, S_IFMT, type FileHeader, type Xattr } from './objects.ts';
import type { OstreeRepo } from './repo.ts';
import type { Fetcher } from './pull-fetch.ts';
import { deltaRelDir } from './summary.ts';
import { MAX_PART_SIZE, OP, PART_PAYLOAD_TYPE, parseSuperblock, xz, type SuperblockInfo } from './static-delta.ts';

const MAX_SUPERBLOCK = 64 * 1024 * 1024;

function readVarint(ops: Uint8Array, pos: { i: number }, what: string): number {
  let result = 0;
  let mul = 1;
  for (let n = 0; n < 8; n++) {
    if (pos.i >= ops.length) throw new FormatError(`${what}: truncated varint`);
    const b = ops[pos.i++];
    result += (b & 0x7f) * mul;
    if (!(b & 0x80)) {
      if (!Number.isSafeInteger(result)) throw new FormatError(`${what}: varint too large`);
      return result;
    }
    mul *= 128;
  }
  throw new FormatError(`${what}: varint too long`);
}

function slice(raw: Uint8Array, off: number, len: number, what: string): Uint8Array {
  if (off + len > raw.length) throw new FormatError(`${what}: raw range ${off}+${len} beyond ${raw.length} bytes`);
  return raw.subarray(off, off + len);
}

/** Run one decompressed part: writes objects into `repo`. */
export async function applyPart(repo: OstreeRepo, payloadBytes: Uint8Array, expected: Array<{ type: string; checksum: string }>, what: string): Promise<number> {
  let v;
  try {
    v = parse(PART_PAYLOAD_TYPE, payloadBytes) as [number[][], Array<Array<[Uint8Array, Uint8Array]>>, Uint8Array, Uint8Array];
  } catch (err) {
    throw new FormatError(`${what}: ${(err as Error).message}`);
  }
  const [modesRaw, xattrsRaw, raw, ops] = v;
  const swap = (n: number): number => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b.readUInt32BE();
  };
  const modes = modesRaw.map((m) => m.map(swap));
  const xattrSets: Xattr[][] = xattrsRaw.map((set) => set.map(([n, val]) => {
    const name = Buffer.from(n);
    return [name[name.length - 1] === 0 ? name.subarray(0, -1) : name, Buffer.from(val)] as Xattr;
  }));
  const pos = { i: 0 };
  let idx = 0;
  let written = 0;
  let open: { header: FileHeader; size: number; chunks: Buffer[]; have: number } | null = null;
  let readSource: Buffer | null = null;
  const next = (): { type: string; checksum: string } => {
    if (idx >= expected.length) throw new FormatError(`${what}: more objects produced than listed`);
    return expected[idx++];
  };
  const header = (mi: number, xi: number): FileHeader => {
    const m = modes[mi];
    const x = xattrSets[xi];
    if (!m || !x) throw new FormatError(`${what}: mode ${mi} or xattr set ${xi} out of range`);
    return { uid: m[0], gid: m[1], mode: m[2], rdev: 0, symlinkTarget: '', xattrs: x };
  };
  const writeFileObj = async (h: FileHeader, data: Buffer, exp: { type: string; checksum: string }): Promise<void> => {
    if (exp.type !== 'file') throw new FormatError(`${what}: content written where a ${exp.type} was listed`);
    const isLink = (h.mode & S_IFMT) === S_IFLNK;
    const hdr = isLink ? { ...h, symlinkTarget: data.toString('utf8') } : h;
    const content = isLink ? Buffer.alloc(0) : data;
    const got = contentChecksum(hdr, content);
    if (got !== exp.checksum) throw new IntegrityError(`${what}: file object ${exp.checksum} rebuilt as ${got}`);
    if (await repo.hasObject(got, 'file')) return;
    await repo.writeContent(hdr, { kind: 'buffer', data: content });
    written++;
  };
  while (pos.i < ops.length) {
    const op = ops[pos.i++];
    switch (op) {
      case OP.OPEN_SPLICE_AND_CLOSE: {
        const exp = next();
        if (exp.type === 'file') {
          const mi = readVarint(ops, pos, what);
          const xi = readVarint(ops, pos, what);
          const len = readVarint(ops, pos, what);
          const off = readVarint(ops, pos, what);
          await writeFileObj(header(mi, xi), Buffer.from(slice(raw, off, len, what)), exp);
        } else {
          const len = readVarint(ops, pos, what);
          const off = readVarint(ops, pos, what);
          const data = slice(raw, off, len, what);
          const got = sha256hex(data);
          if (got !== exp.checksum) throw new IntegrityError(`${what}: ${exp.type} object ${exp.checksum} hashes to ${got}`);
          if (!(await repo.hasObject(got, exp.type as 'dirtree'))) {
            await repo.writeMetadata(exp.type as 'dirtree', data, got);
            written++;
          }
        }
        break;
      }
      case OP.OPEN: {
        const mi = readVarint(ops, pos, what);
        const xi = readVarint(ops, pos, what);
        const size = readVarint(ops, pos, what);
        if (size > MAX_PART_SIZE * 8) throw new FormatError(`${what}: object size ${size} too large`);
        open = { header: header(mi, xi), size, chunks: [], have: 0 };
        break;
      }
      case OP.WRITE: {
        const len = readVarint(ops, pos, what);
        const off = readVarint(ops, pos, what);
        if (!open) throw new FormatError(`${what}: write without open`);
        const chunk = readSource ? Buffer.from(slice(readSource, off, len, what)) : Buffer.from(slice(raw, off, len, what));
        open.have += chunk.length;
        if (open.have > open.size) throw new FormatError(`${what}: writes exceed the opened size ${open.size}`);
        open.chunks.push(chunk);
        break;
      }
      case OP.SET_READ_SOURCE: {
        const off = readVarint(ops, pos, what);
        const src = Buffer.from(slice(raw, off, 32, what)).toString('hex');
        if (!(await repo.hasObject(src, 'file'))) throw new NotFoundError(`${what}: read source object ${src} is not in the repository`);
        readSource = (await repo.readFileContent(src)).content;
        break;
      }
      case OP.UNSET_READ_SOURCE:
        readSource = null;
        break;
      case OP.CLOSE: {
        if (!open) throw new FormatError(`${what}: close without open`);
        if (open.have !== open.size) throw new FormatError(`${what}: object closed at ${open.have} of ${open.size} bytes`);
        await writeFileObj(open.header, Buffer.concat(open.chunks), next());
        open = null;
        break;
      }
      case OP.BSPATCH:
        throw new FormatError(`${what}: bsdiff operations are not supported (regenerate the delta without bsdiff)`);
      default:
        throw new FormatError(`${what}: unknown operation 0x${op.toString(16)} at offset ${pos.i - 1}`);
    }
  }
  if (open) throw new FormatError(`${what}: object left open at end of part`);
  if (idx !== expected.length) throw new FormatError(`${what}: ${expected.length} objects listed, ${idx} produced`);
  return written;
}

/** Decompress a part file (after its checksum was verified). */
export async function decodePartFile(body: Uint8Array, what: string): Promise<Buffer> {
  if (body.length < 1) throw new FormatError(`${what}: empty part`);
  if (body[0] === 0) return Buffer.from(body.subarray(1));
  if (body[0] === 0x78) return xz(body.subarray(1), true);
  throw new FormatError(`${what}: unknown compression type 0x${body[0].toString(16)}`);
}

/** Fetch and apply the delta FROM→TO whose superblock hashes to `superblockSha256`. */
export async function applyStaticDeltaFromFetcher(repo: OstreeRepo, f: Fetcher, from: string | null, to: string, superblockSha256: string, limiter: Limiter): Promise<SuperblockInfo> {
  const dir = deltaRelDir(from, to);
  const sbBytes = await f.get(`${dir}/superblock`, MAX_SUPERBLOCK);
  if (!sbBytes) throw new NotFoundError(`static delta ${dir}: superblock not found on the remote`);
  const got = createHash('sha256').update(sbBytes).digest('hex');
  if (got !== superblockSha256) throw new IntegrityError(`static delta ${dir}: superblock hashes to ${got}, index says ${superblockSha256}`);
  const sb = parseSuperblock(sbBytes, `static delta ${dir}`);
  if (sb.to !== to || sb.from !== from) throw new IntegrityError(`static delta ${dir}: superblock is for ${sb.from ?? 'scratch'}-${sb.to}`);
  if (sha256hex(sb.commit) !== to) throw new IntegrityError(`static delta ${dir}: embedded commit does not hash to ${to}`);
  await Promise.all(sb.parts.map((part, i) => limiter.run(async () => {
    if (part.objectList.length && (await Promise.all(part.objectList.map((o) => repo.hasObject(o.checksum, o.type)))).every(Boolean)) return;
    const what = `static delta ${dir} part ${i}`;
    const body = await f.get(`${dir}/${i}`, Math.max(part.size, 1) + 16);
    if (!body) throw new NotFoundError(`${what}: not found on the remote`);
    const sha = createHash('sha256').update(body).digest('hex');
    if (sha !== part.sha256) throw new IntegrityError(`${what}: hashes to ${sha}, superblock says ${part.sha256}`);
    await applyPart(repo, await decodePartFile(body, what), part.objectList, what);
  })));
  await repo.flush();
  return sb;
}
