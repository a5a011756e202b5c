/**
 * Writing a new deployment list: boot entries in `boot/loader.(1-B)/entries`, the `ostree/boot.B.S`
 * symlink farm, the `ostree/B/S/I` refs that keep commits alive, then one rename (the commit point),
 * then cleanup of everything the new list no longer references.
 */
import { execFile } from 'node:child_process';
import { link, copyFile, mkdir, open, readFile, readdir, readlink, rename, rm, symlink, statfs, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FedostreeError } from '../util/errors.ts';
import { fsyncDir, tempPathFor, writeFileAtomic } from '../util/atomic.ts';
import { prune, type PruneResult } from '../ostree/index.ts';
import { formatBls } from './bls.ts';
import { deployDirName, type Deployment, type Sysroot } from './sysroot.ts';
import { lexists as exists } from '../util/fs.ts';

const run = promisify(execFile);

/** A deployment in a list about to be written. */
export interface PlannedDeployment {
  stateroot: string;
  csum: string;
  serial: number;
  bootcsum: string;
  kargs: string[];
  /** `linux` and `initrd` lines, relative to the boot partition. */
  linux: string;
  initrd?: string;
  /** Title without the " (ostree:…)" suffix (os-release PRETTY_NAME). */
  titleBase: string;
}

export function planFrom(d: Deployment): PlannedDeployment {
  return {
    stateroot: d.stateroot, csum: d.csum, serial: d.serial, bootcsum: d.bootcsum, kargs: [...d.kargs],
    linux: d.entry.linux, initrd: d.entry.initrd, titleBase: d.entry.title.replace(/ \(ostree[^)]*\)$/, ''),
  };
}

/** Replace symlink `path` so it points at `target`, atomically (temp link + rename). */
export async function swapSymlink(path: string, target: string): Promise<void> {
  const tmp = tempPathFor(path);
  await symlink(target, tmp);
  await rename(tmp, path);
  await fsyncDir(join(path, '..'));
}

