/**
 * Commit: fill a MutableTree from a directory (reading every file once, hashing and compressing
 * with bounded concurrency), write its dirtrees, write the commit object, move the ref.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { FedostreeError, FormatError, UsageError, withContext } from '../util/errors.ts';
import { mapLimit } from '../util/concurrency.ts';
import type { ProgressListener } from '../util/progress.ts';
import {
  encodeCommit, encodeDirMeta, metaString, metaStrv, S_IFLNK, S_IFMT, S_IFREG, type FileHeader, type MetaEntry, type Xattr,
} from './objects.ts';
import { MutableTree } from './mutable-tree.ts';
import type { ContentSource, OstreeRepo } from './repo.ts';
import { getXattrs } from './_xattr.ts';

export interface DirectoryImportOptions {
  /** Override the owner of every file and directory (`--owner-uid`/`--owner-gid`). */
  ownerUid?: number;
  ownerGid?: number;
  /** Ignore extended attributes on disk (`--no-xattrs`). */
  noXattrs?: boolean;
  /**
   * Recognise files that are hardlinks of objects in this (bare/bare-user) repository by device
   * and inode and reuse their checksum without reading them (`--link-checkout-speedup`). On by default.
   */
  linkCheckoutSpeedup?: boolean;
  /** Concurrent file imports (default 8: hashing on the main thread, compression on the pool). */
  concurrency?: number;
  onProgress?: ProgressListener;
}

export interface CommitOptions {
  subject?: string;
  body?: string;
  /** Seconds since the epoch; default: SOURCE_DATE_EPOCH or now. */
  timestamp?: bigint;
  /** Parent commit; `undefined` = the branch's current commit; `null` = none. */
  parent?: string | null;
  /** Ref to move; with `orphan` no ref is written. */
  branch?: string;
  orphan?: boolean;
  /** User metadata in order (from `--add-metadata-string` / `--add-metadata`). */
  metadata?: MetaEntry[];
  /** Do not add `ostree.ref-binding` / `ostree.collection-binding`. */
  noBindings?: boolean;
  /** Runs after the commit object is written and before the branch moves (e.g. signing). */
  beforeRefUpdate?: (checksum: string) => Promise<void>;
}

/**
 * Cache of (dev, ino) → object checksum for a bare/bare-user repository's content objects.
 * Uses synchronous readdir/lstat: metadata-only syscalls are several times faster that way.
 */
export async function scanHardlinks(repo: OstreeRepo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (repo.isArchive) return out;
  const objdir = join(repo.path, 'objects');
  let dirs: string[] = [];
  try {
    dirs = readdirSync(objdir);
  } catch {
    return out;
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of readdirSync(join(objdir, d))) {
      if (!f.endsWith('.file') || f.length !== 67) continue;
      const st = lstatSync(join(objdir, d, f), { throwIfNoEntry: false });
      if (st?.isFile()) out.set(`${st.dev}:${st.ino}`, d + f.slice(0, 62));
    }
  }
  return out;
}

/**
 * Import the directory `dir` into `tree` (merging over what is there), writing content and dirmeta
 * objects. The directory's own metadata becomes the tree's metadata.
 *
 * Three passes: walk (lstat only), read xattrs of the directories and of the files that are not
 * hardlinks of existing objects (one tool run per batch), then hash/compress/write the files
 * with bounded concurrency. Memory stays proportional to the number of entries, not their size.
 */
export async function writeDirectoryToMtree(repo: OstreeRepo, dir: string, tree: MutableTree, options: DirectoryImportOptions = {}): Promise<void> {
  const root = resolve(dir);
  const rootStat = await lstat(root).catch((err: unknown) => withContext(`commit: reading ${root}`, err));
  if (!rootStat.isDirectory()) throw new UsageError(`commit: ${root} is not a directory`);
  const useDevino = options.linkCheckoutSpeedup !== false && !repo.isArchive;
  const devino = useDevino ? await scanHardlinks(repo) : new Map<string, string>();
  const own = (uid: number, gid: number): [number, number] => [options.ownerUid ?? uid, options.ownerGid ?? gid];

  // Pass 1: walk.
  interface DirItem { path: string; t: MutableTree; st: Stats }
  interface FileItem { path: string; name: string; t: MutableTree; st: Stats; hit?: string }
  const dirs: DirItem[] = [{ path: root, t: tree, st: rootStat }];
  const files: FileItem[] = [];
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i];
    await d.t.expand(repo);
    const entries = await readdir(d.path, { withFileTypes: true }).catch((err: unknown) => withContext(`commit: reading ${d.path}`, err));
    const stats = entries.map((e) => {
      try {
        return lstatSync(join(d.path, e.name));
      } catch (err) {
        return withContext(`commit: reading ${join(d.path, e.name)}`, err);
      }
    });
    for (const [k, e] of entries.entries()) {
      const p = join(d.path, e.name);
      const st = stats[k];
      if (st.isDirectory()) {
        dirs.push({ path: p, t: await d.t.ensureDir(repo, e.name), st });
        continue;
      }
      const fmt = st.mode & S_IFMT;
      if (fmt !== S_IFREG && fmt !== S_IFLNK) {
        throw new FormatError(`commit: ${p}: unsupported file type (mode 0${st.mode.toString(8)})`, { path: p });
      }
      const hit = fmt === S_IFREG && useDevino ? devino.get(`${st.dev}:${st.ino}`) : undefined;
      files.push({ path: p, name: e.name, t: d.t, st, hit });
    }
  }
  // Pass 2: xattrs (not needed for hardlinked objects: their checksum is reused as is).
  const xattrMap = options.noXattrs ? new Map<string, Xattr[]>()
    : await getXattrs([...dirs.map((d) => d.path), ...files.filter((f) => !f.hit).map((f) => f.path)]);
  const xattrsOf = (p: string): Xattr[] => xattrMap.get(p) ?? [];
  for (const d of dirs) {
    const [uid, gid] = own(d.st.uid, d.st.gid);
    d.t.metaChecksum = await repo.writeMetadata('dirmeta', encodeDirMeta({ uid, gid, mode: d.st.mode, xattrs: xattrsOf(d.path) }));
  }
  // Pass 3: content.
  let done = 0;
  await mapLimit(files, options.concurrency ?? 8, async (f) => {
    if (f.hit) {
      f.t.replaceFile(f.name, f.hit);
    } else {
      const isLink = (f.st.mode & S_IFMT) === S_IFLNK;
      const [uid, gid] = own(f.st.uid, f.st.gid);
      const header: FileHeader = {
        uid, gid, mode: f.st.mode, rdev: 0,
        symlinkTarget: isLink ? await readlink(f.path) : '',
        xattrs: xattrsOf(f.path),
      };
      const source: ContentSource = { kind: 'path', path: f.path, size: f.st.size };
      const checksum = await repo.writeContent(header, source).catch((err: unknown) => withContext(`commit: ${f.path}`, err));
      f.t.replaceFile(f.name, checksum);
    }
    done++;
    if (options.onProgress && done % 256 === 0) options.onProgress({ stage: 'commit', done, total: files.length, unit: 'files' });
  });
  await repo.flush();
  options.onProgress?.({ stage: 'commit', done, total: files.length, unit: 'files' });
}

