/**
 * The compose fixture: RPMs built by the real rpmbuild from test/fixtures/compose/specs, an rpm-md
 * repository made by the real createrepo_c (with the comps groups), and a copy of the fixture
 * treefiles pointing at it.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpecs } from '../helpers/rpmbuild.ts';

export const run = promisify(execFile);
export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'compose');
export const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

export interface ComposeFixture {
  dir: string;
  /** rpm-md repository directory. */
  repoDir: string;
  /** Treefile directory (copy of test/fixtures/compose/trees with the repo URL filled in). */
  trees: string;
  cleanup(): Promise<void>;
}

/** Specs of the packages in the repository (ffail and fbroken are for the bad-input tests). */
export const SPECS = ['filesystem', 'busybox-sh', 'kernel', 'dracut', 'fdaemon', 'flib', 'fextra', 'fdocker', 'fgnome-core', 'fgnome-apps', 'fselinux-policy', 'faaa', 'ffail', 'fbroken'];

/** Build the fixture repository and tree directory in a fresh temp dir. */
export async function makeFixture(): Promise<ComposeFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-compose-'));
  const repoDir = join(dir, 'rpms');
  await mkdir(repoDir, { recursive: true });
  const rpms = await buildSpecs(SPECS.map((s) => join(FIXTURES, 'specs', `${s}.spec`)), { topdir: join(dir, 'build'), define: { busybox_path: '/usr/bin/busybox' } });
  for (const r of rpms) await rename(r, join(repoDir, r.split('/').pop() as string));
  await run('createrepo_c', ['--quiet', '--groupfile', join(FIXTURES, 'comps.xml'), repoDir]);
  const trees = join(dir, 'trees');
  await cp(join(FIXTURES, 'trees'), trees, { recursive: true });
  const tmpl = await readFile(join(trees, 'fixture.repo.in'), 'utf8');
  await writeFile(join(trees, 'fixture.repo'), tmpl.replace('@REPO_URL@', `file://${repoDir}/`));
  await rm(join(trees, 'fixture.repo.in'));
  return { dir, repoDir, trees, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Rebuild one spec with a new release into the repository (replacing the old RPM) and refresh the metadata. */
export async function updatePackage(fx: ComposeFixture, spec: string, define: Record<string, string>): Promise<void> {
  const out = await buildSpecs([join(FIXTURES, 'specs', `${spec}.spec`)], { topdir: join(fx.dir, `build-${spec}-${Date.now()}`), define: { busybox_path: '/usr/bin/busybox', ...define } });
  for (const f of await readdir(fx.repoDir)) if (f.startsWith(`${spec}-`) && f.endsWith('.rpm')) await rm(join(fx.repoDir, f));
  for (const r of out) await rename(r, join(fx.repoDir, r.split('/').pop() as string));
  await run('createrepo_c', ['--quiet', '--update', '--groupfile', join(FIXTURES, 'comps.xml'), fx.repoDir]);
}

/** Run the CLI; resolves with stdout/stderr/exit code (never rejects on a non-zero exit). */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
