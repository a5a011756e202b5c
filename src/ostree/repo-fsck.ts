/**
 * fsck: re-hash every loose object (metadata and content, in every mode), decode every metadata
 * object, and check that everything reachable from refs and commits exists.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, lstat, readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable, Transform } from 'node:stream';
import { createInflateRaw, inflateRawSync } from 'node:zlib';

const SMALL = 4 * 1024 * 1024;
import { FedostreeError, FormatError } from '../util/errors.ts';
import { Limiter } from '../util/concurrency.ts';
import type { ProgressListener } from '../util/progress.ts';
import {
  contentStreamHeader, decodeArchiveHeader, decodeCommit, decodeDirMeta, decodeDirTree, decodeVardict, sha256hex,
  splitLenPrefixed, validateFileHeader, S_IFLNK, S_IFMT, type FileHeader, type ObjectType,
} from './objects.ts';
import type { OstreeRepo } from './repo.ts';
import { objectKey, traverseCommit } from './repo-traverse.ts';

export interface FsckProblem {
  checksum: string;
  type: ObjectType;
  message: string;
}

export interface FsckOptions {
  /** Delete objects found corrupt (`--delete`). */
  delete?: boolean;
  concurrency?: number;
  onProgress?: ProgressListener;
}

export interface FsckResult {
  objects: number;
  commits: number;
  problems: FsckProblem[];
  deleted: number;
}

async function hashArchiveObject(path: string, checksum: string): Promise<void> {
  const fh = await open(path, 'r');
  let header: FileHeader;
  let size: bigint;
  let payloadStart: number;
  try {
    const st = await fh.stat();
    const first = Buffer.alloc(Math.min(Number(st.size), 65536));
    await fh.read(first, 0, first.length, 0);
    if (first.length < 8) throw new FormatError('truncated header prefix');
    const need = 8 + first.readUInt32BE(0);
    let buf = first;
    if (need > first.length && need <= 16 * 1024 * 1024 && need <= st.size) {
      buf = Buffer.alloc(need);
      await fh.read(buf, 0, need, 0);
    }
    const split = splitLenPrefixed(buf, 'archive header');
    payloadStart = split.payloadStart;
    ({ header, size } = decodeArchiveHeader(split.variant));
    validateFileHeader(header, 'archive header');
  } finally {
    await fh.close();
  }
  const hash = createHash('sha256').update(contentStreamHeader(header));
  let n = 0n;
  const isLink = (header.mode & S_IFMT) === S_IFLNK;
  if (!isLink && size <= BigInt(SMALL)) {
    // Small objects: one read, one bounded inflate (no stream overhead).
    const raw = await readFile(path);
    let out: Buffer;
    try {
      out = inflateRawSync(raw.subarray(payloadStart), { maxOutputLength: Number(size) + 1 });
    } catch (err) {
      throw new FormatError(`cannot decompress: ${(err as Error).message}`);
    }
    n = BigInt(out.length);
    hash.update(out);
  } else if (!isLink) {
    let total = 0n;
    const cap = size;
    await pipeline(
      createReadStream(path, { start: payloadStart, highWaterMark: 1 << 20 }),
      createInflateRaw(),
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          total += BigInt(chunk.length);
          if (total > cap) return cb(new FormatError(`decompressed data exceeds the declared size ${cap}`));
          cb(null, chunk);
        },
      }),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          n += BigInt(chunk.length);
          hash.update(chunk);
          cb();
        },
      }),
    );
  }
  if (n !== size) throw new FormatError(`uncompressed size ${n} does not match the header's ${size}`);
  const actual = hash.digest('hex');
  if (actual !== checksum) throw new FormatError(`checksum mismatch: content hashes to ${actual}`);
}

async function hashBareObject(path: string, checksum: string, header: FileHeader, size: number): Promise<void> {
  validateFileHeader(header, 'file header');
  const hash = createHash('sha256').update(contentStreamHeader(header));
  if ((header.mode & S_IFMT) !== S_IFLNK && size <= SMALL) {
    hash.update(await readFile(path));
  } else if ((header.mode & S_IFMT) !== S_IFLNK) {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), new Writable({
      write(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        cb();
      },
    }));
  }
  const actual = hash.digest('hex');
  if (actual !== checksum) throw new FormatError(`checksum mismatch: content hashes to ${actual}`);
}

