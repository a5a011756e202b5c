/**
 * The operations behind the commands: reorder (set-default, rollback), undeploy, pin, kernel
 * arguments, cleanup, upgrade, rebase, deploy-by-version, and the status model.
 * Every mutating operation takes the sysroot lock and reloads the list first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FedostreeError, NotFoundError, UsageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { ProgressListener } from '../util/progress.ts';
import { checkout, isChecksum, listRemotes, pull, prune, type PruneResult } from '../ostree/index.ts';
import { diffRpmdb, type RpmdbDiff } from '../rpm/rpmdb.ts';
import { editKargs, type KargEdit } from './bls.ts';
import { commitVersion, deployDirName, type Deployment, type Sysroot } from './sysroot.ts';
import { deployCommit, originFor, originRefspec, requireDeployment, RETAIN, type DeployResult, type Retain } from './sysroot-deploy.ts';
import { cleanupSysroot, planFrom, writeDeployments, type PlannedDeployment } from './sysroot-write.ts';

async function locked<T>(sysroot: Sysroot, fn: () => Promise<T>): Promise<T> {
  const lock = await sysroot.lock();
  try {
    await sysroot.load();
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Make deployment `index` the default (index 0). */
export async function setDefault(sysroot: Sysroot, index: number): Promise<void> {
  await locked(sysroot, async () => {
    requireDeployment(sysroot, index);
    if (index === 0) return;
    const list = sysroot.deployments.map(planFrom);
    const [moved] = list.splice(index, 1);
    list.unshift(moved);
    await writeDeployments(sysroot, list);
  });
}

/** The deployment rollback would boot: the booted one if it is not the default, else the next one of the same stateroot. */
export function rollbackTarget(sysroot: Sysroot, stateroot?: string): Deployment | null {
  const os = stateroot ?? sysroot.defaultStateroot();
  const first = sysroot.deployments.find((d) => d.stateroot === os);
  if (sysroot.booted && sysroot.booted !== first && sysroot.booted.stateroot === os) return sysroot.booted;
  return sysroot.deployments.find((d) => d.stateroot === os && d !== first) ?? null;
}

/** Make the previous deployment the default. */
export async function rollback(sysroot: Sysroot, stateroot?: string): Promise<Deployment> {
  return locked(sysroot, async () => {
    const target = rollbackTarget(sysroot, stateroot);
    if (!target) throw new NotFoundError('no rollback deployment: there is only one deployment');
    const list = sysroot.deployments.map(planFrom);
    const [moved] = list.splice(target.index, 1);
    list.unshift(moved);
    await writeDeployments(sysroot, list);
    return target;
  });
}

/** Remove deployment `index` (not the booted one). */
export async function undeploy(sysroot: Sysroot, index: number): Promise<Deployment> {
  return locked(sysroot, async () => {
    const d = requireDeployment(sysroot, index);
    if (d.booted) throw new UsageError(`deployment ${index} is the booted deployment; cannot undeploy it`);
    const list: PlannedDeployment[] = sysroot.deployments.filter((x) => x !== d).map(planFrom);
    await writeDeployments(sysroot, list);
    return d;
  });
}

/** Pin or unpin deployment `index` (origin `[libostree-transient] pinned=`). */
export async function setPinned(sysroot: Sysroot, index: number, pinned: boolean): Promise<Deployment> {
  return locked(sysroot, async () => {
    const d = requireDeployment(sysroot, index);
    if (!d.origin) throw new FedostreeError('EORIGIN', `cannot ${pinned ? 'pin' : 'unpin'} deployment ${index}: origin ${sysroot.originPath(d)}: ${d.originError ?? 'missing'}`);
    // Unpinning leaves the group in place, empty, as the reference tool does.
    // New groups are separated by a blank line, as GKeyFile writes them.
    let text: string;
    if (!pinned) text = d.origin.toString().replace(/^pinned=.*\n/m, '');
    else if (d.origin.groups().includes('libostree-transient')) {
      d.origin.set('libostree-transient', 'pinned', 'true');
      text = d.origin.toString();
    } else text = `${d.origin.toString().replace(/\n*$/, '\n')}\n[libostree-transient]\npinned=true\n`;
    await writeFileAtomic(sysroot.originPath(d), text);
    return d;
  });
}

/** Edit the kernel arguments of deployment `index` in place (new boot entries, same tree). */
export async function editDeploymentKargs(sysroot: Sysroot, index: number, edit: KargEdit): Promise<string[]> {
  return locked(sysroot, async () => {
    const d = requireDeployment(sysroot, index);
    const next = editKargs(d.kargs, edit);
    const list = sysroot.deployments.map(planFrom);
    list[index].kargs = next;
    await writeDeployments(sysroot, list);
    return next;
  });
}

export interface CleanupOptions {
  /** Also remove the rollback deployment. */
  rollback?: boolean;
  /** Only remove unreferenced files and prune (like `ostree admin cleanup`). */
  onlyStale?: boolean;
  stateroot?: string;
}

