import { constants, linkSync, lstatSync, lutimesSync, lchownSync, mkdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { chmod, chown, mkdir, open, readFile, realpath, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FedostreeError, FormatError, withContext } from '../util/errors.ts';
import { Limiter } from '../util/concurrency.ts';
import type { ProgressListener } from '../util/progress.ts';
import { isDir, isLink, isReg, type RpmFile } from './files.ts';
import { openPackage, type RpmPackage } from './package.ts';
import { readPayload } from './payload.ts';

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

/**
 * Extract a package's payload under `dir` like `rpm2cpio | cpio -idm`, but safely: paths are
 * checked (absolute, no '..'), nothing is written through a symlink or outside `dir`, each file
 * is written to a temp name and renamed into place, content is digest-checked while streaming
 * and sizes are capped by the header. Runs of zeros in big files become holes (sparse files).
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
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const users = opts.owners ? await idMap(opts.passwdRoot ?? '/', 'passwd') : undefined;
  const groups = opts.owners ? await idMap(opts.passwdRoot ?? '/', 'group') : undefined;
  const knownDirs = new Set<string>(['']);
  const dirs: RpmFile[] = [];
  let files = 0;
  let bytes = 0;

  const rel = (p: string): string => p.slice(1);
  const abs = (r: string): string => (r ? join(root, r) : root);

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
  const finishFile = async (target: string, f: RpmFile, fh: FileHandle | undefined): Promise<void> => {
    if (users && groups) {
      const uid = users.get(f.user) ?? 0;
      const gid = groups.get(f.group) ?? 0;
      if (fh) await fh.chown(uid, gid);
      else await chown(target, uid, gid);
    }
    if (fh) {
      await fh.chmod(f.mode & 0o7777);
      await fh.utimes(f.mtime, f.mtime);
    }
  };
  // Temp names: one random prefix per extraction plus a counter (O_EXCL catches any clash).
  const tmpPrefix = `.fedostree-tmp-${randomBytes(4).toString('hex')}-`;
  let tmpSeq = 0;
  const tmpName = (r: string): string => {
    const k = r.lastIndexOf('/');
    return abs(`${r.slice(0, k + 1)}${tmpPrefix}${tmpSeq++}`);
  };
  const writeRegular = async (r: string, f: RpmFile, chunks: AsyncIterable<Buffer> | Buffer[]): Promise<void> => {
    const tmp = tmpName(r);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
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
        // Whole zero blocks of big files become holes.
        if (f.size < SMALL) {
          queued.push(c);
          queuedLen += c.length;
          continue;
        }
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
      await finishFile(tmp, f, fh);
      if (opts.fsync) await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await unlink(tmp).catch(() => undefined);
    }
    place(tmp, r);
  };

  // Small files go to the thread pool in the background (bounded), so parsing, hashing and
  // decompression overlap with the disk; hardlinks wait for their target.
  const limiter = new Limiter(8);
  const written = new Map<string, Promise<void>>();
  const pending = new Set<Promise<void>>();
  let firstError: Error | undefined;
  const writeSmallAsync = async (r: string, f: RpmFile, chunks: Buffer[]): Promise<void> => {
    const tmp = tmpName(r);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let ok = false;
    try {
      if (chunks.length) await fh.writev(chunks);
      if (users && groups) await fh.chown(users.get(f.user) ?? 0, groups.get(f.group) ?? 0);
      await fh.chmod(f.mode & 0o7777);
      await fh.utimes(f.mtime, f.mtime);
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await unlink(tmp).catch(() => undefined);
    }
    place(tmp, r);
  };
  const background = (path: string, run: () => Promise<void>): void => {
    const p = limiter.run(run).catch((err: unknown) => {
      firstError ??= err instanceof Error ? err : new Error(String(err));
    });
    written.set(path, p);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const throwIfFailed = (): void => {
    if (firstError) throw firstError;
  };
  try {
    for await (const e of readPayload(pkg)) {
      throwIfFailed();
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
        const tmp = tmpName(r);
        symlinkSync(f.linkTo, tmp);
        if (users && groups) lchownSync(tmp, users.get(f.user) ?? 0, groups.get(f.group) ?? 0);
        lutimesSync(tmp, f.mtime, f.mtime);
        place(tmp, r);
      } else if (isReg(f.mode) && e.hardlinkOf !== undefined) {
        await written.get(e.hardlinkOf);
        throwIfFailed();
        const tmp = tmpName(r);
        linkSync(abs(rel(e.hardlinkOf)), tmp);
        place(tmp, r);
      } else if (isReg(f.mode)) {
        bytes += f.size;
        if (f.size <= SMALL) {
          const chunks: Buffer[] = [];
          for await (const c of e.content) chunks.push(c as Buffer);
          if (pending.size >= 64) await Promise.race(pending);
          background(f.path, () => writeSmallAsync(r, f, chunks));
        } else {
          await writeRegular(r, f, e.content as AsyncIterable<Buffer>);
          written.set(f.path, Promise.resolve());
        }
      }
      // Device nodes, fifos and sockets are not created (like an unprivileged cpio); readPayload reports them.
    }
  } catch (err) {
    // Let in-flight writes finish so nothing appears after the error is reported.
    await Promise.allSettled(pending);
    throw err;
  }
  await Promise.all(pending);
  throwIfFailed();
  // Directory modes and times last, deepest first, so writes inside them were not blocked.
  for (const d of dirs.sort((a, b) => b.path.length - a.path.length)) {
    const target = abs(rel(d.path));
    if (users && groups) await chown(target, users.get(d.user) ?? 0, groups.get(d.group) ?? 0);
    await chmod(target, d.mode & 0o7777);
    await utimes(target, d.mtime, d.mtime);
  }
  return { files, bytes };
}
