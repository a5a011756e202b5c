import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress, type ZlibOptions, type ZstdOptions } from 'node:zlib';
import { FedostreeError, FormatError, IntegrityError } from '../util/errors.ts';
import { hashName } from './digest.ts';
import { readFiles, isDir, isLink, isReg, S_IFMT, type RpmFile } from './files.ts';
import { ChunkReader, readCpioHeader } from './cpio.ts';
import { openPackage, packageInfo, verifyHeaderDigests, type RpmPackage } from './package.ts';
import { FileFlag, SigTag, Tag } from './tags.ts';

const CHUNK = 1024 * 1024;
/** Bytes tolerated after the cpio trailer (rpm pads to a 512-byte block at most). */
const MAX_TRAILING = 64 * 1024;

/** Compressors rpm writes into PAYLOADCOMPRESSOR. */
export const PAYLOAD_COMPRESSORS = ['gzip', 'bzip2', 'xz', 'lzma', 'zstd', 'identity'] as const;

/** A decompressed payload stream plus a promise that settles once the compressed bytes were all read and checked. */
export interface PayloadStream {
  stream: AsyncIterable<Buffer>;
  /** Resolves when the whole compressed payload was read and its digest (if recorded) matched. */
  done: () => Promise<void>;
  /** Stop early (closes files and child processes). */
  abort: () => void;
}