/** Remove unpinned deployments beyond booted/default/rollback, stale files, and unreachable objects. */
export async function cleanup(sysroot: Sysroot, options: CleanupOptions = {}): Promise<{ removed: string[]; prune: PruneResult }> {
  return locked(sysroot, async () => {
    let removed: string[] = [];
    if (!options.onlyStale) {
      const seen = new Map<string, number>();
      const keep = sysroot.deployments.filter((d) => {
        if (options.stateroot && d.stateroot !== options.stateroot) return true;
        const n = seen.get(d.stateroot) ?? 0;
        seen.set(d.stateroot, n + 1);
        return d.pinned || d.booted || n === 0 || (n === 1 && !options.rollback);
      });
      if (keep.length !== sysroot.deployments.length) removed = (await writeDeployments(sysroot, keep.map(planFrom))).removedDeployments;
    }
    removed.push(...(await cleanupSysroot(sysroot)));
    const repo = await sysroot.repo();
    const pr = await prune(repo, { refsOnly: true });
    return { removed, prune: pr };
  });
}

function splitRefspec(refspec: string): { remote: string | null; ref: string } {
  const i = refspec.indexOf(':');
  return i < 0 ? { remote: null, ref: refspec } : { remote: refspec.slice(0, i), ref: refspec.slice(i + 1) };
}

async function fetchRefspec(sysroot: Sysroot, refspec: string, opts: { commitMetadataOnly?: boolean; depth?: number; onProgress?: ProgressListener }): Promise<string> {
  const repo = await sysroot.repo();
  const { remote, ref } = splitRefspec(refspec);
  if (remote !== null) {
    if (!listRemotes(repo).includes(remote)) throw new NotFoundError(`remote '${remote}' is not configured in ${repo.path}`);
    await pull(repo, remote, [ref], { commitMetadataOnly: opts.commitMetadataOnly, depth: opts.depth, onProgress: opts.onProgress });
  }
  const c = await repo.resolveRev(refspec, true);
  if (!c) throw new NotFoundError(`ref '${refspec}' not found${remote ? ` on remote '${remote}'` : ` in ${repo.path}`}`);
  return c;
}

export interface UpgradeOptions {
  stateroot?: string;
  check?: boolean;
  preview?: boolean;
  downloadOnly?: boolean;
  onProgress?: ProgressListener;
}

export interface UpgradeResult {
  refspec: string;
  from: string;
  to: string;
  available: boolean;
  deployed: DeployResult | null;
  packages?: RpmdbDiff;
}

