import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpecs } from '../helpers/rpmbuild.ts';

export const run = promisify(execFile);
const FIX = new URL('../fixtures/repo/', import.meta.url).pathname;
export const CLI = new URL('../../bin/fedostree.js', import.meta.url).pathname;

/** Two rpm-md repositories made by createrepo_c from rpmbuild output ("base" with comps, "updates"). */
export interface RepoFixture {
  dir: string;
  base: string;
  updates: string;
  baseRpms: string[];
  updatesRpms: string[];
  /** A .repo file naming both (file:// URLs). */
  repoFile: string;
  /** HOME with an .rpmmacros that puts the rpmdb at /usr/share/rpm (for rpm and dnf). */
  home: string;
}

export async function makeRepos(): Promise<RepoFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-rpmmd-'));
  const [baseRpms, updatesRpms] = await Promise.all([
    buildSpecs([join(FIX, 'base.spec')], { topdir: join(dir, 'build-base') }),
    buildSpecs([join(FIX, 'updates.spec')], { topdir: join(dir, 'build-updates') }),
  ]);
  const base = join(dir, 'repos/base');
  const updates = join(dir, 'repos/updates');
  for (const [d, rpms] of [[base, baseRpms], [updates, updatesRpms]] as const) {
    await mkdir(join(d, 'Packages'), { recursive: true });
    for (const r of rpms) await copyFile(r, join(d, 'Packages', basename(r)));
  }
  await Promise.all([run('createrepo_c', ['-q', '-g', join(FIX, 'comps.xml'), base]), run('createrepo_c', ['-q', updates])]);
  const repoFile = join(dir, 'reposd/fx.repo');
  await mkdir(join(dir, 'reposd'));
  await writeFile(repoFile, `[base]\nname=Base $releasever\nbaseurl=file://${base}\ngpgcheck=0\n\n[updates]\nname=Updates\nbaseurl=file://${updates}\ngpgcheck=0\n`);
  const home = join(dir, 'home');
  await mkdir(home);
  await writeFile(join(home, '.rpmmacros'), '%_dbpath /usr/share/rpm\n');
  return { dir, base, updates, baseRpms, updatesRpms, repoFile, home };
}

/** A root whose rpmdb (at usr/share/rpm) has the named base packages, installed with the real rpm. */
export async function makeInstalledRoot(fx: RepoFixture, root: string, names: string[]): Promise<string[]> {
  await mkdir(root, { recursive: true });
  const env = { ...process.env, HOME: fx.home };
  await run('rpm', ['--root', root, '--initdb'], { env });
  const rpms = names.map((n) => {
    const r = fx.baseRpms.find((p) => new RegExp(`/${n.replace(/[+.]/g, '\\$&')}-[0-9]`).test(p));
    if (!r) throw new Error(`no fixture rpm ${n}`);
    return r;
  });
  await run('rpm', ['--root', root, '-i', '--nodeps', '--justdb', ...rpms], { env });
  const { stdout } = await run('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}.%{ARCH}\\n'], { env });
  return stdout.trim().split('\n').sort();
}

export async function cleanup(fx: RepoFixture | undefined): Promise<void> {
  if (fx) await rm(fx.dir, { recursive: true, force: true });
}

/** Run our CLI; never throws, returns exit code and output. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 256 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function listDir(d: string): Promise<string[]> {
  return (await readdir(d)).sort();
}
