/**
 * prune: delete objects not reachable from the roots (refs, and unless `refsOnly` every commit),
 * optionally cutting history by depth or age. Takes the exclusive repository lock.
 */
import { lstat } from 'node:fs/promises';
import type { ObjectType } from './objects.ts';
import type { OstreeRepo } from './repo.ts';
import { objectKey, traverseCommit } from './repo-traverse.ts';

export interface PruneOptions {
  /** Only refs are roots (`--refs-only`). */
  refsOnly?: boolean;
  /** Parents to keep per root (`--depth`, -1 = all). */
  depth?: number;
  /** Delete commits older than this (seconds since the epoch) from each ref's history (`--keep-younger-than`). */
  keepYoungerThan?: bigint;
  /** Delete these commits first (`--delete-commit`). */
  deleteCommits?: string[];
  /** Compute only (`--no-prune`). */
  dryRun?: boolean;
}

export interface PruneResult {
  total: number;
  pruned: number;
  bytesFreed: number;
}

export async function prune(repo: OstreeRepo, options: PruneOptions = {}): Promise<PruneResult> {
  const lock = await repo.lock(true);
  try {
    const depth = options.depth ?? -1;
    const all: Array<[string, ObjectType]> = [];
    for await (const o of repo.listObjects()) all.push(o);
    const dead = new Set(options.deleteCommits ?? []);
    const refs = await repo.listRefs();
    if (options.keepYoungerThan !== undefined) {
      for (const tip of refs.values()) {
        let c: string | null = tip;
        while (c && (await repo.hasObject(c, 'commit'))) {
          const commit = await repo.readCommit(c);
          if (c !== tip && commit.timestamp < options.keepYoungerThan) dead.add(c);
          c = commit.parent;
        }
      }
    }
    const reachable = new Set<string>();
    const roots = [...refs.values()];
    if (!options.refsOnly) roots.push(...all.filter(([, t]) => t === 'commit').map(([c]) => c));
    for (const root of roots) {
      if (dead.has(root) || !(await repo.hasObject(root, 'commit'))) continue;
      // Walk history, stopping at deleted commits.
      let c: string | null = root;
      let left = depth;
      while (c && !dead.has(c) && (await repo.hasObject(c, 'commit'))) {
        await traverseCommit(repo, c, reachable, { depth: 0 });
        if (left === 0) break;
        if (left > 0) left--;
        c = (await repo.readCommit(c)).parent;
      }
    }
    let pruned = 0;
    let bytesFreed = 0;
    for (const [checksum, type] of all) {
      const key = objectKey(checksum, type);
      if (reachable.has(key)) continue;
      if (type === 'commitmeta' && reachable.has(objectKey(checksum, 'commit'))) continue;
      pruned++;
      try {
        bytesFreed += (await lstat(repo.objectPath(checksum, type))).size;
      } catch {
        // already gone
      }
      if (!options.dryRun) await repo.deleteObject(checksum, type);
    }
    return { total: all.length, pruned, bytesFreed };
  } finally {
    await lock.release();
  }
}
