/**
 * Raw GPT disk images holding a deployed sysroot: partition 1 = /boot (ext4, label fedostree-boot),
 * partition 2 = the physical root (ext4, label fedostree-root). Built without loop devices: the sysroot
 * is assembled in a staging directory with the sysroot layer, `sfdisk` writes the table into a sparse
 * file and `mkfs.ext4 -d DIR -E offset=N` populates each partition in place.
 * Offline updates (`updateImage`) loop-mount the partitions and deploy into them.
 */
import { mkdtemp, mkdir, readdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { OstreeRepo, addRemote, pullLocal } from '../ostree/index.ts';
import { Sysroot, adminDeploy, initFs, osInit, parseBls, type BlsEntry } from '../sysroot/index.ts';
import { FedostreeError, NotFoundError, UsageError, withContext } from '../util/errors.ts';
import { fsyncDir } from '../util/atomic.ts';
import { run } from './tools.ts';

export const BOOT_LABEL = 'fedostree-boot';
export const ROOT_LABEL = 'fedostree-root';
export const ESP_LABEL = 'fedostree-esp';
const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX_TYPE = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
const MiB = 1024 * 1024;
const ALIGN = MiB;

export interface ImageOptions {
  /** Source repository (any mode) holding REF. */
  repo: string;
  ref: string;
  output: string;
  /** Total size in MiB (default: tree size × 2 + 1 GiB headroom for upgrades). */
  sizeMiB?: number;
  /** Extra kernel arguments. */
  kargs?: string[];
  stateroot?: string;
  /** Remote recorded in the image's repository and origin, so the guest can `fedostree upgrade`. */
  remote?: { name: string; url: string; noGpgVerify?: boolean; signVerify?: string[] };
  /**
   * Test agent: a root shell on the second serial port (ttyS1), added as a unit in the deployment's
   * /etc (so /etc merges keep it across upgrades). For test images only.
   */
  agent?: boolean;
  /** `uefi`: add an EFI system partition with systemd-boot and the BLS entries (see syncEsp). */
  boot?: 'direct' | 'uefi';
  log?: (s: string) => void;
}

export interface Partition { index: number; start: number; size: number; label: string }
export interface ImageResult { output: string; commit: string; partitions: Partition[]; timings: Record<string, number> }

async function duBytes(dir: string): Promise<number> {
  const r = await run('du', ['-sb', '--apparent-size', dir]);
  return Number(r.stdout.split('\t')[0]);
}

const AGENT_UNIT = `[Unit]
Description=fedostree test agent (root shell on ttyS1)
After=systemd-user-sessions.service
ConditionPathExists=/dev/ttyS1

[Service]
ExecStart=/bin/sh -c 'stty -echo -onlcr; exec /bin/sh -i'
StandardInput=tty-force
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS1
TTYReset=yes
Restart=always
# An interactive shell ignores SIGTERM; without this each poweroff waits 90 s for it.
KillSignal=SIGKILL
Environment=PS1= TERM=dumb

[Install]
WantedBy=multi-user.target
`;

/** Things written into a fresh deployment's /etc: the fstab for /boot, and the optional agent. */
async function customiseEtc(deployPath: string, agent: boolean): Promise<void> {
  const etc = join(deployPath, 'etc');
  await writeFile(join(etc, 'fstab'), `LABEL=${BOOT_LABEL} /boot ext4 defaults 0 2\n`);
  if (agent) {
    await writeFile(join(etc, 'systemd/system/fedostree-agent.service'), AGENT_UNIT);
    await mkdir(join(etc, 'systemd/system/multi-user.target.wants'), { recursive: true });
    await rm(join(etc, 'systemd/system/multi-user.target.wants/fedostree-agent.service'), { force: true });
    const { symlink } = await import('node:fs/promises');
    await symlink('../fedostree-agent.service', join(etc, 'systemd/system/multi-user.target.wants/fedostree-agent.service'));
  }
}

/** Make every deploy dir mutable again so a staging tree can be removed. */
async function unfreeze(sysroot: string): Promise<void> {
  const base = join(sysroot, 'ostree/deploy');
  for (const os of await readdir(base).catch(() => [] as string[])) {
    const d = join(base, os, 'deploy');
    for (const e of await readdir(d).catch(() => [] as string[])) {
      if (!e.endsWith('.origin')) await run('chattr', ['-i', join(d, e)]).catch(() => undefined);
    }
  }
}

export async function createImage(o: ImageOptions): Promise<ImageResult> {
  const log = o.log ?? (() => undefined);
  const timings: Record<string, number> = {};
  let t = Date.now();
  const lap = (k: string): void => {
    timings[k] = Date.now() - t;
    t = Date.now();
  };
  const src = await OstreeRepo.open(o.repo).catch((e: unknown) => withContext(`--repo ${o.repo}`, e));
  const commit = await src.resolveRev(o.ref, true);
  if (!commit) throw new NotFoundError(`ref '${o.ref}' not found in ${o.repo}`);
  const stateroot = o.stateroot ?? 'fedostree';
  const outDir = dirname(o.output);
  await mkdir(outDir, { recursive: true });
  const staging = await mkdtemp(join(outDir, `.${basename(o.output)}-staging-`));
  const sys = join(staging, 'root');
  const tmpImage = join(staging, 'disk.img');
  try {
    log(`staging sysroot in ${sys}`);
    await initFs(sys);
    const repo = await OstreeRepo.open(join(sys, 'ostree/repo'));
    // REF^ (an older commit of the branch) is pulled by checksum; the origin names the branch.
    const branch = o.ref.replace(/\^+$/, '');
    let origin = branch;
    if (o.remote) {
      await addRemote(repo, o.remote.name, o.remote.url, { noGpgVerify: o.remote.noGpgVerify, signVerify: o.remote.signVerify });
      origin = `${o.remote.name}:${branch}`;
    }
    await pullLocal(await OstreeRepo.open(join(sys, 'ostree/repo')), o.repo, [branch === o.ref ? o.ref : commit], { remote: o.remote?.name });
    lap('pull');
    await osInit(sys, stateroot);
    const s = await Sysroot.open(sys);
    const kargs = [`root=LABEL=${ROOT_LABEL}`, 'rw', 'console=ttyS0', 'panic=-1', ...(o.kargs ?? [])];
    const r = await adminDeploy(s, commit, { stateroot, kargs, origin });
    await customiseEtc(r.path, o.agent ?? false);
    lap('deploy');

    // Split /boot off into its own tree; the root keeps an empty /boot as the mount point.
    const bootTree = join(staging, 'boot');
    await mkdir(bootTree);
    for (const e of await readdir(join(sys, 'boot'))) await rename(join(sys, 'boot', e), join(bootTree, e));
    const bootBytes = await duBytes(bootTree);
    const rootBytes = await duBytes(sys);
    const bootMiB = Math.max(256, Math.ceil((bootBytes * 4) / MiB) + 64);
    let rootMiB = Math.ceil((rootBytes * 2) / MiB) + 1024;
    if (o.sizeMiB !== undefined) {
      rootMiB = o.sizeMiB - bootMiB - 2;
      const need = Math.ceil((rootBytes * 1.3) / MiB) + 64;
      if (rootMiB < need) throw new UsageError(`--size ${o.sizeMiB} MiB is too small for ${o.ref}: need at least ${need + bootMiB + 2} MiB`);
    }
    const parts: Partition[] = [
      { index: 1, start: ALIGN, size: bootMiB * MiB, label: BOOT_LABEL },
      { index: 2, start: ALIGN + bootMiB * MiB, size: rootMiB * MiB, label: ROOT_LABEL },
    ];
    const espMiB = bootMiB;
    if (o.boot === 'uefi') parts.push({ index: 3, start: ALIGN + (bootMiB + rootMiB) * MiB, size: espMiB * MiB, label: ESP_LABEL });
    const total = ALIGN + (bootMiB + rootMiB + (o.boot === 'uefi' ? espMiB : 0) + 1) * MiB;
    const fh = await open(tmpImage, 'w');
    await fh.truncate(total);
    await fh.close();
    const script = ['label: gpt', ...parts.map((p) => `start=${p.start / 512}, size=${p.size / 512}, type=${p.label === ESP_LABEL ? ESP_TYPE : LINUX_TYPE}, name="${p.label}"`)].join('\n') + '\n';
    await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', tmpImage], { input: script, context: 'partitioning' });
    lap('partition');
    await Promise.all([
      run('mkfs.ext4', ['-q', '-F', '-L', BOOT_LABEL, '-d', bootTree, '-E', `offset=${parts[0].start},lazy_itable_init=0,lazy_journal_init=0`, tmpImage, `${parts[0].size / 1024}k`], { context: 'making /boot' }),
      run('mkfs.ext4', ['-q', '-F', '-L', ROOT_LABEL, '-d', sys, '-E', `offset=${parts[1].start},lazy_itable_init=0,lazy_journal_init=0`, tmpImage, `${parts[1].size / 1024}k`], { context: 'making the root filesystem' }),
    ]);
    if (o.boot === 'uefi') {
      await run('mformat', ['-i', `${tmpImage}@@${parts[2].start}`, '-F', '-T', String(parts[2].size / 512), '-v', 'ESP', '::'], { context: 'making the EFI system partition' });
      await syncEsp(tmpImage, bootTree);
    }
    lap('mkfs');
    const f = await open(tmpImage, 'r+');
    await f.sync();
    await f.close();
    await rename(tmpImage, o.output);
    await fsyncDir(outDir);
    return { output: o.output, commit, partitions: parts, timings };
  } finally {
    await unfreeze(sys);
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Make the EFI system partition mirror the boot partition for systemd-boot: its binary as the
 * removable-media loader, `loader/entries/*.conf` from the current `loader` link, and the kernels and
 * initramfs images they name (FAT has no symlinks, so the entries are copied, not linked). The
 * boot loader then picks the default entry itself. No-op for images without an ESP.
 */
export async function syncEsp(image: string, bootDir: string): Promise<boolean> {
  const parts = await readPartitions(image);
  const esp = parts.find((p) => p.label === ESP_LABEL);
  if (!esp) return false;
  const img = `${image}@@${esp.start}`;
  const m = (args: string[]): Promise<unknown> => run(args[0], ['-i', img, ...args.slice(1)], { context: `writing the EFI system partition of ${image}` });
  const { readlink, readFile: rf } = await import('node:fs/promises');
  const loader = await readlink(join(bootDir, 'loader')).catch(() => 'loader');
  const entryDir = join(bootDir, loader, 'entries');
  const entries = (await readdir(entryDir)).filter((f) => f.endsWith('.conf'));
  for (const d of ['::/loader', '::/ostree', '::/EFI']) await m(['mdeltree', d]).catch(() => undefined);
  await m(['mmd', '::/EFI', '::/EFI/BOOT', '::/loader', '::/loader/entries', '::/ostree']);
  await m(['mcopy', SYSTEMD_BOOT, '::/EFI/BOOT/BOOTX64.EFI']);
  const staging = await mkdtemp(join(dirname(image), '.esp-'));
  try {
    await writeFile(join(staging, 'loader.conf'), 'timeout 0\nconsole-mode keep\n');
    await m(['mcopy', join(staging, 'loader.conf'), '::/loader/loader.conf']);
    const dirs = new Set<string>();
    for (const e of entries) {
      await m(['mcopy', join(entryDir, e), `::/loader/entries/${e}`]);
      const bls = parseBls(await rf(join(entryDir, e), 'utf8'), join(entryDir, e));
      for (const f of [bls.linux, bls.initrd]) if (f) dirs.add(dirname(f));
    }
    for (const d of dirs) await m(['mcopy', '-s', '-o', join(bootDir, d), `::${dirname(d)}/`]);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return true;
}

/** The partitions of an image, from its GPT (`sfdisk --json`). */
export async function readPartitions(image: string): Promise<Partition[]> {
  await stat(image).catch(() => {
    throw new NotFoundError(`disk image ${image} does not exist`);
  });
  const r = await run('sfdisk', ['--json', image], { context: `reading the partition table of ${image}` }).catch(() => {
    throw new FedostreeError('EFORMAT', `${image}: no partition table (not a fedostree disk image)`);
  });
  const j = JSON.parse(r.stdout) as { partitiontable: { sectorsize?: number; partitions: Array<{ start: number; size: number; name?: string }> } };
  const ss = j.partitiontable.sectorsize ?? 512;
  return j.partitiontable.partitions.map((p, i) => ({ index: i + 1, start: p.start * ss, size: p.size * ss, label: p.name ?? '' }));
}

function partition(parts: Partition[], label: string, image: string): Partition {
  const p = parts.find((x) => x.label === label);
  if (!p) throw new FedostreeError('EFORMAT', `${image}: no partition named '${label}' (not a fedostree disk image)`);
  return p;
}

/** Read a file from an ext4 partition of the image without mounting (debugfs). */
async function debugfsCat(image: string, p: Partition, path: string): Promise<Buffer> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const c = spawn('debugfs', ['-R', `cat ${path}`, `${image}?offset=${p.start}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new FedostreeError('ETOOL', `debugfs cat ${path} on ${image} failed`))));
  });
}

async function debugfsLs(image: string, p: Partition, path: string): Promise<string[]> {
  const r = await run('debugfs', ['-R', `ls -p ${path}`, `${image}?offset=${p.start}`]);
  // -p: /inode/mode/uid/gid/name/size/
  return r.stdout.split('\n').map((l) => l.split('/')[5]).filter((n): n is string => !!n && n !== '.' && n !== '..');
}

export interface BootSelection { entry: BlsEntry; file: string; kernel: Buffer; initrd: Buffer | null }

/** The default boot entry (highest version, as BLS boot loaders sort) with its kernel and initramfs. */
export async function defaultBootEntry(image: string): Promise<BootSelection> {
  const parts = await readPartitions(image);
  const boot = partition(parts, BOOT_LABEL, image);
  const link = (await run('debugfs', ['-R', 'stat /loader', `${image}?offset=${boot.start}`])).stdout;
  const m = /Fast link dest: "([^"]+)"/.exec(link);
  const loader = m ? `/${m[1]}` : '/loader';
  const files = (await debugfsLs(image, boot, `${loader}/entries`)).filter((f) => f.endsWith('.conf'));
  if (!files.length) throw new NotFoundError(`${image}: no boot entries in ${loader}/entries`);
  const entries = await Promise.all(files.map(async (f) => ({ file: f, entry: parseBls((await debugfsCat(image, boot, `${loader}/entries/${f}`)).toString(), `${image}:${loader}/entries/${f}`) })));
  entries.sort((a, b) => Number(b.entry.version) - Number(a.entry.version) || b.file.localeCompare(a.file));
  const best = entries[0];
  const kernel = await debugfsCat(image, boot, best.entry.linux);
  const initrd = best.entry.initrd ? await debugfsCat(image, boot, best.entry.initrd) : null;
  return { entry: best.entry, file: best.file, kernel, initrd };
}

/** Loop-mount root and /boot of an image, run `fn` on the mounted sysroot path, unmount. */
export async function withMountedImage<T>(image: string, fn: (sysroot: string) => Promise<T>): Promise<T> {
  const parts = await readPartitions(image);
  const boot = partition(parts, BOOT_LABEL, image);
  const root = partition(parts, ROOT_LABEL, image);
  const mnt = await mkdtemp(join(dirname(image), `.${basename(image)}-mnt-`));
  const mounted: string[] = [];
  try {
    await run('mount', ['-o', `loop,offset=${root.start},sizelimit=${root.size}`, image, mnt], { context: `mounting the root of ${image}` });
    mounted.unshift(mnt);
    await run('mount', ['-o', `loop,offset=${boot.start},sizelimit=${boot.size}`, image, join(mnt, 'boot')], { context: `mounting /boot of ${image}` });
    mounted.unshift(join(mnt, 'boot'));
    return await fn(mnt);
  } finally {
    for (const m of mounted) await run('umount', [m]).catch(() => run('umount', ['-l', m]));
    await rm(mnt, { recursive: true, force: true });
  }
}

export interface UpdateOptions { repo: string; ref?: string; stateroot?: string; log?: (s: string) => void }

/** Deploy the newest commit of the image's origin ref (or REF) into an existing image, offline. */
export async function updateImage(image: string, o: UpdateOptions): Promise<{ commit: string; previous: string | null; changed: boolean }> {
  return withMountedImage(image, async (sys) => {
    const s = await Sysroot.open(sys);
    const os = o.stateroot ?? s.defaultStateroot() ?? 'fedostree';
    const merge = s.mergeDeployment(os);
    const originRefspec = o.ref ?? merge?.origin?.get('origin', 'refspec') ?? null;
    if (!originRefspec) throw new UsageError(`${image}: the default deployment has no origin refspec; give --ref`);
    const colon = originRefspec.indexOf(':');
    const remote = colon >= 0 ? originRefspec.slice(0, colon) : undefined;
    const ref = colon >= 0 ? originRefspec.slice(colon + 1) : originRefspec;
    const repo = await OstreeRepo.open(join(sys, 'ostree/repo'));
    await pullLocal(repo, o.repo, [ref], { remote });
    const commit = (await repo.resolveRev(originRefspec)) as string;
    const previous = merge?.csum ?? null;
    if (previous === commit) return { commit, previous, changed: false };
    await adminDeploy(s, originRefspec, { stateroot: os });
    await run('sync', []);
    await syncEsp(image, join(sys, 'boot'));
    return { commit, previous, changed: true };
  });
}
