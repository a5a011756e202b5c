/**
 * The /etc three-way merge done at deploy time: the local changes of the merge deployment
 * (its `etc` compared with its `usr/etc`) are carried onto the new deployment's `usr/etc` copy.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Stats } from 'node:fs';
import { FedostreeError, withContext } from '../util/errors.ts';
import { getXattrs, setXattrs } from '../ostree/_xattr.ts';

const run = promisify(execFile);

export interface EtcMergeResult {
  modified: string[];
  removed: string[];
  added: string[];
  /** Changed locally and upstream: the local version was kept. */
  conflicts: string[];
}

interface Node {
  st: Stats;
  target?: string;
}

/** All entries under `root` (synchronous syscalls: thousands of tiny lstat calls). */
function scan(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: string): void => {
    for (const n of readdirSync(rel ? join(root, rel) : root)) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(root, r);
      const st = lstatSync(p);
      const node: Node = { st };
      if (st.isSymbolicLink()) node.target = readlinkSync(p);
      out.set(r, node);
      if (st.isDirectory()) walk(r);
    }
  };
  try {
    walk('');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    withContext(`scanning ${root}`, err);
  }
  return out;
}

function sameNode(aRoot: string, a: Node | undefined, bRoot: string, b: Node | undefined, rel: string, xa: Map<string, string>, xb: Map<string, string>): boolean {
  if (!a || !b) return a === b;
  if ((a.st.mode & 0o170000) !== (b.st.mode & 0o170000)) return false;
  if (a.st.mode !== b.st.mode || a.st.uid !== b.st.uid || a.st.gid !== b.st.gid) return false;
  if ((xa.get(join(aRoot, rel)) ?? '') !== (xb.get(join(bRoot, rel)) ?? '')) return false;
  if (a.st.isSymbolicLink()) return a.target === b.target;
  if (a.st.isFile()) {
    if (a.st.size !== b.st.size) return false;
    if (a.st.dev === b.st.dev && a.st.ino === b.st.ino) return true;
    return readFileSync(join(aRoot, rel)).equals(readFileSync(join(bRoot, rel)));
  }
  return true;
}

async function xattrText(root: string, nodes: Map<string, Node>): Promise<Map<string, string>> {
  const paths = [...nodes.keys()].map((r) => join(root, r));
  const out = new Map<string, string>();
  if (!paths.length) return out;
  const x = await getXattrs(paths);
  for (const [p, list] of x) {
    const keep = list.filter(([n]) => !n.toString('latin1').startsWith('security.selinux'));
    out.set(p, keep.map(([n, v]) => `${n.toString('hex')}=${v.toString('hex')}`).sort().join(','));
  }
  return out;
}

/** Copy a file tree preserving modes, owners, xattrs, links and symlinks. */
export async function copyTree(from: string, to: string): Promise<void> {
  try {
    await run('cp', ['-a', '--no-target-directory', from, to]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new FedostreeError('EIO', `copying ${from} to ${to}: ${(e.stderr ?? e.message).trim()}`, { from, to });
  }
}

/**
 * Compute the local changes of `oldDeploy` (usr/etc → etc) and apply them to `newDeploy/etc`
 * (which must already be a copy of `newDeploy/usr/etc`).
 */
export async function mergeEtc(oldDeploy: string, newDeploy: string): Promise<EtcMergeResult> {
  const oldUsrEtc = join(oldDeploy, 'usr/etc');
  const oldEtc = join(oldDeploy, 'etc');
  const newUsrEtc = join(newDeploy, 'usr/etc');
  const newEtc = join(newDeploy, 'etc');
  const [a, b, c] = [scan(oldUsrEtc), scan(oldEtc), scan(newUsrEtc)];
  const [xa, xb, xc] = await Promise.all([xattrText(oldUsrEtc, a), xattrText(oldEtc, b), xattrText(newUsrEtc, c)]);
  const result: EtcMergeResult = { modified: [], removed: [], added: [], conflicts: [] };
  const under = (rel: string, dirs: string[]): boolean => dirs.some((d) => rel.startsWith(d + '/'));
  const copiedDirs: string[] = [];
  const removedDirs: string[] = [];
  // Removed locally (parents first, children of a removed dir are covered by it).
  for (const rel of [...a.keys()].sort()) {
    if (b.has(rel) || under(rel, removedDirs)) continue;
    result.removed.push(rel);
    if (a.get(rel)?.st.isDirectory()) removedDirs.push(rel);
  }
  for (const rel of [...b.keys()].sort()) {
    if (under(rel, copiedDirs)) continue;
    const nb = b.get(rel) as Node;
    const na = a.get(rel);
    if (!na) {
      result.added.push(rel);
      if (nb.st.isDirectory()) copiedDirs.push(rel);
      continue;
    }
    if (sameNode(oldUsrEtc, na, oldEtc, nb, rel, xa, xb)) continue;
    result.modified.push(rel);
    const nc = c.get(rel);
    if (nc && !sameNode(oldUsrEtc, na, newUsrEtc, nc, rel, xa, xc)) result.conflicts.push(rel);
    // A directory whose own metadata changed: only the directory itself is replaced when its type changed.
    if (nb.st.isDirectory() && !na.st.isDirectory()) copiedDirs.push(rel);
  }
  for (const rel of result.removed) await rm(join(newEtc, rel), { recursive: true, force: true });
  for (const rel of [...result.added, ...result.modified]) {
    const nb = b.get(rel) as Node;
    const dest = join(newEtc, rel);
    const existing = await lstat(dest).catch(() => null);
    await mkdir(dirname(dest), { recursive: true });
    if (nb.st.isDirectory() && existing?.isDirectory() && !result.added.includes(rel)) {
      // metadata-only change of a directory: its mode, owner and xattrs; the merged content stays
      await chmod(dest, nb.st.mode & 0o7777);
      await lchown(dest, nb.st.uid, nb.st.gid);
      const x = (await getXattrs([join(oldEtc, rel)])).get(join(oldEtc, rel)) ?? [];
      await setXattrs([{ path: dest, xattrs: x }]);
      continue;
    }
    if (existing) await rm(dest, { recursive: true, force: true });
    await copyTree(join(oldEtc, rel), dest);
  }
  return result;
}
