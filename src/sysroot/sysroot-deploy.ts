/**
 * Deploy a commit: pre-flight (kernel, free space), hardlink checkout into
 * `ostree/deploy/OS/deploy/CSUM.SERIAL`, /etc merge, origin file, kernel into /boot, then the new
 * deployment list written atomically (see sysroot-write.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FedostreeError, NotFoundError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import type { ProgressListener } from '../util/progress.ts';
import { KeyFile, checkout, commitPartialPath, decodeDirTree, listTree, lookupPath, S_IFMT, S_IFREG, type OstreeRepo, type TreeEntry } from '../ostree/index.ts';
import { copyTree, mergeEtc, type EtcMergeResult } from './etc-merge.ts';
import { deployCheckout } from './_deploy-checkout.ts';
import { deployDirName, validateStateroot, type Deployment, type Sysroot } from './sysroot.ts';
import {
  devOf, ensureBootDir, syncFs, freeBytes, osReleaseTitle, planFrom, removeDeployDir, writeDeployments, type PlannedDeployment, type WriteResult,
} from './sysroot-write.ts';
import { lexists as exists } from '../util/fs.ts';

const run = promisify(execFile);

/** Which old deployments stay beside the new one. */
export const RETAIN = {
  /** Like `ostree admin deploy`: booted, merge, pinned and other stateroots' deployments. */
  ostree: 'ostree',
  /** Like the everyday client: also keep the previous default (rollback). */
  rollback: 'rollback',
  /** Keep everything. */
  all: 'all',
} as const;
export type Retain = (typeof RETAIN)[keyof typeof RETAIN];

export interface DeployOptions {
  stateroot: string;
  /** Commit checksum to deploy. */
  commit: string;
  /** The origin: a refspec (`remote:ref` or `ref`) or a full origin key file. */
  origin: string | KeyFile;
  /** Replace the kernel arguments (default: those of the merge deployment). */
  kargs?: string[];
  /** Append to the kernel arguments. */
  kargsAppend?: string[];
  retain?: Retain;
  /** Add the deployment after the default instead of making it the default. */
  notAsDefault?: boolean;
  /** Prune the repository after cleanup. */
  prune?: boolean;
  onProgress?: ProgressListener;
}

export interface DeployResult {
  stateroot: string;
  commit: string;
  serial: number;
  path: string;
  etc: EtcMergeResult | null;
  write: WriteResult;
}

interface KernelInfo {
  kver: string;
  vmlinuzPath: string;
  initramfsPath?: string;
  size: number;
}

/** Find usr/lib/modules/KVER/vmlinuz (+ initramfs.img) in a commit, before anything is written. */
async function findKernel(repo: OstreeRepo, commit: string): Promise<KernelInfo> {
  const c = await repo.readCommit(commit);
  let modules: TreeEntry;
  try {
    modules = await lookupPath(repo, c.rootTree, c.rootMeta, 'usr/lib/modules');
  } catch {
    throw new NotFoundError(`commit ${commit} has no usr/lib/modules: it is not a bootable tree (no kernel)`);
  }
  if (modules.kind !== 'dir') throw new NotFoundError(`commit ${commit}: usr/lib/modules is not a directory`);
  // One level at a time: a kernel's module tree holds thousands of files we do not need to read.
  const top = decodeDirTree(await repo.loadMetadata('dirtree', modules.tree), `dirtree ${modules.tree}`);
  for (const d of top.dirs) {
    const sub = decodeDirTree(await repo.loadMetadata('dirtree', d.tree), `dirtree ${d.tree}`);
    const files = new Map(sub.files.map((f) => [f.name, f.checksum]));
    const vm = files.get('vmlinuz');
    if (!vm) continue;
    const h = await repo.readFileHeader(vm);
    if ((h.header.mode & S_IFMT) !== S_IFREG) continue;
    let size = h.size;
    let initramfsPath: string | undefined;
    for (const name of ['initramfs.img', 'initramfs']) {
      const ic = files.get(name);
      if (!ic) continue;
      const ih = await repo.readFileHeader(ic);
      if ((ih.header.mode & S_IFMT) !== S_IFREG) continue;
      size += ih.size;
      initramfsPath = `usr/lib/modules/${d.name}/${name}`;
      break;
    }
    return { kver: d.name, vmlinuzPath: `usr/lib/modules/${d.name}/vmlinuz`, initramfsPath, size };
  }
  throw new NotFoundError(`commit ${commit} has no kernel: expected usr/lib/modules/KVER/vmlinuz`);
}

