/**
 * Compose benchmark: a corpus of ≥ 300 rpmbuild-made RPMs carrying ≥ 500 MB of real files from
 * the host's /usr, one tree with all of them. Measures, in the same run:
 *   - cold compose (empty package cache and output repo),
 *   - warm compose after one package changed (new release in the repo),
 *   - the traditional path: `dnf --installroot` of the same set + `ostree commit` of the root.
 * Prints seconds and ratios (goals: cold ≤ 1.0× traditional, warm ≥ 5× faster than cold). Not a test.
 *
 *   npx node bench/compose-cold-warm.ts [--packages N] [--mb M] [--keep DIR]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpecs } from '../test/helpers/rpmbuild.ts';

const run = promisify(execFile);
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NPKG = arg('--packages', 320);
const MB = arg('--mb', 560);
const keepIdx = process.argv.indexOf('--keep');
const FIX = join(import.meta.dirname, '..', 'test', 'fixtures', 'compose');
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

const work = keepIdx > 0 ? process.argv[keepIdx + 1] : await mkdtemp(join(tmpdir(), 'fedostree-bench-compose-'));
await mkdir(work, { recursive: true });
const repoDir = join(work, 'rpms');

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

/** Regular files under /usr, largest directories first, until `mb` megabytes. */
async function pickFiles(mb: number): Promise<Array<{ path: string; size: number }>> {
  const { stdout } = await run('find', ['/usr/lib', '/usr/share', '/usr/bin', '-xdev', '-type', 'f', '-size', '-16M', '-printf', '%s %p\\n'], { maxBuffer: 512 << 20 });
  const out: Array<{ path: string; size: number }> = [];
  let total = 0;
  for (const line of stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const p = line.slice(sp + 1);
    if (/[\s'"\\$`%]/.test(p) || p.includes('/node_modules/')) continue;
    out.push({ path: p, size: Number(line.slice(0, sp)) });
    total += Number(line.slice(0, sp));
    if (total >= mb * 1e6) break;
  }
  return out;
}

async function specFor(i: number, files: string[], release: string): Promise<string> {
  const name = `bench-${String(i).padStart(3, '0')}`;
  const spec = join(work, 'specs', `${name}-${release}.spec`);
  const list = join(work, 'specs', `${name}.list`);
  await writeFile(list, files.join('\n') + '\n');
  await writeFile(spec, [
    `Name: ${name}`, 'Version: 1.0', `Release: ${release}`, 'Summary: bench package', 'License: MIT', 'BuildArch: noarch', 'AutoReqProv: no',
    'Requires: busybox-sh', '%define _binary_payload w3.zstdio', '', '%description', 'Real files from the build host.', '',
    '%install', `while read f; do install -D -m 0644 "$f" "%{buildroot}/usr/lib/${name}$f"; done < ${list}`,
    release !== '1' ? `echo ${release} > %{buildroot}/usr/lib/${name}/release` : '', '',
    ...(i % 50 === 0 ? ['%post', `echo installed > /usr/lib/${name}.post`, ''] : []),
    '%files', `/usr/lib/${name}`, '',
  ].join('\n'));
  return spec;
}

async function composeTree(repo: string, cache: string, treefile: string): Promise<string> {
  const r = await run(process.execPath, [CLI, 'compose', 'tree', treefile, '--repo', repo, '--cachedir', cache], { env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' }, maxBuffer: 64 << 20 });
  return r.stdout.trim();
}

const names: string[] = [];
for (let i = 0; i < NPKG; i++) names.push(`bench-${String(i).padStart(3, '0')}`);
if (!(await stat(join(repoDir, 'repodata')).catch(() => undefined))) {
  process.stderr.write(`building ${NPKG} packages from ~${MB} MB of host files with rpmbuild…\n`);
  await mkdir(join(work, 'specs'), { recursive: true });
  const files = await pickFiles(MB);
  const specs: string[] = [];
  for (let i = 0; i < NPKG; i++) specs.push(await specFor(i, files.filter((_f, k) => k % NPKG === i).map((f) => f.path), '1'));
  specs.push(join(FIX, 'specs', 'filesystem.spec'), join(FIX, 'specs', 'busybox-sh.spec'));
  const t = await time(async () => {
    const rpms = await buildSpecs(specs, { topdir: join(work, 'build'), define: { busybox_path: '/usr/bin/busybox' } });
    await mkdir(repoDir, { recursive: true });
    for (const r of rpms) await rename(r, join(repoDir, r.split('/').pop() as string));
    await run('createrepo_c', ['--quiet', repoDir]);
  });
  process.stderr.write(`corpus built in ${t.toFixed(0)} s\n`);
}
const rpms = (await readdir(repoDir)).filter((f) => f.endsWith('.rpm'));
let rpmBytes = 0;
for (const f of rpms) rpmBytes += (await stat(join(repoDir, f))).size;
const { stdout: sizeOut } = await run('rpm', ['-qp', '--qf', '%{LONGSIZE}\\n', ...rpms.map((f) => join(repoDir, f))], { maxBuffer: 64 << 20 });
const installed = sizeOut.split('\n').filter((x) => x).reduce((s, x) => s + Number(x), 0);

const trees = join(work, 'trees');
await rm(trees, { recursive: true, force: true });
await mkdir(trees, { recursive: true });
await writeFile(join(trees, 'bench.repo'), `[bench]\nname=bench\nbaseurl=file://${repoDir}/\ngpgcheck=0\n`);
const treefile = join(trees, 'bench.yaml');
await writeFile(treefile, JSON.stringify({ ref: 'bench/x86_64/all', repos: ['bench'], releasever: '20', packages: ['filesystem', 'busybox-sh', ...names], 'automatic-version-prefix': '1' }, null, 2));

// ---- traditional: dnf --installroot + ostree commit
const tradRoot = join(work, 'trad-root');
const tradRepo = join(work, 'trad-repo');
await rm(tradRoot, { recursive: true, force: true });
await rm(tradRepo, { recursive: true, force: true });
await run('ostree', ['init', `--repo=${tradRepo}`, '--mode=archive']);
await rm(join(work, 'dnf-cache'), { recursive: true, force: true });
const dnfArgs = [
  `--installroot=${tradRoot}`, '--releasever=20', '--disablerepo=*', `--repofrompath=bench,file://${repoDir}/`, '--enablerepo=bench', '--nogpgcheck',
  '--setopt=install_weak_deps=False', '--setopt=cachedir=' + join(work, 'dnf-cache'), '-y', '-q', 'install', 'filesystem', 'busybox-sh', ...names,
];
const tDnf = await time(() => run('dnf', dnfArgs, { maxBuffer: 64 << 20 }));
const tCommit = await time(() => run('ostree', ['commit', `--repo=${tradRepo}`, '--branch=trad', `--tree=dir=${tradRoot}`, '--no-xattrs']));
const trad = tDnf + tCommit;

// ---- cold
const repo = join(work, 'repo');
const cache = join(work, 'cache');
await rm(repo, { recursive: true, force: true });
await rm(cache, { recursive: true, force: true });
await run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
let out = '';
const cold = await time(async () => (out = await composeTree(repo, cache, treefile)));
process.stderr.write(`cold: ${out}\n`);

// ---- warm: one package changed
const changed = names[7];
const sameFiles = (await readFile(join(work, 'specs', `${changed}.list`), 'utf8')).split('\n').filter((x) => x);
const spec = await specFor(7, sameFiles, `2.${Date.now()}`);
const newRpm = await buildSpecs([spec], { topdir: join(work, `build-warm-${Date.now()}`) });
for (const f of await readdir(repoDir)) if (f.startsWith(`${changed}-`)) await rm(join(repoDir, f));
for (const r of newRpm) await rename(r, join(repoDir, r.split('/').pop() as string));
await run('createrepo_c', ['--quiet', '--update', repoDir]);
const warm = await time(async () => (out = await composeTree(repo, cache, treefile)));
process.stderr.write(`warm: ${out}\n`);

console.log(`corpus: ${rpms.length} RPMs, ${(rpmBytes / 1e6).toFixed(0)} MB of packages, ${(installed / 1e6).toFixed(0)} MB installed`);
console.log(`traditional (dnf --installroot ${tDnf.toFixed(1)} s + ostree commit ${tCommit.toFixed(1)} s): ${trad.toFixed(1)} s`);
console.log(`fedostree cold compose: ${cold.toFixed(1)} s  → ${(cold / trad).toFixed(2)}× traditional (goal ≤ 1.0)`);
console.log(`fedostree warm compose (1 package changed): ${warm.toFixed(1)} s  → ${(cold / warm).toFixed(1)}× faster than cold (goal ≥ 5)`);
if (keepIdx < 0) await rm(work, { recursive: true, force: true });