/** Remove a deployment directory (clearing the immutable attribute first). */
export async function removeDeployDir(dir: string): Promise<void> {
  if (!(await exists(dir))) return;
  await run('chattr', ['-i', dir]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

/** Flush the whole filesystem holding `path` (after a checkout of many hardlinks). */
export async function syncFs(path: string): Promise<void> {
  await run('sync', ['-f', path]).catch(() => run('sync'));
}

/** Bytes available (f_bavail) on the filesystem holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return Number(s.bavail) * Number(s.bsize);
}

/**
 * Make sure `boot/ostree/OS-BOOTCSUM/` holds the kernel and initramfs of a deployment
 * (hardlinked when /boot is on the same filesystem, copied otherwise), built under a temp name.
 */
export async function ensureBootDir(sysroot: Sysroot, p: PlannedDeployment, kernel: { vmlinuz: string; initramfs?: string; kver: string }): Promise<void> {
  const dir = join(sysroot.path, 'boot/ostree', `${p.stateroot}-${p.bootcsum}`);
  if (await exists(dir)) return;
  await mkdir(join(sysroot.path, 'boot/ostree'), { recursive: true });
  const tmp = tempPathFor(dir);
  await mkdir(tmp);
  const place = async (src: string, name: string): Promise<void> => {
    const dest = join(tmp, name);
    try {
      await link(src, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      await copyFile(src, dest);
      const fh = await open(dest, 'r');
      await fh.sync();
      await fh.close();
    }
  };
  try {
    await place(kernel.vmlinuz, `vmlinuz-${kernel.kver}`);
    if (kernel.initramfs) await place(kernel.initramfs, `initramfs-${kernel.kver}.img`);
    await fsyncDir(tmp);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new FedostreeError('ENOSPC', `not enough space in ${join(sysroot.path, 'boot')} for the kernel of ${p.csum}`, { path: dir });
    throw err;
  }
  await fsyncDir(join(sysroot.path, 'boot/ostree'));
}

export interface WriteResult {
  bootversion: number;
  subbootversion: number;
  swappedBootversion: boolean;
  removedDeployments: string[];
  prune?: PruneResult;
}

function sameBootConfig(a: readonly Deployment[], b: readonly PlannedDeployment[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((d, i) => d.stateroot === b[i].stateroot && d.bootcsum === b[i].bootcsum && d.kargs.join(' ') === b[i].kargs.join(' '));
}

/**
 * Write `list` as the new deployment list of `sysroot` (index 0 = default), atomically, then clean up.
 * The caller holds the sysroot lock and has created every deployment directory and boot dir.
 */
export async function writeDeployments(sysroot: Sysroot, list: PlannedDeployment[], options: { prune?: boolean } = {}): Promise<WriteResult> {
  const repo = await sysroot.repo();
  const oldB = sysroot.bootversion;
  const oldS = sysroot.subbootversion;
  const hadLoader = await exists(join(sysroot.path, 'boot/loader'));
  const swapB = !hadLoader || !sameBootConfig(sysroot.deployments, list);
  const newB = swapB ? 1 - oldB : oldB;
  let newS: number;
  if (swapB) {
    const cur = await readlink(join(sysroot.path, `ostree/boot.${newB}`)).catch(() => null);
    const m = cur ? /^boot\.[01]\.([01])$/.exec(cur) : null;
    newS = m && m[1] === '1' ? 0 : 1;
  } else newS = 1 - oldS;

  // Bootserials: numbered per bootcsum in list order.
  const counters = new Map<string, number>();
  const bootserials = list.map((d) => {
    const n = counters.get(d.bootcsum) ?? 0;
    counters.set(d.bootcsum, n + 1);
    return n;
  });

  // 1. the symlink farm ostree/boot.NB.NS
  const farm = join(sysroot.path, `ostree/boot.${newB}.${newS}`);
  await rm(farm, { recursive: true, force: true });
  const farmDirs = new Set<string>([farm]);
  for (const [i, d] of list.entries()) {
    const dir = join(farm, d.stateroot, d.bootcsum);
    await mkdir(dir, { recursive: true });
    await symlink(`../../../deploy/${d.stateroot}/deploy/${deployDirName(d)}`, join(dir, String(bootserials[i])));
    farmDirs.add(join(farm, d.stateroot)).add(dir);
  }
  await mkdir(farm, { recursive: true });
  for (const d of farmDirs) await fsyncDir(d);

  // 2. refs that keep deployed commits alive
  for (const [i, d] of list.entries()) await repo.setRef(`ostree/${newB}/${newS}/${i}`, d.csum);

  // 3. boot entries
  if (swapB) {
    const loaderDir = join(sysroot.path, `boot/loader.${newB}`);
    await rm(loaderDir, { recursive: true, force: true });
    await mkdir(join(loaderDir, 'entries'), { recursive: true });
    const multi = new Set(list.map((d) => d.stateroot)).size > 1;
    for (const [i, d] of list.entries()) {
      const k = list.length - i;
      const options = [...d.kargs, `ostree=/ostree/boot.${newB}/${d.stateroot}/${d.bootcsum}/${bootserials[i]}`].join(' ');
      const text = formatBls({
        title: `${d.titleBase} (ostree:${multi ? `${d.stateroot}:` : ''}${i})`, version: String(k), options, linux: d.linux, initrd: d.initrd, extra: [],
      });
      await writeFileAtomic(join(loaderDir, 'entries', `ostree-${k}-${d.stateroot}.conf`), text);
    }
    await fsyncDir(loaderDir);
    if (!(await exists(join(sysroot.path, 'boot/boot')))) await symlink('.', join(sysroot.path, 'boot/boot')).catch(() => undefined);
    await fsyncDir(join(sysroot.path, 'boot'));
  }
  await fsyncDir(join(sysroot.path, 'ostree'));

  // 4. the commit point: one rename
  await swapSymlink(join(sysroot.path, `ostree/boot.${newB}`), `boot.${newB}.${newS}`);
  if (swapB) await swapSymlink(join(sysroot.path, 'boot/loader'), `loader.${newB}`);

  const result: WriteResult = { bootversion: newB, subbootversion: newS, swappedBootversion: swapB, removedDeployments: [] };
  await sysroot.load();
  result.removedDeployments = await cleanupSysroot(sysroot);
  if (options.prune) result.prune = await prune(repo, { refsOnly: true });
  return result;
}

/**
 * Remove what the current deployment list does not reference: old loader dirs and farms, old
 * deployment refs, deployment directories and origins, unused boot dirs. Safe at any point.
 */
export async function cleanupSysroot(sysroot: Sysroot): Promise<string[]> {
  const B = sysroot.bootversion;
  const S = sysroot.subbootversion;
  const hasLoader = await exists(join(sysroot.path, 'boot/loader'));
  if (hasLoader) await rm(join(sysroot.path, `boot/loader.${1 - B}`), { recursive: true, force: true });
  await rm(join(sysroot.path, 'boot/loader.tmp'), { force: true });
  for (const n of await readdir(join(sysroot.path, 'boot')).catch(() => [] as string[])) {
    if (n.startsWith('.tmp-loader')) await rm(join(sysroot.path, 'boot', n), { force: true });
  }
  for (const n of await readdir(join(sysroot.path, 'ostree'))) {
    const full = join(sysroot.path, 'ostree', n);
    if (n.startsWith('.tmp-boot.')) await rm(full, { force: true });
    else if (/^boot\.[01]$/.test(n) && n !== `boot.${B}` && hasLoader) await rm(full, { force: true });
    else if (/^boot\.[01]\.[01]$/.test(n) && n !== `boot.${B}.${S}`) await rm(full, { recursive: true, force: true });
  }
  // refs
  const repo = await sysroot.repo();
  const keep = new Set(sysroot.deployments.map((_d, i) => `ostree/${B}/${S}/${i}`));
  for (const ref of (await repo.listRefs('ostree')).keys()) if (!keep.has(ref) && /^ostree\/[01]\/[01]\/\d+$/.test(ref)) await repo.setRef(ref, null);
  // deployment dirs
  const removed: string[] = [];
  const listed = new Set(sysroot.deployments.map((d) => `${d.stateroot}/${deployDirName(d)}`));
  for (const os of await sysroot.stateroots()) {
    const dir = join(sysroot.path, 'ostree/deploy', os, 'deploy');
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const base = n.endsWith('.origin') ? n.slice(0, -'.origin'.length) : n;
      if (listed.has(`${os}/${base}`)) continue;
      if (!/^[0-9a-f]{64}\.\d+$/.test(base) && !n.startsWith('.tmp-')) continue;
      if (n.endsWith('.origin')) await rm(join(dir, n), { force: true });
      else {
        await removeDeployDir(join(dir, n));
        if (!n.startsWith('.tmp-')) removed.push(`${os}/${n}`);
      }
    }
  }
  // boot dirs
  const bootKeep = new Set(sysroot.deployments.map((d) => `${d.stateroot}-${d.bootcsum}`));
  const bootOstree = join(sysroot.path, 'boot/ostree');
  for (const n of await readdir(bootOstree).catch(() => [] as string[])) {
    if (!bootKeep.has(n)) await rm(join(bootOstree, n), { recursive: true, force: true });
  }
  return removed;
}

/** Read PRETTY_NAME (else ID) from a deployment's os-release. */
export async function osReleaseTitle(deployDir: string, fallback: string): Promise<string> {
  for (const p of ['etc/os-release', 'usr/lib/os-release']) {
    const text = await readFile(join(deployDir, p), 'utf8').catch(() => null);
    if (text === null) continue;
    const vals = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) vals.set(m[1], m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
    }
    return vals.get('PRETTY_NAME') ?? vals.get('ID') ?? fallback;
  }
  return fallback;
}

/** Device number of a path (to know whether /boot shares the deployment filesystem). */
export async function devOf(path: string): Promise<number> {
  return (await stat(path)).dev;
}
