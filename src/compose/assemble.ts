/**
 * Assembly: merge the package commits of a tree (metadata only) and materialise the result as a
 * build root of hardlinks to the package cache's objects. From a bare cache (running as root) the
 * objects carry their final owner and mode, so every file is one link(2); directories are created
 * with their metadata. Many operations are kept in flight (the work is syscall-bound).
 */
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
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
  // 1. read every directory (in parallel) and the few distinct directory metadata objects
  const metas = new Map<string, DirMeta>();
  const expand = async (t: MutableTree): Promise<void> => {
    await t.expand(cache);
    const m = t.metaChecksum as string;
    if (!metas.has(m)) metas.set(m, await cache.readDirMeta(m));
    await Promise.all([...t.dirs.values()].map(expand));
  };
  await expand(tree);
  // 2. create it with plain system calls: one mkdir per directory, one link per file (no thread
  //    pool round trips; this is what dominates assembly time)
  mkdirSync(root, { mode: 0o777 });
  const umask = 0o777 & ~lstatSync(root).mode;
  rmdirSync(root);
  const make = (path: string, t: MutableTree): void => {
    const m = metas.get(t.metaChecksum as string) as DirMeta;
    const mode = m.mode & 0o7777;
    try {
      mkdirSync(path, { mode: mode & 0o777 });
      if (m.uid !== 0 || m.gid !== 0) chownSync(path, m.uid, m.gid);
      if (mode !== (mode & 0o777 & ~umask)) chmodSync(path, mode);
    } catch (err) {
      withContext(`assembling ${path}`, err);
    }
    for (const [name, cs] of t.files) {
      try {
        linkSync(cache.objectPath(cs, 'file'), join(path, name));
      } catch (err) {
        withContext(`assembling ${join(path, name)}`, err);
      }
    }
    for (const [name, sub] of t.dirs) make(join(path, name), sub);
  };
  make(root, tree);
}
