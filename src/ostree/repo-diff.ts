/**
 * diff: compare two commits' trees; equal subtrees (same dirtree checksum) are skipped.
 * Like ostree, an added or removed directory is reported once, not file by file.
 */
import type { DirTree } from './objects.ts';
import type { OstreeRepo } from './repo.ts';

export interface DiffResult {
  modified: string[];
  removed: string[];
  added: string[];
}

async function rootOf(repo: OstreeRepo, rev: string): Promise<{ tree: string; meta: string }> {
  const c = await repo.readCommit((await repo.resolveRev(rev)) ?? '');
  return { tree: c.rootTree, meta: c.rootMeta };
}

/** Differences from `a` to `b` (refs or checksums); paths are absolute ("/etc/conf"). */
export async function diffCommits(repo: OstreeRepo, a: string, b: string): Promise<DiffResult> {
  const out: DiffResult = { modified: [], removed: [], added: [] };
  const ra = await rootOf(repo, a);
  const rb = await rootOf(repo, b);
  const walk = async (ta: string, tb: string, prefix: string): Promise<void> => {
    if (ta === tb) return;
    const da: DirTree = await repo.readDirTree(ta);
    const db: DirTree = await repo.readDirTree(tb);
    const fa = new Map(da.files.map((f) => [f.name, f.checksum]));
    const fb = new Map(db.files.map((f) => [f.name, f.checksum]));
    const dA = new Map(da.dirs.map((d) => [d.name, d]));
    const dB = new Map(db.dirs.map((d) => [d.name, d]));
    for (const [name, cs] of fa) {
      const p = prefix + name;
      if (fb.has(name)) {
        if (fb.get(name) !== cs) out.modified.push(p);
      } else out.removed.push(p);
    }
    for (const name of fb.keys()) if (!fa.has(name)) out.added.push(prefix + name);
    for (const [name, d] of dA) {
      const other = dB.get(name);
      if (other) {
        if (other.meta !== d.meta) out.modified.push(prefix + name);
        await walk(d.tree, other.tree, `${prefix}${name}/`);
      } else out.removed.push(prefix + name);
    }
    for (const name of dB.keys()) if (!dA.has(name)) out.added.push(prefix + name);
  };
  if (ra.meta !== rb.meta) out.modified.push('/');
  await walk(ra.tree, rb.tree, '/');
  const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  out.modified.sort(byName);
  out.removed.sort(byName);
  out.added.sort(byName);
  return out;
}

/** Text like `ostree diff`: M, D, A lines. */
export function formatDiff(d: DiffResult): string {
  return [...d.modified.map((p) => `M    ${p}`), ...d.removed.map((p) => `D    ${p}`), ...d.added.map((p) => `A    ${p}`)].map((l) => l + '\n').join('');
}
