/**
 * Assembly: merge the package commits of a tree (metadata only) and materialise the result as a
 * build root of hardlinks to the package cache's objects. From a bare cache (running as root) the
 * objects carry their final owner and mode, so every file is one link(2); directories are created
 * with their metadata. Many operations are kept in flight (the work is syscall-bound).
 */
import { chmod, chown, link, lstat, mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Limiter } from '../util/concurrency.ts';
import { withContext } from '../util/errors.ts';
import { checkout, commitTree, MutableTree, type DirMeta, type OstreeRepo } from '../ostree/index.ts';

/**
 * Merge a stored tree into `dst`: files of the stored tree replace what is there; a directory
 * keeps the metadata it first got. Unmodified subtrees stay lazy (never read).
 */
export async function mergeStored(repo: OstreeRepo, dst: MutableTree, tree: string, meta: string): Promise<void> {
  dst.metaChecksum ??= meta;
  await dst.expand(repo);
  const dt = await repo.readDirTree(tree);
  for (const f of dt.files) dst.replaceFile(f.name, f.checksum);
  for (const d of dt.dirs) {
    const cur = dst.dirs.get(d.name);
    if (!cur) {
      dst.files.delete(d.name);
      dst.dirs.set(d.name, MutableTree.fromStored(d.tree, d.meta));
    } else await mergeStored(repo, cur, d.tree, d.meta);
  }
}

/** Merge `commits` in order (later files win) into one tree. */
export async function mergeCommits(repo: OstreeRepo, commits: readonly string[]): Promise<MutableTree> {
  const merged = new MutableTree();
  for (const c of commits) {
    const cc = await repo.readCommit(c);
    await mergeStored(repo, merged, cc.rootTree, cc.rootMeta);
  }
  return merged;
}

/** Check out `tree` (from `cache`) at `root`, which must not exist. */
export async function materialise(cache: OstreeRepo, tree: MutableTree, root: string): Promise<void> {
  if (cache.mode !== 'bare' || process.getuid?.() !== 0) {
    // objects do not carry final ownership: let the generic checkout copy/link as it can
    const commit = await commitTree(cache, tree, { parent: null, timestamp: 0n, noBindings: true });
    await checkout(cache, commit, root, { hardlinks: 'auto' });
    return;
  }
  const limiter = new Limiter(64);
  // the process umask, measured once: chmod only where mkdir's mode was masked
  await mkdir(root, { mode: 0o777 });
  const umask = 0o777 & ~(await lstat(root)).mode;
  await rmdir(root);
  const metas = new Map<string, Promise<DirMeta>>();
  const metaOf = (c: string): Promise<DirMeta> => {
    let m = metas.get(c);
    if (!m) {
      m = cache.readDirMeta(c);
      metas.set(c, m);
    }
    return m;
  };
  const makeDir = async (path: string, t: MutableTree): Promise<void> => {
    await t.expand(cache);
    const m = await metaOf(t.metaChecksum as string);
    await limiter.run(async () => {
      const mode = m.mode & 0o7777;
      await mkdir(path, { mode: mode & 0o777 }).catch((err: unknown) => withContext(`assembling ${path}`, err));
      if (m.uid !== 0 || m.gid !== 0) await chown(path, m.uid, m.gid);
      if (mode !== (mode & 0o777 & ~umask)) await chmod(path, mode);
    });
    const tasks: Array<Promise<void>> = [];
    for (const [name, cs] of t.files) {
      tasks.push(limiter.run(() => link(cache.objectPath(cs, 'file'), join(path, name)).catch((err: unknown) => withContext(`assembling ${join(path, name)}`, err))));
    }
    for (const [name, sub] of t.dirs) tasks.push(makeDir(join(path, name), sub));
    const res = await Promise.allSettled(tasks);
    for (const r of res) if (r.status === 'rejected') throw r.reason as Error;
  };
  await makeDir(root, tree);
}