/** Package diff between two commits (their /usr/share/rpm databases). */
export async function packageDiff(sysroot: Sysroot, from: string, to: string): Promise<RpmdbDiff> {
  const repo = await sysroot.repo();
  const tmp = await mkdtemp(join(tmpdir(), 'fedostree-preview-'));
  try {
    const dirs: string[] = [];
    for (const [i, c] of [from, to].entries()) {
      const d = join(tmp, String(i));
      await checkout(repo, c, d, { subpath: 'usr/share/rpm', hardlinks: false, userMode: true }).catch((err: unknown) => {
        throw new NotFoundError(`commit ${c} has no package database (usr/share/rpm): ${err instanceof Error ? err.message : String(err)}`);
      });
      dirs.push(d);
    }
    return await diffRpmdb(dirs[0], dirs[1]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function mergeOf(sysroot: Sysroot, stateroot?: string): Deployment {
  const os = stateroot ?? sysroot.defaultStateroot();
  if (!os) throw new NotFoundError(`no deployments in ${sysroot.path}: deploy one first ('fedostree admin deploy')`);
  const m = sysroot.mergeDeployment(os);
  if (!m) throw new NotFoundError(`no deployment of stateroot '${os}' in ${sysroot.path}`);
  return m;
}

/** Pull the origin's ref and deploy it when it differs from the current deployment. */
export async function upgrade(sysroot: Sysroot, options: UpgradeOptions = {}): Promise<UpgradeResult> {
  return locked(sysroot, async () => {
    const merge = mergeOf(sysroot, options.stateroot);
    const refspec = originRefspec(sysroot, merge);
    const to = await fetchRefspec(sysroot, refspec, { commitMetadataOnly: options.check, onProgress: options.onProgress });
    const available = to !== merge.csum;
    const res: UpgradeResult = { refspec, from: merge.csum, to, available, deployed: null };
    if (!available || options.check) return res;
    if (options.preview) {
      res.packages = await packageDiff(sysroot, merge.csum, to);
      return res;
    }
    if (options.downloadOnly) return res;
    res.deployed = await deployCommit(sysroot, { stateroot: merge.stateroot, commit: to, origin: merge.origin ?? refspec, retain: RETAIN.rollback });
    return res;
  });
}

/** Switch the stateroot's tree to another ref, keeping /etc changes and /var. */
export async function rebase(sysroot: Sysroot, refspec: string, options: { stateroot?: string; retain?: Retain; onProgress?: ProgressListener } = {}): Promise<DeployResult> {
  return locked(sysroot, async () => {
    const merge = mergeOf(sysroot, options.stateroot);
    const to = await fetchRefspec(sysroot, refspec, { onProgress: options.onProgress });
    return deployCommit(sysroot, { stateroot: merge.stateroot, commit: to, origin: refspec, retain: options.retain ?? RETAIN.rollback });
  });
}

/** Deploy a commit from the origin ref's history, chosen by `version` metadata or checksum (prefix). */
export async function deployVersion(sysroot: Sysroot, wanted: string, options: { stateroot?: string; onProgress?: ProgressListener } = {}): Promise<DeployResult> {
  return locked(sysroot, async () => {
    const merge = mergeOf(sysroot, options.stateroot);
    const refspec = originRefspec(sysroot, merge);
    const repo = await sysroot.repo();
    const { remote } = splitRefspec(refspec);
    const tip = remote ? await fetchRefspec(sysroot, refspec, { commitMetadataOnly: true, depth: -1 }) : await repo.resolveRev(refspec, true);
    if (!tip) throw new NotFoundError(`ref '${refspec}' not found in ${repo.path}`);
    let found: string | null = null;
    const seenVersions: string[] = [];
    for (let c: string | null = tip; c && (await repo.hasObject(c, 'commit')); c = (await repo.readCommit(c)).parent) {
      const v = await commitVersion(repo, c);
      if (v?.version) seenVersions.push(v.version);
      if (v?.version === wanted || c === wanted || (/^[0-9a-f]{6,63}$/.test(wanted) && c.startsWith(wanted))) {
        found = c;
        break;
      }
    }
    if (!found) {
      throw new NotFoundError(`version '${wanted}' is not in the history of ${refspec}${seenVersions.length ? ` (known: ${seenVersions.slice(0, 10).join(', ')})` : ''}`);
    }
    if (remote && !isChecksum(wanted)) await pull(repo, remote, [found], { onProgress: options.onProgress }).catch(() => undefined);
    return deployCommit(sysroot, { stateroot: merge.stateroot, commit: found, origin: originFor(refspec), retain: RETAIN.rollback });
  });
}

/** Deploy a ref or commit like `ostree admin deploy`. */
export async function adminDeploy(sysroot: Sysroot, rev: string, options: {
  stateroot?: string; kargs?: string[]; kargsAppend?: string[]; retain?: Retain; notAsDefault?: boolean; origin?: string; onProgress?: ProgressListener;
}): Promise<DeployResult> {
  return locked(sysroot, async () => {
    const os = options.stateroot ?? sysroot.defaultStateroot();
    if (!os) throw new UsageError('--os STATEROOT is required for the first deployment');
    const repo = await sysroot.repo();
    const commit = await repo.resolveRev(rev, true);
    if (!commit) throw new NotFoundError(`ref '${rev}' not found in ${repo.path}`);
    return deployCommit(sysroot, {
      stateroot: os, commit, origin: options.origin ?? rev, kargs: options.kargs, kargsAppend: options.kargsAppend,
      retain: options.retain, notAsDefault: options.notAsDefault, onProgress: options.onProgress,
    });
  });
}

/** What `status --json` reports for one deployment. */
export interface DeploymentStatus {
  index: number;
  stateroot: string;
  checksum: string;
  serial: number;
  id: string;
  origin: string | null;
  originError?: string;
  version: string | null;
  timestamp: number | null;
  booted: boolean;
  default: boolean;
  pinned: boolean;
  rollback: boolean;
  missing: boolean;
  kargs: string[];
  etcConflicts: string[];
}

export async function statusOf(sysroot: Sysroot): Promise<DeploymentStatus[]> {
  const repo = await sysroot.repo();
  const rb = sysroot.deployments.length ? rollbackTarget(sysroot) : null;
  const out: DeploymentStatus[] = [];
  for (const d of sysroot.deployments) {
    const v = await commitVersion(repo, d.csum);
    let refspec: string | null = null;
    try {
      refspec = originRefspec(sysroot, d);
    } catch {
      refspec = null;
    }
    const conflicts = (d.origin?.get('fedostree', 'etc-conflicts') ?? '').split(';').filter(Boolean);
    out.push({
      index: d.index, stateroot: d.stateroot, checksum: d.csum, serial: d.serial, id: deployDirName(d), origin: refspec,
      ...(d.originError ? { originError: d.originError } : {}),
      version: v?.version || null, timestamp: v ? Number(v.timestamp) : null, booted: d.booted, default: d.index === 0,
      pinned: d.pinned, rollback: d === rb, missing: d.missing, kargs: d.kargs, etcConflicts: conflicts,
    });
  }
  return out;
}
