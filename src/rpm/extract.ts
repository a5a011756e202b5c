import {
  chmodSync, closeSync, constants, linkSync, lstatSync, lutimesSync, lchownSync, mkdirSync, openSync, renameSync,
  symlinkSync, unlinkSync, utimesSync, writevSync,
} from 'node:fs';
import { mkdir, open, readFile, realpath, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { FedostreeError, FormatError, withContext } from '../util/errors.ts';
import type { ProgressListener } from '../util/progress.ts';
import { isDir, isLink, isReg, type RpmFile } from './files.ts';
import { openPackage, type RpmPackage } from './package.ts';
import { readPayload } from './payload.ts';
import type { WriterBatch, WriterFile, WriterReply } from './_extract-writer.ts';
import { writeAndFinish } from './_write-file.ts';

/** Refusal to write outside the target or through a symlink. */
export class UnsafePathError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EUNSAFEPATH', message, data);
    this.name = 'UnsafePathError';
  }
}

export interface ExtractOptions {
  /** Set owners from the header's user/group names, resolved in `passwdRoot`'s /etc/passwd and /etc/group (default: do not chown). */
  owners?: boolean;
  /** Root whose /etc/passwd and /etc/group resolve names (default '/'). */
  passwdRoot?: string;
  /** fsync each file before its rename (default false; extraction targets are scratch trees). */
  fsync?: boolean;
  onProgress?: ProgressListener;
}

export interface ExtractResult {
  files: number;
  bytes: number;
}

const SMALL = 1024 * 1024;
const ZERO_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(ZERO_BLOCK);

