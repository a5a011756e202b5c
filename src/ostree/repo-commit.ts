/**
 * Commit: fill a MutableTree from a directory (reading every file once, hashing and compressing
 * with bounded concurrency), write its dirtrees, write the commit object, move the ref.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FedostreeError, FormatError, UsageError, withContext } from '../util/errors.ts';
import { Limiter } from '../util/concurrency.ts';
import type { ProgressListener } from '../util/progress.ts';
import {
  encodeCommit, encodeDirMeta, metaString, metaStrv, S_IFLNK, S_IFMT, S_IFREG, type FileHeader, type MetaEntry, type Xattr,
} from './objects.ts';
import { MutableTree } from './mutable-tree.ts';
import type { ContentSource, OstreeRepo } from './repo.ts';
import { dumpXattrsRecursive } from './_xattr.ts';

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
}

/** Cache of (dev, ino) → object checksum for a bare/bare-user repository's content objects. */
export async function scanHardlinks(repo: OstreeRepo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (repo.isArchive) return out;
  const limiter = new Limiter(16);
  const pending: Array<Promise<void>> = [];
  for await (const [checksum, type] of repo.listObjects()) {
    if (type !== 'file') continue;
    pending.push(limiter.run(async () => {
      try {
        const st = await lstat(repo.objectPath(checksum, 'file'));
        if (st.isFile()) out.set(`${st.dev}:${st.ino}`, checksum);
      } catch {
        // removed concurrently
      }
    }));
  }
  await Promise.all(pending);
  return out;
}

/**
 * Import the directory `dir` into `tree` (merging over what is there), writing content and dirmeta
 * objects. The directory's own metadata becomes the tree's metadata.
 */
export async function writeDirectoryToMtree(repo: OstreeRepo, dir: string, tree: MutableTree, options: DirectoryImportOptions = {}): Promise<void> {
  const root = resolve(dir);
  const rootStat = await lstat(root).catch((err: unknown) => withContext(`commit: reading ${root}`, err));
  if (!rootStat.isDirectory()) throw new UsageError(`commit: ${root} is not a directory`);
  const xattrMap = options.noXattrs ? new Map<string, Xattr[]>() : await dumpXattrsRecursive(root);
  const useDevino = options.linkCheckoutSpeedup !== false && !repo.isArchive;
  const devino = useDevino ? await scanHardlinks(repo) : new Map<string, string>();
  const limiter = new Limiter(options.concurrency ?? 8);
  let done = 0;
  const own = (uid: number, gid: number): [number, number] => [options.ownerUid ?? uid, options.ownerGid ?? gid];
  const xattrsOf = (p: string): Xattr[] => xattrMap.get(p) ?? [];

  const dirMeta = async (p: string, st: { uid: number; gid: number; mode: number }): Promise<string> => {
    const [uid, gid] = own(st.uid, st.gid);
    return repo.writeMetadata('dirmeta', encodeDirMeta({ uid, gid, mode: st.mode, xattrs: xattrsOf(p) }));
  };

  const importDir = async (path: string, t: MutableTree, st: { uid: number; gid: number; mode: number }): Promise<void> => {
    t.metaChecksum = await dirMeta(path, st);
    await t.expand(repo);
    const entries = await readdir(path, { withFileTypes: true }).catch((err: unknown) => withContext(`commit: reading ${path}`, err));
    const tasks: Array<Promise<void>> = [];
    for (const e of entries) {
      const p = join(path, e.name);
      if (e.isDirectory()) {
        const est = await lstat(p);
        const sub = await t.ensureDir(repo, e.name);
        tasks.push(importDir(p, sub, est));
        continue;
      }
      tasks.push(limiter.run(async () => {
        const est = await lstat(p).catch((err: unknown) => withContext(`commit: reading ${p}`, err));
        const fmt = est.mode & S_IFMT;
        if (fmt !== S_IFREG && fmt !== S_IFLNK) {
          throw new FormatError(`commit: ${p}: unsupported file type (mode 0${est.mode.toString(8)})`, { path: p });
        }
        if (fmt === S_IFREG && useDevino) {
          const hit = devino.get(`${est.dev}:${est.ino}`);
          if (hit) {
            t.replaceFile(e.name, hit);
            done++;
            return;
          }
        }
        const [uid, gid] = own(est.uid, est.gid);
        const header: FileHeader = {
          uid, gid, mode: est.mode, rdev: 0,
          symlinkTarget: fmt === S_IFLNK ? await readlink(p) : '',
          xattrs: xattrsOf(p),
        };
        const source: ContentSource = { kind: 'path', path: p, size: est.size };
        const checksum = await repo.writeContent(header, source).catch((err: unknown) => withContext(`commit: ${p}`, err));
        t.replaceFile(e.name, checksum);
        done++;
        if (options.onProgress && done % 256 === 0) options.onProgress({ stage: 'commit', done, unit: 'files' });
      }));
    }
    // Settle every task before reporting the first error (no stray writes after we return).
    const results = await Promise.allSettled(tasks);
    for (const r of results) if (r.status === 'rejected') throw r.reason as Error;
  };
  await importDir(root, tree, rootStat);
  await repo.flush();
  options.onProgress?.({ stage: 'commit', done, unit: 'files' });
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
