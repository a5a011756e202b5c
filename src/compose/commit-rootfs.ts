/**
 * Commit an assembled build root into the output repository. Files that are still hardlinks of
 * package-cache objects are recognised by device and inode: their checksum is known without
 * reading them, and an object the output repository already has costs nothing.
 */
import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Limiter } from '../util/concurrency.ts';
import { FedostreeError, FormatError, withContext } from '../util/errors.ts';
import type { ProgressListener } from '../util/progress.ts';
import {
  encodeDirMeta, MutableTree, S_IFLNK, S_IFMT, S_IFREG, type FileHeader, type OstreeRepo, type Xattr,
} from '../ostree/index.ts';

export interface CommitRootfsOptions {
  /** The package cache the build root was checked out from, with its (dev:ino → checksum) map. */
  cache?: OstreeRepo;
  devino?: Map<string, string>;
  /** Extended attributes for a path (SELinux labels); default none. */
  xattrsFor?: (path: string, mode: number) => Xattr[];
  /** Change a file's mode before commit (readonly-executables); a changed file is not reused by inode. */
  adjustMode?: (path: string, mode: number) => number;
  onProgress?: ProgressListener;
  concurrency?: number;
}

/** Counters of one commit. */
export interface CommitRootfsStats {
  files: number;
  /** Content objects written to the output repository (or found there after hashing). */
  written: number;
  /** Files recognised as package-cache objects by inode that the output repository already had. */
  reused: number;
}

/** Build a MutableTree of `root` with its objects written into `repo`. */
export async function mtreeFromRootfs(repo: OstreeRepo, root: string, options: CommitRootfsOptions = {}): Promise<{ tree: MutableTree; stats: CommitRootfsStats }> {
  const stats: CommitRootfsStats = { files: 0, written: 0, reused: 0 };
  const limiter = new Limiter(options.concurrency ?? 8);
  const devino = options.devino ?? new Map<string, string>();
  const xattrsFor = options.xattrsFor ?? ((): Xattr[] => []);
  const metaCache = new Map<string, string>();
  const dirMeta = async (rel: string, st: { uid: number; gid: number; mode: number }): Promise<string> => {
    const xattrs = xattrsFor(rel, st.mode);
    const key = xattrs.length ? '' : `${st.uid}:${st.gid}:${st.mode}`;
    const hit = key ? metaCache.get(key) : undefined;
    if (hit) return hit;
    const cs = await repo.writeMetadata('dirmeta', encodeDirMeta({ uid: st.uid, gid: st.gid, mode: st.mode, xattrs }));
    if (key) metaCache.set(key, cs);
    return cs;
  };
  const putFile = async (abs: string, rel: string, t: MutableTree, name: string, st: Stats): Promise<void> => {
    const fmt = st.mode & S_IFMT;
    if (fmt !== S_IFREG && fmt !== S_IFLNK) throw new FormatError(`${rel}: unsupported file type (mode 0${st.mode.toString(8)}) in the tree`, { path: rel });
    const xattrs = xattrsFor(rel, st.mode);
    const mode = options.adjustMode ? options.adjustMode(rel, st.mode) : st.mode;
    let header: FileHeader = { uid: st.uid, gid: st.gid, mode, rdev: 0, symlinkTarget: fmt === S_IFLNK ? await readlink(abs) : '', xattrs };
    const known = fmt === S_IFREG && mode === st.mode ? devino.get(`${st.dev}:${st.ino}`) : undefined;
    stats.files++;
    if (known && xattrs.length === 0) {
      if (await repo.hasObject(known, 'file')) {
        stats.reused++;
        t.replaceFile(name, known);
        return;
      }
      if (options.cache && options.cache.mode !== 'bare') header = { ...(await options.cache.readFileHeader(known)).header, xattrs };
    }
    const cs = await repo.writeContent(header, { kind: 'path', path: abs, size: fmt === S_IFLNK ? 0 : st.size });
    if (known && xattrs.length === 0 && cs !== known) {
      throw new FedostreeError('EINTEGRITY', `${rel}: package cache object ${known} was modified in place (now ${cs}); run with --force-nocache`, { path: rel });
    }
    stats.written++;
    t.replaceFile(name, cs);
    if (options.onProgress && stats.files % 1000 === 0) options.onProgress({ stage: 'commit', done: stats.files, unit: 'files' });
  };
  const walk = async (abs: string, rel: string, t: MutableTree, st: { uid: number; gid: number; mode: number }): Promise<void> => {
    t.metaChecksum = await dirMeta(rel, st);
    // scanning is syscall-bound: plain readdir/lstat, no thread-pool round trip per entry
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      return withContext(`reading ${abs}`, err);
    }
    const tasks: Array<Promise<void>> = [];
    for (const e of entries) {
      const p = join(abs, e.name);
      const r = rel === '/' ? `/${e.name}` : `${rel}/${e.name}`;
      const est = lstatSync(p);
      if (est.isDirectory()) {
        const sub = new MutableTree();
        t.dirs.set(e.name, sub);
        tasks.push(walk(p, r, sub, est));
      } else {
        tasks.push(limiter.run(() => putFile(p, r, t, e.name, est).catch((err: unknown) => withContext(`committing ${r}`, err))));
      }
    }
    const results = await Promise.allSettled(tasks);
    for (const res of results) if (res.status === 'rejected') throw res.reason as Error;
  };
  const tree = new MutableTree();
  await walk(root, '/', tree, await lstat(root));
  await repo.flush();
  options.onProgress?.({ stage: 'commit', done: stats.files, unit: 'files' });
  return { tree, stats };
}