/** Sizes of the files under usr/etc of a commit (for the /etc copy). */
async function etcSize(repo: OstreeRepo, commit: string): Promise<{ bytes: number; entries: number; hasUsrEtc: boolean; hasEtc: boolean }> {
  const c = await repo.readCommit(commit);
  const probe = async (p: string): Promise<TreeEntry | null> => lookupPath(repo, c.rootTree, c.rootMeta, p).catch(() => null);
  const usrEtc = await probe('usr/etc');
  const etc = await probe('etc');
  const src = usrEtc ?? etc;
  if (!src || src.kind !== 'dir') return { bytes: 0, entries: 0, hasUsrEtc: !!usrEtc, hasEtc: !!etc };
  const entries = await listTree(repo, src.tree, src.meta);
  const sums = entries.flatMap((e) => (e.kind === 'file' ? [e.checksum] : []));
  const headers = await repo.readFileHeaders(sums);
  let bytes = 0;
  for (const s of sums) bytes += headers.get(s)?.size ?? 0;
  return { bytes, entries: entries.length, hasUsrEtc: !!usrEtc, hasEtc: !!etc };
}

async function sha256Files(paths: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

/** Origin key file for a refspec. */
export function originFor(refspec: string): KeyFile {
  return KeyFile.parse(`[origin]\nrefspec=${refspec}\n`, 'origin');
}

/** The refspec of a deployment's origin, with a clear error for a corrupt or missing origin. */
export function originRefspec(sysroot: Sysroot, d: Deployment): string {
  if (!d.origin) throw new FedostreeError('EORIGIN', `deployment ${d.stateroot} ${deployDirName(d)}: cannot read its origin file ${sysroot.originPath(d)}: ${d.originError ?? 'missing'}`);
  const r = d.origin.get('origin', 'refspec') ?? d.origin.get('origin', 'baserefspec');
  if (!r) throw new FedostreeError('EORIGIN', `${sysroot.originPath(d)}: no 'refspec' key in group [origin]`);
  return r;
}

/**
 * Deploy `commit` into `stateroot`. The caller holds the sysroot lock and has loaded the sysroot.
 * Nothing becomes visible to the boot loader until the final rename in writeDeployments.
 */
export async function deployCommit(sysroot: Sysroot, opts: DeployOptions): Promise<DeployResult> {
  validateStateroot(opts.stateroot);
  const repo = await sysroot.repo();
  const os = opts.stateroot;
  if (!(await exists(join(sysroot.path, 'ostree/deploy', os, 'var')))) {
    throw new NotFoundError(`stateroot '${os}' does not exist in ${sysroot.path} (run 'fedostree admin os-init ${os}')`);
  }
  if (!(await repo.hasObject(opts.commit, 'commit'))) throw new NotFoundError(`commit ${opts.commit} is not in ${repo.path}`);
  if (await exists(commitPartialPath(repo, opts.commit))) throw new NotFoundError(`commit ${opts.commit} is only partially downloaded; pull it first`);
  const merge = sysroot.mergeDeployment(os);
  if (merge?.missing) {
    throw new FedostreeError('EDEPLOYMENT', `deployment ${os} ${deployDirName(merge)} (index ${merge.index}) has no directory ${sysroot.deployDir(merge)}; remove it with 'fedostree admin undeploy ${merge.index}'`);
  }
  // ---- pre-flight: nothing has been written yet
  const kernel = await findKernel(repo, opts.commit);
  const etc = await etcSize(repo, opts.commit);
  if (etc.hasEtc && etc.hasUsrEtc) throw new FedostreeError('ETREE', `commit ${opts.commit} contains both /etc and /usr/etc`);
  const deployParent = join(sysroot.path, 'ostree/deploy', os, 'deploy');
  const stateDir = join(sysroot.path, 'ostree/deploy', os);
  const bootDir = join(sysroot.path, 'boot');
  const sameFs = (await devOf(bootDir)) === (await devOf(stateDir));
  const needRoot = etc.bytes + (etc.entries + 64) * 4096 + (sameFs ? 0 : 0) + (1 << 20);
  const needBoot = (sameFs ? 0 : kernel.size) + (64 << 10);
  const freeRoot = await freeBytes(stateDir);
  if (freeRoot < needRoot) throw new FedostreeError('ENOSPC', `not enough free space in ${stateDir}: need ${needRoot} bytes, ${freeRoot} available`, { need: needRoot, free: freeRoot });
  const freeBoot = await freeBytes(bootDir);
  if (freeBoot < needBoot) throw new FedostreeError('ENOSPC', `not enough free space in ${bootDir}: need ${needBoot} bytes for the kernel and boot entries, ${freeBoot} available`, { need: needBoot, free: freeBoot });

  // ---- checkout
  const serial = Math.max(-1, ...sysroot.deployments.filter((d) => d.stateroot === os && d.csum === opts.commit).map((d) => d.serial)) + 1;
  const ident = { stateroot: os, csum: opts.commit, serial };
  const dir = sysroot.deployDir(ident);
  await removeDeployDir(dir); // leftover of an interrupted deploy
  await mkdir(deployParent, { recursive: true });
  if (repo.mode === 'bare' && process.getuid?.() === 0) await deployCheckout(repo, opts.commit, dir);
  else await checkout(repo, opts.commit, dir, { hardlinks: 'auto', onProgress: opts.onProgress });
  if (etc.hasEtc && !etc.hasUsrEtc) await rename(join(dir, 'etc'), join(dir, 'usr/etc'));

  // ---- /etc: copy of usr/etc, then the merge deployment's local changes
  let etcResult: EtcMergeResult | null = null;
  if (await exists(join(dir, 'usr/etc'))) {
    await copyTree(join(dir, 'usr/etc'), join(dir, 'etc'));
    if (merge) etcResult = await mergeEtc(sysroot.deployDir(merge), dir);
  }

  // ---- origin
  const origin = typeof opts.origin === 'string' ? originFor(opts.origin) : KeyFile.parse(opts.origin.toString(), 'origin');
  let originText = origin.toString();
  if (etcResult?.conflicts.length) originText += `\n[fedostree]\netc-conflicts=${etcResult.conflicts.join(';')};\n`;
  await writeFileAtomic(sysroot.originPath(ident), originText);

  // ---- /var stamp, immutable bit
  const stamp = join(sysroot.path, 'ostree/deploy', os, 'var/.ostree-selabeled');
  if (!(await exists(stamp))) await writeFile(stamp, '');
  await run('chattr', ['+i', dir]).catch(() => undefined);
  await syncFs(dir);

  // ---- kernel
  const bootcsum = await sha256Files([join(dir, kernel.vmlinuzPath), ...(kernel.initramfsPath ? [join(dir, kernel.initramfsPath)] : [])]);
  const bootRel = `/ostree/${os}-${bootcsum}`;
  let kargs = opts.kargs ?? merge?.kargs ?? [];
  if (opts.kargsAppend) kargs = [...kargs, ...opts.kargsAppend];
  const planned: PlannedDeployment = {
    stateroot: os, csum: opts.commit, serial, bootcsum, kargs,
    linux: `${bootRel}/vmlinuz-${kernel.kver}`, initrd: kernel.initramfsPath ? `${bootRel}/initramfs-${kernel.kver}.img` : undefined,
    titleBase: await osReleaseTitle(dir, os),
  };
  await ensureBootDir(sysroot, planned, {
    vmlinuz: join(dir, kernel.vmlinuzPath), initramfs: kernel.initramfsPath ? join(dir, kernel.initramfsPath) : undefined, kver: kernel.kver,
  });

  // ---- the new list
  const retain = opts.retain ?? RETAIN.ostree;
  const prevDefault = sysroot.deployments.find((d) => d.stateroot === os) ?? null;
  const keep = sysroot.deployments.filter((d) => {
    if (retain === RETAIN.all || d.pinned || d.stateroot !== os || d.booted || d === merge) return true;
    return retain === RETAIN.rollback && d === prevDefault;
  });
  const list = keep.map(planFrom);
  if (opts.notAsDefault) list.splice(Math.min(1, list.length), 0, planned);
  else list.unshift(planned);
  const write = await writeDeployments(sysroot, list, { prune: opts.prune });
  return { stateroot: os, commit: opts.commit, serial, path: dir, etc: etcResult, write };
}

/** The deployment at `index`, or a clear error. */
export function requireDeployment(sysroot: Sysroot, index: number): Deployment {
  const d = sysroot.deployments[index];
  if (!Number.isInteger(index) || !d) throw new NotFoundError(`no deployment with index ${index} (there are ${sysroot.deployments.length})`);
  return d;
}