function childDecompressor(cmd: string, args: string[], what: string): { stdin: NodeJS.WritableStream; stdout: Readable; exit: Promise<void> } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  child.stdin.on('error', () => undefined); // EPIPE when we stop early; the exit status tells.
  const exit = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new FedostreeError('EDECOMPRESS', `${what}: cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new FormatError(`${what}: ${cmd} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'corrupt data'}`));
    });
  });
  exit.catch(() => undefined);
  return { stdin: child.stdin, stdout: child.stdout, exit };
}

/**
 * Open the decompressed payload of a package as a stream of chunks. The compressed bytes are
 * hashed on the way and checked against PAYLOADDIGEST when `done()` is awaited.
 */
export function openPayloadStream(pkg: RpmPackage): PayloadStream {
  const what = `${pkg.what}: payload`;
  const h = pkg.header;
  const compressor = h.string(Tag.PAYLOADCOMPRESSOR) ?? 'gzip';
  const format = h.string(Tag.PAYLOADFORMAT) ?? 'cpio';
  if (format !== 'cpio' && format !== 'drpm') throw new FormatError(`${what}: unsupported payload format '${format}'`);
  const wantDigest = h.has(Tag.PAYLOADDIGEST) ? h.strings(Tag.PAYLOADDIGEST)?.[0] : undefined;
  let hash: Hash | undefined;
  if (wantDigest) hash = createHash(hashName(h.number(Tag.PAYLOADDIGESTALGO) ?? 8, `${what} digest`));
  // The signature header's MD5 covers main header + compressed payload.
  const wantMd5 = pkg.signature.has(SigTag.MD5) ? pkg.signature.binary(SigTag.MD5) : undefined;
  const md5 = wantMd5 ? createHash('md5').update(pkg.header.withMagic()) : undefined;
  const src = createReadStream(pkg.path, { start: pkg.payloadOffset, highWaterMark: CHUNK });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash?.update(chunk);
      md5?.update(chunk);
      cb(null, chunk);
    },
  });
  let out: Readable;
  let feeding: Promise<void>;
  let exit: Promise<void> = Promise.resolve();
  switch (compressor) {
    case 'gzip': {
      const z = createGunzip({ chunkSize: CHUNK, highWaterMark: 4 * CHUNK } as ZlibOptions);
      feeding = pipeline(src, tap, z).catch((err: unknown) => {
        throw new FormatError(`${what}: gzip: ${(err as Error).message}`);
      });
      out = z;
      break;
    }
    case 'zstd': {
      const z = createZstdDecompress({ chunkSize: CHUNK, highWaterMark: 4 * CHUNK } as ZstdOptions);
      feeding = pipeline(src, tap, z).catch((err: unknown) => {
        throw new FormatError(`${what}: zstd: ${(err as Error).message}`);
      });
      out = z;
      break;
    }
    case 'xz':
    case 'lzma':
    case 'bzip2': {
      const c =
        compressor === 'bzip2' ? childDecompressor('bzip2', ['-dc'], what) : childDecompressor('xz', compressor === 'lzma' ? ['--format=lzma', '-dc'] : ['-dc', '--single-stream'], what);
      feeding = pipeline(src, tap, c.stdin).catch(() => undefined);
      out = c.stdout;
      exit = c.exit;
      break;
    }
    case 'identity':
    case '':
      feeding = pipeline(src, tap).catch((err: unknown) => {
        throw err;
      });
      out = tap;
      break;
    default:
      throw new FormatError(`${what}: unsupported payload compressor '${compressor}'`);
  }
  feeding.catch(() => undefined);
  const stream = (async function* () {
    try {
      for await (const chunk of out) yield chunk as Buffer;
    } catch (err) {
      // Prefer the decompressor's own explanation.
      await feeding;
      await exit;
      if (err instanceof FedostreeError) throw err;
      throw new FormatError(`${what}: ${compressor}: ${(err as Error).message}`);
    }
    await feeding;
    await exit;
  })();
  return {
    stream,
    async done() {
      await feeding;
      await exit;
      if (wantMd5 && md5) {
        const got = md5.digest();
        if (!got.equals(wantMd5)) throw new IntegrityError(`${pkg.what}: MD5 digest of header and payload mismatch: expected ${wantMd5.toString('hex')}, got ${got.toString('hex')}`);
      }
      if (wantDigest && hash) {
        const got = hash.digest('hex');
        if (got !== wantDigest.toLowerCase()) throw new IntegrityError(`${what}: payload digest mismatch: expected ${wantDigest}, got ${got}`, { expected: wantDigest, got });
      }
    },
    abort() {
      src.destroy();
      out.destroy();
    },
  };
}

/** One member of a package's payload, matched to its entry in the header's file list. */
export interface PayloadEntry {
  /** Absolute path ('/usr/bin/foo'). */
  path: string;
  /** Header metadata: mode, user/group names, mtime, flags, digest, caps, link target, size. */
  file: RpmFile;
  /** For hardlink members without content: the path of the member (yielded earlier) that carried it. */
  hardlinkOf?: string;
  /**
   * File content, streamed and checked against the header digest (errors with IntegrityError on
   * mismatch). Empty for directories, symlinks and hardlink members. Must be consumed (or
   * ignored) before asking for the next entry; an unconsumed stream is drained.
   */
  content: Readable;
}

export interface ReadPayloadOptions {
  /** Check header digests and recorded size first (default true). */
  verifyHeader?: boolean;
}

/** Reject paths that could escape an extraction root: must be absolute, no '.', '..' or empty components, no NUL. */
export function checkPackagePath(path: string, what: string): void {
  if (!path.startsWith('/') || path.includes('\0')) throw new FormatError(`${what}: unsafe file path '${path}' (not absolute)`);
  const parts = path.slice(1).split('/');
  if (path !== '/' && parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new FormatError(`${what}: unsafe file path '${path}' (contains '..', '.' or an empty component)`);
  }
  if (path.length > 4096) throw new FormatError(`${what}: file path longer than 4096 bytes`);
}

/** Async iterator over `pkg`'s payload; see PayloadEntry. Accepts a path or an opened package. */
export async function* readPayload(pkgOrPath: RpmPackage | string, opts: ReadPayloadOptions = {}): AsyncGenerator<PayloadEntry> {
  const pkg = typeof pkgOrPath === 'string' ? await openPackage(pkgOrPath) : pkgOrPath;
  const what = `${pkg.what}: payload`;
  if (opts.verifyHeader ?? true) verifyHeaderDigests(pkg);
  const { files, digestAlgo } = readFiles(pkg.header, pkg.what);
  const byPath = new Map<string, RpmFile>();
  for (const f of files) {
    checkPackagePath(f.path, `${pkg.what}: file ${f.index}`);
    byPath.set(f.path, f);
  }
  const hashAlgo = hashName(digestAlgo, `${pkg.what}: file digests`);
  // Bomb cap: the archive size the signature header records, else what the file list allows.
  const info = packageInfo(pkg);
  let bound = 512;
  for (const f of files) bound += 128 + Buffer.byteLength(f.path) + (isLink(f.mode) ? Buffer.byteLength(f.linkTo) : f.size) + 8;
  const limit = info.archiveSize !== undefined ? Math.min(info.archiveSize, bound) : bound;
  const ps = openPayloadStream(pkg);
  const r = new ChunkReader(ps.stream, what, limit);
  const seen = new Uint8Array(files.length);
  // Hardlink members seen before the one carrying the content, keyed by set; and how many
  // members of each set are still to come (the last one carries the content).
  const pendingLinks = new Map<string, RpmFile[]>();
  const linkKey = (f: RpmFile): string => `${f.device}:${f.inode}`;
  const unseenInSet = new Map<string, number>();
  for (const f of files) {
    if (f.nlink > 1 && isReg(f.mode) && !(f.flags & FileFlag.GHOST)) unseenInSet.set(linkKey(f), (unseenInSet.get(linkKey(f)) ?? 0) + 1);
  }
  let current: Readable | undefined;
  let currentDone: Promise<void> | undefined;
  const settle = async (): Promise<void> => {
    if (!current) return;
    if (!current.readableEnded && !current.destroyed) current.resume();
    try {
      await currentDone;
    } finally {
      current = undefined;
    }
  };
  let ok = false;
  try {
    for (;;) {
      await settle();
      const ch = await readCpioHeader(r, what);
      if (!ch) break;
      let f: RpmFile | undefined;
      if (ch.format === 'stripped') {
        f = files[ch.fx];
        if (!f) throw new FormatError(`${what}: cpio member at byte ${ch.offset} refers to file index ${ch.fx}, but the package has ${files.length} files`);
      } else {
        const name = ch.name.startsWith('./') ? ch.name.slice(1) : ch.name.startsWith('/') ? ch.name : `/${ch.name}`;
        f = byPath.get(name);
        if (!f) throw new FormatError(`${what}: archive member '${ch.name}' is not in the package's file list`, { name: ch.name });
        if ((ch.mode & S_IFMT) !== (f.mode & S_IFMT)) {
          throw new FormatError(`${what}: archive member '${ch.name}' has file type ${(ch.mode & S_IFMT).toString(8)} but the header says ${(f.mode & S_IFMT).toString(8)}`);
        }
      }
      if (seen[f.index]) throw new FormatError(`${what}: file ${f.path} appears twice in the archive`);
      seen[f.index] = 1;
      if (f.flags & FileFlag.GHOST) throw new FormatError(`${what}: ghost file ${f.path} has content in the archive`);
      // How much data this member carries.
      let size: number;
      let lastOfSet = true;
      if (isReg(f.mode)) {
        if (f.nlink > 1) {
          const left = (unseenInSet.get(linkKey(f)) ?? 1) - 1;
          unseenInSet.set(linkKey(f), left);
          lastOfSet = left <= 0;
        }
        if (ch.format === 'stripped') size = lastOfSet ? f.size : 0;
        else size = ch.size;
        if (!lastOfSet && size !== 0) {
          throw new FormatError(`${what}: ${f.path}: hardlink member carries data but is not the last of its set`, { path: f.path });
        }
        if (lastOfSet && size !== f.size) {
          throw new FormatError(`${what}: ${f.path}: archive member has ${size} bytes but the header says ${f.size}`, { path: f.path });
        }
      } else if (isLink(f.mode)) {
        size = ch.format === 'stripped' ? Buffer.byteLength(f.linkTo) : ch.size;
        if (size > 4096) throw new FormatError(`${what}: ${f.path}: symlink target of ${size} bytes is too long`);
      } else {
        size = ch.format === 'stripped' ? 0 : ch.size;
        if (size !== 0) throw new FormatError(`${what}: ${f.path}: ${isDir(f.mode) ? 'directory' : 'special file'} carries ${size} bytes of data`);
      }
      if (isLink(f.mode)) {
        const target = (await r.read(size, `symlink target of ${f.path}`)).toString('utf8');
        await r.align4('cpio data padding');
        if (target !== f.linkTo) throw new IntegrityError(`${what}: ${f.path}: symlink target '${target}' differs from the header's '${f.linkTo}'`);
        yield { path: f.path, file: f, content: Readable.from([]) };
        continue;
      }
      if (isReg(f.mode) && !lastOfSet) {
        // Content comes with a later member of the set.
        await r.align4('cpio data padding');
        const k = linkKey(f);
        const l = pendingLinks.get(k) ?? [];
        l.push(f);
        pendingLinks.set(k, l);
        continue;
      }
      if (!isReg(f.mode)) {
        yield { path: f.path, file: f, content: Readable.from([]) };
        continue;
      }
      const file = f;
      const contentGen = async function* (): AsyncGenerator<Buffer> {
        const hh = file.digest ? createHash(hashAlgo) : undefined;
        for await (const chunk of r.take(size, `content of ${file.path}`)) {
          hh?.update(chunk);
          yield chunk;
        }
        await r.align4('cpio data padding');
        if (hh) {
          const got = hh.digest('hex');
          if (got !== file.digest) throw new IntegrityError(`${what}: ${file.path}: content digest mismatch: header says ${file.digest}, content has ${got}`, { path: file.path });
        }
      };
      current = Readable.from(contentGen(), { objectMode: false, highWaterMark: CHUNK });
      currentDone = finished(current);
      currentDone.catch(() => undefined);
      yield { path: f.path, file: f, content: current };
      const links = f.nlink > 1 ? pendingLinks.get(linkKey(f)) : undefined;
      if (links) {
        await settle();
        pendingLinks.delete(linkKey(f));
        for (const l of links) yield { path: l.path, file: l, hardlinkOf: f.path, content: Readable.from([]) };
      }
    }
    await r.drain(MAX_TRAILING);
    for (const l of pendingLinks.values()) throw new FormatError(`${what}: hardlink ${l[0].path} never received its content`);
    for (const f of files) {
      if (!seen[f.index] && !(f.flags & FileFlag.GHOST)) throw new FormatError(`${what}: file ${f.path} is missing from the archive`, { path: f.path });
    }
    await ps.done();
    ok = true;
  } finally {
    if (!ok) {
      current?.destroy();
      ps.abort();
    }
  }
}