/** Check the repository; problems are returned (not thrown) so every one is reported. */
export async function fsck(repo: OstreeRepo, options: FsckOptions = {}): Promise<FsckResult> {
  const problems: FsckProblem[] = [];
  const corrupt = new Set<string>();
  const report = (checksum: string, type: ObjectType, message: string): void => {
    problems.push({ checksum, type, message });
    corrupt.add(objectKey(checksum, type));
  };
  const all: Array<[string, ObjectType]> = [];
  for await (const o of repo.listObjects()) all.push(o);
  const limiter = new Limiter(options.concurrency ?? 16);
  let done = 0;
  const fileSums = all.filter(([, t]) => t === 'file').map(([c]) => c);
  let headers = new Map<string, { header: FileHeader; size: number }>();
  if (!repo.isArchive) {
    // Headers in batches; a bad header in one object must not hide the others.
    try {
      headers = await repo.readFileHeaders(fileSums);
    } catch {
      for (const c of fileSums) {
        try {
          const h = await repo.readFileHeaders([c]);
          for (const [k, v] of h) headers.set(k, v);
        } catch (err) {
          report(c, 'file', (err as Error).message);
        }
      }
    }
  }
  await Promise.all(all.map(([checksum, type]) => limiter.run(async () => {
    if (corrupt.has(objectKey(checksum, type))) return;
    const path = repo.objectPath(checksum, type);
    try {
      if (type === 'file') {
        if (repo.isArchive) await hashArchiveObject(path, checksum);
        else {
          const h = headers.get(checksum);
          if (!h) throw new FormatError('cannot read the object header');
          const st = await lstat(path);
          if (st.isFile() && st.size !== h.size && (h.header.mode & S_IFMT) !== S_IFLNK) throw new FormatError('size changed while reading');
          await hashBareObject(path, checksum, h.header, h.size);
        }
      } else {
        const data = await repo.loadMetadata(type, checksum);
        if (type === 'commitmeta') {
          decodeVardict(data, 'commitmeta');
        } else {
          const actual = sha256hex(data);
          if (actual !== checksum) throw new FormatError(`checksum mismatch: object hashes to ${actual}`);
          if (type === 'commit') decodeCommit(data);
          else if (type === 'dirtree') decodeDirTree(data);
          else if (type === 'dirmeta') {
            const m = decodeDirMeta(data);
            if ((m.mode & S_IFMT) !== 0o040000) throw new FormatError(`dirmeta mode 0${m.mode.toString(8)} is not a directory`);
          }
        }
      }
    } catch (err) {
      report(checksum, type, err instanceof FedostreeError || err instanceof Error ? err.message : String(err));
    }
    done++;
    if (options.onProgress && done % 1000 === 0) options.onProgress({ stage: 'fsck', done, total: all.length, unit: 'objects' });
  })));

  // Reachability: every commit and every ref target must be complete.
  const present = new Set(all.map(([c, t]) => objectKey(c, t)));
  const commits = all.filter(([, t]) => t === 'commit').map(([c]) => c);
  const refs = await repo.listRefs();
  for (const [ref, target] of refs) {
    if (!present.has(objectKey(target, 'commit'))) problems.push({ checksum: target, type: 'commit', message: `ref ${ref} points to a missing commit` });
  }
  const seen = new Set<string>();
  for (const c of commits) {
    if (corrupt.has(objectKey(c, 'commit'))) continue;
    const reachable = new Set<string>();
    try {
      await traverseCommit(repo, c, reachable, { depth: 0, seen });
    } catch (err) {
      problems.push({ checksum: c, type: 'commit', message: `cannot traverse: ${(err as Error).message}` });
      continue;
    }
    for (const key of reachable) {
      if (key.endsWith('.commitmeta')) continue;
      if (!present.has(key)) {
        const [cs, t] = key.split('.') as [string, ObjectType];
        problems.push({ checksum: cs, type: t, message: `missing object referenced by commit ${c}` });
      }
    }
  }
  let deleted = 0;
  if (options.delete) {
    for (const key of corrupt) {
      const [cs, t] = key.split('.') as [string, ObjectType];
      await repo.deleteObject(cs, t);
      deleted++;
    }
  }
  options.onProgress?.({ stage: 'fsck', done, total: all.length, unit: 'objects' });
  return { objects: all.length, commits: commits.length, problems, deleted };
}
