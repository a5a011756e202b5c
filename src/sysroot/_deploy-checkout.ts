/**
 * The checkout a deployment needs, tuned for it: a fresh destination in a bare repository on the
 * same filesystem, so every non-empty file and symlink is one link() from its object. Runs the
 * per-file syscalls synchronously (no thread-pool round trips for tens of thousands of tiny
 * operations); metadata (dirtrees) is read and validated before the first write.
 */
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FedostreeError } from '../util/errors.ts';
import { listTree, type DirMeta, type OstreeRepo, type Xattr } from '../ostree/index.ts';
import { getXattrs, setXattrs } from '../ostree/_xattr.ts';

/** Hardlink checkout of `commit` into the new directory `dest` (which must not exist). */
export async function deployCheckout(repo: OstreeRepo, commit: string, dest: string): Promise<void> {
  if (repo.mode !== 'bare') throw new FedostreeError('EREPO', `${repo.path}: a sysroot repository must be in bare mode (is ${repo.mode})`);
  const c = await repo.readCommit(commit);
  const entries = await listTree(repo, c.rootTree, c.rootMeta);
  const metas = new Map<string, DirMeta>();
  for (const e of entries) if (e.kind === 'dir' && !metas.has(e.meta)) metas.set(e.meta, await repo.readDirMeta(e.meta));
  const empties: Array<{ path: string; obj: string }> = [];
  const dirs: Array<{ path: string; meta: DirMeta }> = [];
  for (const e of entries) {
    const p = e.path ? join(dest, e.path) : dest;
    if (e.kind === 'dir') {
      mkdirSync(p, { mode: 0o700 });
      dirs.push({ path: p, meta: metas.get(e.meta) as DirMeta });
      continue;
    }
    const obj = repo.objectPath(e.checksum, 'file');
    try {
      linkSync(obj, p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FedostreeError('ENOTFOUND', `file object ${e.checksum} (${e.path}) is missing from ${repo.path}`);
      throw err;
    }
    // Empty regular files get their own inode (as the reference tool does), not a link.
    const st = lstatSync(p);
    if (st.isFile() && st.size === 0) empties.push({ path: p, obj });
  }
  if (empties.length) {
    const xattrs = await getXattrs(empties.map((x) => x.obj));
    const pending: Array<{ path: string; xattrs: Xattr[] }> = [];
    for (const { path, obj } of empties) {
      const st = lstatSync(obj);
      const tmp = `${path}.tmp-empty`;
      writeFileSync(tmp, '', { mode: 0o600 });
      chownSync(tmp, st.uid, st.gid);
      chmodSync(tmp, st.mode & 0o7777);
      renameSync(tmp, path);
      const x = xattrs.get(obj);
      if (x?.length) pending.push({ path, xattrs: x });
    }
    await setXattrs(pending);
  }
  const dirXattrs: Array<{ path: string; xattrs: Xattr[] }> = [];
  for (const { path, meta } of dirs.reverse()) {
    chownSync(path, meta.uid, meta.gid);
    chmodSync(path, meta.mode & 0o7777);
    if (meta.xattrs.length) dirXattrs.push({ path, xattrs: meta.xattrs });
  }
  await setXattrs(dirXattrs);
}
