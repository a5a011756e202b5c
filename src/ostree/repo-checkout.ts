/**
 * Checkout: materialise a commit's tree (or a subpath) as files, by copying or by hardlinking
 * objects (bare modes). Every dirtree is read and validated before the first write.
 */
import { createWriteStream, linkSync, symlinkSync, lchownSync, chmodSync, chownSync, constants as fsc } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { inflateRaw as inflateRawCb } from 'node:zlib';
import { promisify } from 'node:util';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { FedostreeError, FormatError, UsageError, withContext } from '../util/errors.ts';
import { Limiter } from '../util/concurrency.ts';
import type { ProgressListener } from '../util/progress.ts';
import { splitLenPrefixed, S_IFLNK, S_IFMT, type DirMeta, type FileHeader, type Xattr } from './objects.ts';
import type { OstreeRepo } from './repo.ts';
import { listTree, lookupPath, type TreeEntry } from './repo-traverse.ts';
import { setXattrs } from './_xattr.ts';
import { lexists as pathExists } from '../util/fs.ts';

export interface CheckoutOptions {
  /** `-U`: do not change ownership, skip xattrs (and allow hardlinks from bare-user). */
  userMode?: boolean;
  /** `-H`: fail unless every file can be hardlinked; `false` forces copies; default: link when possible. */
  hardlinks?: boolean | 'auto';
  /** `--union`: overwrite existing files in an existing destination. */
  union?: boolean;
  /** `--subpath`: check out only this path of the tree. */
  subpath?: string;
  /** Skip extended attributes. */
  noXattrs?: boolean;
  concurrency?: number;
  onProgress?: ProgressListener;
}

const inflate = promisify(inflateRawCb);
const SMALL = 1024 * 1024;

