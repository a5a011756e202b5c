/**
 * Walking commits and trees: the reachable object set (for fsck and prune) and a flat listing of a
 * tree (for checkout, ls, diff). Every dirtree is decoded (and so validated) on the way.
 */
import { NotFoundError } from '../util/errors.ts';
import type { DirTree, ObjectType } from './objects.ts';
import type { OstreeRepo } from './repo.ts';

/** Key of an object in reachable sets: `CHECKSUM.TYPE`. */
export function objectKey(checksum: string, type: ObjectType): string {
  return `${checksum}.${type}`;
}

export interface TreeEntryDir { kind: 'dir'; path: string; tree: string; meta: string }
export interface TreeEntryFile { kind: 'file'; path: string; checksum: string }
export type TreeEntry = TreeEntryDir | TreeEntryFile;

/**
 * All entries below a dirtree in depth-first order with parents before children; paths are
 * relative (`''` is the root directory itself). `cache` memoises decoded dirtrees.
 */
export async function listTree(repo: OstreeRepo, tree: string, meta: string, cache = new Map<string, DirTree>()): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [{ kind: 'dir', path: '', tree, meta }];
  const walk = async (t: string, prefix: string): Promise<void> => {
    let dt = cache.get(t);
    if (!dt) {
      dt = await repo.readDirTree(t);
      cache.set(t, dt);
    }
    for (const f of dt.files) out.push({ kind: 'file', path: prefix + f.name, checksum: f.checksum });
    for (const d of dt.dirs) {
      out.push({ kind: 'dir', path: prefix + d.name, tree: d.tree, meta: d.meta });
      await walk(d.tree, `${prefix}${d.name}/`);
    }
  };
  await walk(tree, '');
  return out;
}

/** Resolve a path inside a commit's tree: a directory (tree+meta) or a file (checksum). */
export async function lookupPath(repo: OstreeRepo, rootTree: string, rootMeta: string, path: string): Promise<TreeEntry> {
  let cur: TreeEntry = { kind: 'dir', path: '', tree: rootTree, meta: rootMeta };
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    if (cur.kind !== 'dir') throw new NotFoundError(`path '${path}': '${parts.slice(0, i).join('/')}' is not a directory`);
    const dt = await repo.readDirTree(cur.tree);
    const name = parts[i];
    const d = dt.dirs.find((x) => x.name === name);
    const f = dt.files.find((x) => x.name === name);
    const p = parts.slice(0, i + 1).join('/');
    if (d) cur = { kind: 'dir', path: p, tree: d.tree, meta: d.meta };
    else if (f) cur = { kind: 'file', path: p, checksum: f.checksum };
    else throw new NotFoundError(`path '${path}' not found in the commit`, { path });
  }
  return cur;
}

export interface ReachableOptions {
  /** How many parents to follow (-1 = all, 0 = only the commit). */
  depth?: number;
  /** Skip missing parent commits silently (history may be partial after a shallow pull). */
  allowMissingParents?: boolean;
  /** Dirtrees already walked by an earlier call (shared across calls to skip common subtrees). */
  seen?: Set<string>;
}

/**
 * Add every object reachable from `commit` to `reachable` (keys from `objectKey`). Trees already
 * present in the set are not walked again, so sharing between commits is cheap.
 */
export async function traverseCommit(repo: OstreeRepo, commit: string, reachable: Set<string>, options: ReachableOptions = {}): Promise<void> {
  let depth = options.depth ?? -1;
  let current: string | null = commit;
  while (current) {
    const key = objectKey(current, 'commit');
    if (!(await repo.hasObject(current, 'commit'))) {
      if (current !== commit && (options.allowMissingParents ?? true)) return;
      throw new NotFoundError(`commit ${current} is missing`, { checksum: current });
    }
    reachable.add(key);
    if (await repo.hasObject(current, 'commitmeta')) reachable.add(objectKey(current, 'commitmeta'));
    const c = await repo.readCommit(current);
    reachable.add(objectKey(c.rootMeta, 'dirmeta'));
    await traverseTree(repo, c.rootTree, reachable, options.seen);
    if (depth === 0) return;
    if (depth > 0) depth--;
    current = c.parent;
  }
}

async function traverseTree(repo: OstreeRepo, tree: string, reachable: Set<string>, seen?: Set<string>): Promise<void> {
  const key = objectKey(tree, 'dirtree');
  if (reachable.has(key) || seen?.has(key)) return;
  reachable.add(key);
  seen?.add(key);
  const dt = await repo.readDirTree(tree);
  for (const f of dt.files) reachable.add(objectKey(f.checksum, 'file'));
  for (const d of dt.dirs) {
    reachable.add(objectKey(d.meta, 'dirmeta'));
    await traverseTree(repo, d.tree, reachable, seen);
  }
}