async function idMap(root: string, file: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  const text = await readFile(join(root, 'etc', file), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2] ?? '')) m.set(f[0] ?? '', Number(f[2]));
  }
  return m;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += ZERO_BLOCK) {
    const part = b.subarray(i, Math.min(b.length, i + ZERO_BLOCK));
    if (!part.equals(part.length === ZERO_BLOCK ? ZEROS : ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/** Small files start going to a worker thread after this many (a worker costs ~30 ms to start). */
const WORKER_AFTER = 64;
const BATCH_BYTES = 512 * 1024;
const BATCH_FILES = 128;
const MAX_BATCHES = 4;

/** Batches of small files created by a worker thread (see _extract-writer.ts); errors surface on the next call. */
class BackgroundWriter {
  readonly #worker = new Worker(new URL('./_extract-writer.ts', import.meta.url));
  readonly #fsync: boolean;
  readonly #inflight = new Map<number, { done: Promise<void>; resolve: () => void }>();
  #files: WriterFile[] = [];
  #chunks: Buffer[] = [];
  #len = 0;
  #seq = 0;
  #error: Error | undefined;

  constructor(fsync: boolean) {
    this.#fsync = fsync;
    this.#worker.on('message', (m: WriterReply) => {
      if ('error' in m) this.#error ??= Object.assign(new Error(m.error.message), { code: m.error.code, syscall: m.error.syscall, path: m.error.path });
      this.#inflight.get(m.id)?.resolve();
      this.#inflight.delete(m.id);
    });
    this.#worker.on('error', (err) => {
      this.#error ??= err;
      for (const b of this.#inflight.values()) b.resolve();
      this.#inflight.clear();
    });
  }

  #check(): void {
    if (this.#error) throw this.#error;
  }

  /** Queue a file; waits while too many batches are in flight. */
  async add(path: string, f: RpmFile, chunks: Buffer[], owner: [number, number] | undefined): Promise<void> {
    this.#check();
    let length = 0;
    for (const c of chunks) length += c.length;
    this.#files.push({ path, start: this.#len, length, mode: f.mode & 0o7777, mtime: f.mtime, owner });
    this.#chunks.push(...chunks);
    this.#len += length;
    if (this.#len >= BATCH_BYTES || this.#files.length >= BATCH_FILES) this.#send();
    while (this.#inflight.size >= MAX_BATCHES) await Promise.race([...this.#inflight.values()].map((b) => b.done));
    this.#check();
  }

  #send(): void {
    if (!this.#files.length) return;
    const data = new ArrayBuffer(this.#len);
    const view = Buffer.from(data);
    let off = 0;
    for (const c of this.#chunks) off += c.copy(view, off);
    const id = this.#seq++;
    let resolve = (): void => undefined;
    const done = new Promise<void>((r) => (resolve = r));
    this.#inflight.set(id, { done, resolve });
    const batch: WriterBatch = { id, data, files: this.#files, fsync: this.#fsync };
    this.#worker.postMessage(batch, [data]);
    this.#files = [];
    this.#chunks = [];
    this.#len = 0;
  }

  /** Everything queued so far is on disk (or its error is thrown). */
  async flush(): Promise<void> {
    this.#check();
    this.#send();
    await Promise.all([...this.#inflight.values()].map((b) => b.done));
    this.#check();
  }

  /** Wait for batches in flight (without sending queued ones) and stop the worker. */
  async close(): Promise<void> {
    this.#files = [];
    this.#chunks = [];
    await Promise.all([...this.#inflight.values()].map((b) => b.done));
    await this.#worker.terminate();
  }
}

/**
 * Extract a package's payload under `dir` like `rpm2cpio | cpio -idm`, but safely: paths are
 * checked (absolute, no '..'), nothing is written through a symlink or outside `dir`, content is
 * digest-checked while streaming and sizes are capped by the header. Into an existing `dir` each
 * file is written to a temp name and renamed into place; a `dir` this call creates holds only
 * what it writes, so files are created there under their final names (O_EXCL|O_NOFOLLOW) and a
 * file that fails is removed. Small files are written with synchronous calls on one descriptor;
 * in a target of its own, after the first few, batches of them go to a worker thread so parsing,
 * hashing and decompression overlap with file creation (bounded: 4 batches of 512 KiB in flight). Runs of zeros in big files become holes (sparse files).
 * Ghost files are not created. File capabilities are reported by readPayload but not applied.
 */
export async function extract(pkgOrPath: RpmPackage | string, dir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const pkg = typeof pkgOrPath === 'string' ? await openPackage(pkgOrPath) : pkgOrPath;
  try {
    return await extractPackage(pkg, dir, opts);
  } catch (err) {
    return withContext(`extracting ${pkg.what}`, err);
  }
}

async function extractPackage(pkg: RpmPackage, dir: string, opts: ExtractOptions): Promise<ExtractResult> {
  // A target this call creates is scratch until extract returns, and everything in it is ours:
  // files are created under their final names there (O_EXCL). A pre-existing target only ever
  // sees complete files (temp name, then rename).
  const fresh = (await mkdir(dir, { recursive: true })) !== undefined;
  const root = await realpath(dir);
  const users = opts.owners ? await idMap(opts.passwdRoot ?? '/', 'passwd') : undefined;
  const groups = opts.owners ? await idMap(opts.passwdRoot ?? '/', 'group') : undefined;
  const knownDirs = new Set<string>(['']);
  const dirs: RpmFile[] = [];
  let files = 0;
  let bytes = 0;

  const rel = (p: string): string => p.slice(1);
  const abs = (r: string): string => (r ? join(root, r) : root);
  const owner = (f: RpmFile): [number, number] | undefined => (users && groups ? [users.get(f.user) ?? 0, groups.get(f.group) ?? 0] : undefined);

  /** Make every parent of `r` a real directory, refusing symlinks and non-directories. */
  const ensureParents = (r: string): void => {
    const k = r.lastIndexOf('/');
    if (k < 0 || knownDirs.has(r.slice(0, k))) return;
    const parts = r.split('/');
    let cur = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur ? `${cur}/${parts[i]}` : parts[i];
      if (knownDirs.has(cur)) continue;
      const st = lstatSync(abs(cur), { throwIfNoEntry: false });
      if (!st) mkdirSync(abs(cur), { mode: 0o755 });
      else if (st.isSymbolicLink()) throw new UnsafePathError(`refusing to write /${r} through symlink /${cur}`, { path: `/${r}` });
      else if (!st.isDirectory()) throw new UnsafePathError(`cannot create /${r}: /${cur} is not a directory`, { path: `/${r}` });
      knownDirs.add(cur);
    }
  };
  /** Rename into place; a directory in the way is an error (rename never follows a final symlink). */
  const place = (tmp: string, r: string): void => {
    try {
      renameSync(tmp, abs(r));
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EISDIR' || e.code === 'ENOTEMPTY' || e.code === 'EEXIST') throw new UnsafePathError(`cannot replace directory /${r} with a file`, { path: `/${r}` });
      throw err;
    }
  };
  // Temp names: one random prefix per extraction plus a counter (O_EXCL catches any clash).
  const tmpPrefix = `.fedostree-tmp-${randomBytes(4).toString('hex')}-`;
  let tmpSeq = 0;
  const tmpName = (r: string): string => {
    const k = r.lastIndexOf('/');
    return abs(`${r.slice(0, k + 1)}${tmpPrefix}${tmpSeq++}`);
  };
  const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  /**
   * Where to create `r`: in a fresh directory the final name itself (O_EXCL: never an existing
   * file or symlink), elsewhere a temp name renamed over the target once complete. Returns the
   * path to create and how to publish it.
   */
  const target = (r: string): { path: string; direct: boolean } => (fresh ? { path: abs(r), direct: true } : { path: tmpName(r), direct: false });
  const publish = (t: { path: string; direct: boolean }, r: string): void => {
    if (!t.direct) place(t.path, r);
  };
  /** Run `create(path)`; in a fresh directory an existing name (only a directory of ours can be there) falls back to temp + rename. */
  const createAt = <T>(r: string, create: (path: string) => T): { t: { path: string; direct: boolean }; v: T } => {
    const t = target(r);
    try {
      return { t, v: create(t.path) };
    } catch (err) {
      if (!t.direct || (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const tt = { path: tmpName(r), direct: false };
      return { t: tt, v: create(tt.path) };
    }
  };

  /** A small file: one open, one writev, fchown/fchmod/futimes and close, all synchronous (no thread-pool round trips). */
  const writeSmall = (r: string, f: RpmFile, chunks: Buffer[]): void => {
    const { t, v: fd } = createAt(r, (p) => openSync(p, CREATE, 0o600));
    writeAndFinish(fd, t.path, { mode: f.mode & 0o7777, mtime: f.mtime, owner: owner(f) }, opts.fsync ?? false, () => {
      let len = 0;
      for (const c of chunks) len += c.length;
      let done = 0;
      while (done < len) {
        let skip = done;
        const rest: Buffer[] = [];
        for (const c of chunks) {
          if (skip >= c.length) skip -= c.length;
          else {
            rest.push(skip ? c.subarray(skip) : c);
            skip = 0;
          }
        }
        const n = writevSync(fd, rest);
        if (n <= 0) throw new FedostreeError('EIO', `writing /${r}: no progress`);
        done += n;
      }
    });
    publish(t, r);
  };

  /** A big file (over SMALL), streamed; whole zero blocks become holes. */
  const writeRegular = async (r: string, f: RpmFile, chunks: AsyncIterable<Buffer>): Promise<void> => {
    const { t } = createAt(r, (p) => {
      closeSync(openSync(p, CREATE, 0o600));
      return undefined;
    });
    const fh: FileHandle = await open(t.path, constants.O_WRONLY | constants.O_NOFOLLOW);
    let ok = false;
    try {
      let pos = 0;
      let holes = false;
      let queued: Buffer[] = [];
      let queuedLen = 0;
      const flush = async (): Promise<void> => {
        if (!queuedLen) return;
        const b = queued.length === 1 ? queued[0] : Buffer.concat(queued, queuedLen);
        queued = [];
        let off = 0;
        while (off < b.length) {
          const { bytesWritten } = await fh.write(b, off, b.length - off, pos + off);
          off += bytesWritten;
        }
        pos += b.length;
        queuedLen = 0;
      };
      for await (const c of chunks) {
        for (let i = 0; i < c.length; i += ZERO_BLOCK) {
          const part = c.subarray(i, Math.min(c.length, i + ZERO_BLOCK));
          if (part.length === ZERO_BLOCK && isZero(part)) {
            await flush();
            pos += part.length;
            holes = true;
          } else {
            queued.push(part);
            queuedLen += part.length;
          }
        }
        if (queuedLen >= SMALL) await flush();
      }
      await flush();
      if (pos !== f.size) throw new FormatError(`${pkg.what}: ${f.path}: wrote ${pos} bytes, header says ${f.size}`);
      if (holes) await fh.truncate(f.size);
      const o = owner(f);
      if (o) await fh.chown(o[0], o[1]);
      await fh.chmod(f.mode & 0o7777);
      await fh.utimes(f.mtime, f.mtime);
      if (opts.fsync) await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await unlink(t.path).catch(() => undefined);
    }
    publish(t, r);
  };

  let writer: BackgroundWriter | undefined;
  let small = 0;
  try {
    await extractEntries();
    await writer?.flush();
  } finally {
    await writer?.close();
  }
  // Directory modes and times last, deepest first, so writes inside them were not blocked.
  for (const d of dirs.sort((a, b) => b.path.length - a.path.length)) {
    const p = abs(rel(d.path));
    const o = owner(d);
    if (o) lchownSync(p, o[0], o[1]);
    chmodSync(p, d.mode & 0o7777);
    utimesSync(p, d.mtime, d.mtime);
  }
  return { files, bytes };

  async function extractEntries(): Promise<void> {
    for await (const e of readPayload(pkg)) {
      const f = e.file;
      if (f.path === '/') continue;
      const r = rel(f.path);
      ensureParents(r);
      files++;
      opts.onProgress?.({ stage: 'extract', done: files, unit: 'files', message: f.path });
      if (isDir(f.mode)) {
        try {
          mkdirSync(abs(r), { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const st = lstatSync(abs(r));
          if (st.isSymbolicLink()) throw new UnsafePathError(`refusing to use symlink /${r} as a directory`, { path: f.path });
          if (!st.isDirectory()) throw new UnsafePathError(`cannot create directory /${r}: a file is in the way`, { path: f.path });
        }
        knownDirs.add(r);
        dirs.push(f);
      } else if (isLink(f.mode)) {
        const { t } = createAt(r, (p) => symlinkSync(f.linkTo, p));
        const o = owner(f);
        if (o) lchownSync(t.path, o[0], o[1]);
        lutimesSync(t.path, f.mtime, f.mtime);
        publish(t, r);
      } else if (isReg(f.mode) && e.hardlinkOf !== undefined) {
        await writer?.flush();
        const { t } = createAt(r, (p) => linkSync(abs(rel(e.hardlinkOf!)), p));
        publish(t, r);
      } else if (isReg(f.mode)) {
        bytes += f.size;
        if (f.size <= SMALL) {
          const chunks: Buffer[] = [];
          for await (const c of e.content) chunks.push(c as Buffer);
          // In a target of our own, where no directory of ours has this name, a worker creates it.
          if (fresh && !knownDirs.has(r) && ++small > WORKER_AFTER) {
            writer ??= new BackgroundWriter(opts.fsync ?? false);
            await writer.add(abs(r), f, chunks, owner(f));
          } else writeSmall(r, f, chunks);
        } else {
          await writeRegular(r, f, e.content as AsyncIterable<Buffer>);
        }
      }
      // Device nodes, fifos and sockets are not created (like an unprivileged cpio); readPayload reports them.
    }
  }
}