function tmpBeside(p: string): string {
  return join(dirname(p), `.${basename(p)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** Check out `rev` (ref or checksum) of `repo` into `dest`. Returns the commit checksum. */
export async function checkout(repo: OstreeRepo, rev: string, dest: string, options: CheckoutOptions = {}): Promise<string> {
  const commit = (await repo.resolveRev(rev)) ?? '';
  const c = await repo.readCommit(commit);
  const root = resolve(dest);
  const userMode = options.userMode ?? false;
  const canLink = !repo.isArchive && (repo.mode === 'bare' ? !userMode || process.getuid?.() === 0 : userMode);
  const wantLink = options.hardlinks === undefined || options.hardlinks === 'auto' ? canLink : options.hardlinks;
  if (wantLink && !canLink) {
    throw new UsageError(`checkout: hardlinks are not possible from a ${repo.mode} repository${userMode ? ' in user mode' : ' unless in user mode (-U)'}`);
  }
  // Resolve the subpath and read every dirtree first: hostile names fail before any write.
  const start = options.subpath ? await lookupPath(repo, c.rootTree, c.rootMeta, options.subpath) : { kind: 'dir' as const, path: '', tree: c.rootTree, meta: c.rootMeta };
  const entries: TreeEntry[] = start.kind === 'dir' ? await listTree(repo, start.tree, start.meta) : [{ kind: 'file', path: '', checksum: start.checksum }];
  const metas = new Map<string, DirMeta>();
  for (const e of entries) if (e.kind === 'dir' && !metas.has(e.meta)) metas.set(e.meta, await repo.readDirMeta(e.meta));
  const fileSums = [...new Set(entries.flatMap((e) => (e.kind === 'file' ? [e.checksum] : [])))];
  const headers = await repo.readFileHeaders(fileSums);
  for (const s of fileSums) if (!headers.has(s)) throw new FedostreeError('ENOTFOUND', `checkout: file object ${s} is missing from ${repo.path}`);

  if (await pathExists(root)) {
    if (!options.union && start.kind === 'dir') throw new FedostreeError('EEXIST', `checkout: destination ${root} already exists (use --union)`);
  }
  await mkdir(dirname(root), { recursive: true });
  const pendingXattrs: Array<{ path: string; xattrs: Xattr[] }> = [];
  const wantXattrs = !userMode && !options.noXattrs;

  // Directories: create top-down writable; apply final metadata bottom-up at the end.
  const dirs = entries.filter((e): e is Extract<TreeEntry, { kind: 'dir' }> => e.kind === 'dir');
  // With --union, directories that already exist keep their metadata (as ostree does).
  const preexisting = new Set<string>();
  for (const d of dirs) {
    const p = d.path ? join(root, d.path) : root;
    try {
      await mkdir(p, { mode: 0o700 });
    } catch (err) {
      preexisting.add(p);
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') withContext(`checkout: creating ${p}`, err);
      const st = await lstat(p);
      if (!st.isDirectory()) {
        if (!options.union) throw new FedostreeError('EEXIST', `checkout: ${p} exists and is not a directory`);
        await rm(p, { force: true });
        await mkdir(p, { mode: 0o700 });
        preexisting.delete(p);
      } else if (!options.union && p !== root) throw new FedostreeError('EEXIST', `checkout: ${p} already exists`);
    }
  }

  const limiter = new Limiter(options.concurrency ?? 8);
  let done = 0;
  const placeFile = async (e: Extract<TreeEntry, { kind: 'file' }>): Promise<void> => {
    const p = e.path ? join(root, e.path) : root;
    const known = headers.get(e.checksum) as { header: FileHeader; size: number };
    const h = known.header;
    const isLink = (h.mode & S_IFMT) === S_IFLNK;
    // Fresh checkouts skip the existence probe: link/symlink/open fail with EEXIST themselves.
    const exists = options.union ? await pathExists(p) : false;
    const target = exists ? tmpBeside(p) : p;
    // Like ostree: empty files are never hardlinked (they would gather huge link counts).
    const objLinkable = wantLink && !(isLink && repo.mode === 'bare-user') && (isLink || known.size > 0);
    if (objLinkable) {
      // Metadata-only syscalls: synchronous is several times faster than a thread-pool round trip.
      linkSync(repo.objectPath(e.checksum, 'file'), target);
    } else if (isLink) {
      symlinkSync(h.symlinkTarget, target);
      if (!userMode) lchownSync(target, h.uid, h.gid);
    } else {
      if (!repo.isArchive) await copyFile(repo.objectPath(e.checksum, 'file'), target, fsc.COPYFILE_EXCL);
      else if (known.size <= SMALL) {
        // One read and one inflate on the thread pool; bounded by the header's size.
        const raw = await readFile(repo.objectPath(e.checksum, 'file'));
        const { payloadStart } = splitLenPrefixed(raw, `file object ${e.checksum}`);
        const data = known.size === 0 ? Buffer.alloc(0) : await inflate(raw.subarray(payloadStart), { maxOutputLength: known.size + 1 });
        if (data.length !== known.size) throw new FormatError(`file object ${e.checksum}: ${data.length} bytes, header says ${known.size}`);
        await writeFile(target, data, { mode: 0o600, flag: 'wx' });
      } else {
        const f = await repo.loadFile(e.checksum, known);
        await pipeline(f.open(), createWriteStream(target, { mode: 0o600, flags: 'wx' }));
      }
      if (!userMode) await chown(target, h.uid, h.gid);
      await chmod(target, userMode ? h.mode & 0o777 & ~0o6000 : h.mode & 0o7777);
      if (wantXattrs && h.xattrs.length) pendingXattrs.push({ path: target, xattrs: h.xattrs });
    }
    if (target !== p) {
      if (isLink || objLinkable) await rename(target, p);
      else pendingRenames.push([target, p]);
    }
    done++;
    if (options.onProgress && done % 512 === 0) options.onProgress({ stage: 'checkout', done, total: fileSums.length, unit: 'files' });
  };
  const pendingRenames: Array<[string, string]> = [];
  const files = entries.filter((e): e is Extract<TreeEntry, { kind: 'file' }> => e.kind === 'file');
  const results = await Promise.allSettled(files.map((f) => limiter.run(() => placeFile(f).catch((err: unknown) => withContext(`checkout: ${f.path}`, err)))));
  for (const r of results) if (r.status === 'rejected') throw r.reason as Error;
  await setXattrs(pendingXattrs);
  for (const [from, to] of pendingRenames) {
    await unlink(to).catch(() => undefined);
    await rename(from, to);
  }
  const dirXattrs: Array<{ path: string; xattrs: Xattr[] }> = [];
  for (const d of dirs.reverse()) {
    const p = d.path ? join(root, d.path) : root;
    if (preexisting.has(p)) continue;
    const m = metas.get(d.meta) as DirMeta;
    if (!userMode) chownSync(p, m.uid, m.gid);
    chmodSync(p, userMode ? m.mode & 0o1777 : m.mode & 0o7777);
    if (wantXattrs && m.xattrs.length) dirXattrs.push({ path: p, xattrs: m.xattrs });
  }
  await setXattrs(dirXattrs);
  options.onProgress?.({ stage: 'checkout', done, total: fileSums.length, unit: 'files' });
  return commit;
}