/** Timestamp default: SOURCE_DATE_EPOCH, else now. */
export function defaultTimestamp(): bigint {
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde)) throw new UsageError(`SOURCE_DATE_EPOCH: '${sde}' is not a number of seconds`);
    return BigInt(sde);
  }
  return BigInt(Math.floor(Date.now() / 1000));
}

/**
 * Write the commit object for `tree` (its dirtrees are written first) and move the branch.
 * Returns the commit checksum.
 */
export async function commitTree(repo: OstreeRepo, tree: MutableTree, options: CommitOptions = {}): Promise<string> {
  await repo.flush();
  const rootTree = await tree.write(repo);
  if (!tree.metaChecksum) throw new FormatError('commit: the root directory has no metadata');
  let parent: string | null = null;
  if (options.parent !== undefined) parent = options.parent;
  else if (options.branch && !options.orphan) parent = await repo.resolveRev(options.branch, true);
  if (parent && !(await repo.hasObject(parent, 'commit'))) {
    throw new FedostreeError('ENOTFOUND', `commit: parent commit ${parent} is not in the repository`);
  }
  const metadata: MetaEntry[] = [...(options.metadata ?? [])];
  if (!options.noBindings) {
    // Like `ostree commit`: an orphan commit gets an empty binding list.
    const refs = options.branch && !options.orphan ? [options.branch] : [];
    if (!metadata.some((m) => m.key === 'ostree.ref-binding')) metadata.push(metaStrv('ostree.ref-binding', refs));
    const coll = repo.config.get('core', 'collection-id');
    if (coll && !metadata.some((m) => m.key === 'ostree.collection-binding')) metadata.push(metaString('ostree.collection-binding', coll));
  }
  const data = encodeCommit({
    metadata,
    parent,
    related: [],
    subject: options.subject ?? '',
    body: options.body ?? '',
    timestamp: options.timestamp ?? defaultTimestamp(),
    rootTree,
    rootMeta: tree.metaChecksum,
  });
  const checksum = await repo.writeMetadata('commit', data);
  await options.beforeRefUpdate?.(checksum);
  if (options.branch && !options.orphan) await repo.setRef(options.branch, checksum);
  return checksum;
}

/** Start a MutableTree from a commit (or ref) tree, for `--tree=ref=REF`. */
export async function mtreeFromRev(repo: OstreeRepo, rev: string): Promise<MutableTree> {
  const checksum = (await repo.resolveRev(rev)) ?? '';
  const c = await repo.readCommit(checksum);
  return MutableTree.fromStored(c.rootTree, c.rootMeta);
}

/**
 * Add one file to a tree from a header and a source (compose feeds cpio entries this way).
 * Parent directories must exist in the tree (create them with `putDirectory`).
 */
export async function putFile(repo: OstreeRepo, tree: MutableTree, path: string, header: FileHeader, source: ContentSource): Promise<string> {
  const parts = path.split('/').filter((p) => p !== '');
  const name = parts.pop();
  if (!name) throw new UsageError(`putFile: empty path '${path}'`);
  const dir = await tree.walk(repo, parts.join('/'));
  if (!dir) throw new FormatError(`putFile: parent directory of '${path}' does not exist`);
  const checksum = await repo.writeContent(header, source);
  dir.replaceFile(name, checksum);
  return checksum;
}

/** Create (or update the metadata of) a directory in a tree. */
export async function putDirectory(repo: OstreeRepo, tree: MutableTree, path: string, meta: { uid: number; gid: number; mode: number; xattrs?: Xattr[] }): Promise<void> {
  const dir = await tree.walk(repo, path, true);
  if (!dir) throw new FormatError(`putDirectory: cannot create '${path}'`);
  dir.metaChecksum = await repo.writeMetadata('dirmeta', encodeDirMeta({ ...meta, xattrs: meta.xattrs ?? [] }));
}
