// Slow checks of the sample distribution (`npm run test:samples`, not part of `npm test`):
// builds (or reuses) it with samples/build.ts, then asks the real tools whether it is sound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openPackage, packageInfo } from '../../src/rpm/index.ts';
import { comparePackageEVR } from '../../src/rpm/version.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** Run the generator; returns the output directory (last stdout line) and the wall time. */
async function buildSamples(): Promise<{ dir: string; seconds: number; log: string }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'samples/build.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let log = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    log += d.toString();
    process.stderr.write(d);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, 'samples/build.ts failed');
  const lines = out.trim().split('\n');
  return { dir: lines[lines.length - 1], seconds: (Date.now() - t0) / 1000, log };
}

const built = await buildSamples();
const DIR = built.dir;

async function rpmsOf(snap: string): Promise<string[]> {
  const pk = join(DIR, `repo-${snap}`, 'Packages');
  return (await readdir(pk)).filter((f) => f.endsWith('.rpm')).sort().map((f) => join(pk, f));
}

/** `dnf --installroot … --assumeno install <spec>` against one repo; returns dnf's output. */
async function dnfAssumeno(snap: string, specs: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fedostree-samples-dnf-'));
  try {
    const args = [
      `--installroot=${root}`,
      '--releasever=1',
      '--setopt=reposdir=/nonexistent',
      '--setopt=cachedir=' + join(root, 'cache'),
      `--repofrompath=sample,file://${join(DIR, `repo-${snap}`)}`,
      '--repo=sample',
      '--setopt=sample.gpgcheck=0',
      '--assumeno',
      'install',
      ...specs,
    ];
    const r = await run('dnf', args, { maxBuffer: 64 << 20 }).then(
      (x) => ({ code: 0, out: x.stdout + x.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: (e.stdout ?? '') + (e.stderr ?? '') }),
    );
    // --assumeno ends every successful resolution with "Operation aborted." (exit 1).
    assert.match(r.out, /Operation aborted/, `dnf did not resolve ${specs.join(' ')} on ${snap}:\n${r.out}`);
    assert.doesNotMatch(r.out, /^(Error|Problem|No match for)/m, r.out);
    assert.doesNotMatch(r.out, /Skipping packages with (conflicts|broken dependencies)/, r.out);
    return r.out;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

void test('the output directory holds both repos and the treefiles', async () => {
  for (const p of ['repo-v1/repodata/repomd.xml', 'repo-v2/repodata/repomd.xml', 'trees/base/minimal.yaml', 'trees/server/standard.yaml',
    'trees/server/standard-debug.yaml', 'trees/server/fedostree-sample.repo', 'trees-v2/base/fedostree-sample.repo']) {
    assert.ok((await stat(join(DIR, p))).isFile(), p);
  }
  const repoFile = await readFile(join(DIR, 'trees/base/fedostree-sample.repo'), 'utf8');
  assert.match(repoFile, new RegExp(`baseurl=file://${join(DIR, 'repo-v1')}`));
  const repomd = await readFile(join(DIR, 'repo-v1/repodata/repomd.xml'), 'utf8');
  assert.match(repomd, /<data type="group">/);
});

for (const snap of ['v1', 'v2']) {
  void test(`dnf resolves @core, @standard and @devel-tools from repo-${snap}`, async () => {
    const core = await dnfAssumeno(snap, ['@core']);
    for (const p of ['systemd', 'linux-image-6', 'ostree-boot', 'dracut', 'nodejs', 'fedostree', 'nss-altfiles', 'filesystem', 'setup']) {
      assert.match(core, new RegExp(`^ ${p}`, 'm'), `@core on ${snap} lacks ${p}`);
    }
    assert.equal(/^ sample-legacy/m.test(core), snap === 'v1');
    const std = await dnfAssumeno(snap, ['@standard']);
    assert.match(std, /^ openssh-server/m);
    assert.equal(/^ tree /m.test(std), snap === 'v2');
    await dnfAssumeno(snap, ['@core', '@standard', '@devel-tools']);
  });
}

void test('every RPM passes rpm -K, its requires parse, and name/EVR/arch are sane', async () => {
  const all = [...new Set([...(await rpmsOf('v1')), ...(await rpmsOf('v2'))])];
  assert.ok(all.length > 150, `only ${all.length} RPMs`);
  const k = await run('rpm', ['-K', ...all], { maxBuffer: 64 << 20 });
  const lines = k.stdout.trim().split('\n');
  assert.equal(lines.length, all.length);
  for (const l of lines) assert.match(l, /: digests (signatures )?OK$/, l);
  await run('rpm', ['-qp', '--requires', ...all], { maxBuffer: 64 << 20 });
  const payloads = new Set<string>();
  for (const f of all) {
    const info = packageInfo(await openPackage(f));
    assert.match(info.name, /^[A-Za-z0-9][A-Za-z0-9._+-]*$/, f);
    assert.match(info.version, /^[A-Za-z0-9._+~^]+$/, f);
    assert.match(info.release, /^[A-Za-z0-9._+~^]+$/, f);
    assert.ok(['x86_64', 'noarch'].includes(info.arch), `${f}: arch ${info.arch}`);
    assert.equal(f.split('/').pop(), `${info.name}-${info.version}-${info.release}.${info.arch}.rpm`);
    payloads.add(info.payloadCompressor);
  }
  assert.deepEqual([...payloads].sort(), ['gzip', 'xz', 'zstd']);
  // The same, in rpm's own words.
  const q = await run('rpm', ['-qp', '--qf', '%{NAME} %{ARCH} %{PAYLOADCOMPRESSOR}\\n', ...all], { maxBuffer: 64 << 20 });
  assert.equal(q.stdout.trim().split('\n').length, all.length);
});

void test('the kernel sits next to its modules and the base layout is merged /usr', async () => {
  const v1 = await rpmsOf('v1');
  const kernel = v1.find((f) => /\/linux-image-[0-9].*-amd64-/.test(f));
  assert.ok(kernel, 'no linux-image-KVER package');
  const { stdout } = await run('rpm', ['-qpl', kernel], { maxBuffer: 64 << 20 });
  assert.match(stdout, /^\/usr\/lib\/modules\/[^/]+\/vmlinuz$/m);
  assert.doesNotMatch(stdout, /^\/(boot|lib)\//m);
  const fsPkg = v1.find((f) => f.includes('/filesystem-'));
  assert.ok(fsPkg);
  const fl = await run('rpm', ['-qp', '--qf', '[%{FILENAMES} %{FILEMODES:perms} %{FILELINKTOS}\\n]', fsPkg]);
  assert.match(fl.stdout, /^\/bin lrwxrwxrwx usr\/bin$/m);
  assert.match(fl.stdout, /^\/lib64 lrwxrwxrwx usr\/lib64$/m);
  // No package but filesystem ships /bin, /sbin, /lib or device nodes.
  const q = await run('rpm', ['-qp', '--qf', '[%{=NAME}\\t%{FILENAMES}\\t%{FILEMODES:perms}\\n]', ...v1], { maxBuffer: 256 << 20 });
  for (const line of q.stdout.split('\n')) {
    const [name, path, perms] = line.split('\t');
    if (!path || name === 'filesystem') continue;
    assert.doesNotMatch(path, /^\/(bin|sbin|lib|lib64)(\/|$)/, line);
    assert.doesNotMatch(perms, /^[bcps]/, line);
  }
});

void test('v2 is an update: higher releases with a changed file, one package added, one removed', async () => {
  const info = async (files: string[]) =>
    new Map(await Promise.all(files.map(async (f) => {
      const i = packageInfo(await openPackage(f));
      return [i.name, { ...i, file: f }] as const;
    })));
  const v1 = await info(await rpmsOf('v1'));
  const v2 = await info(await rpmsOf('v2'));
  assert.deepEqual([...v2.keys()].filter((n) => !v1.has(n)), ['tree']);
  assert.deepEqual([...v1.keys()].filter((n) => !v2.has(n)), ['sample-legacy']);
  const changed = [...v1.keys()].filter((n) => v2.has(n) && v1.get(n)?.nevra !== v2.get(n)?.nevra).sort();
  assert.deepEqual(changed, ['base-files', 'fedostree-release', 'less', 'openssh-server']);
  for (const n of changed) {
    const a = v1.get(n);
    const b = v2.get(n);
    assert.ok(a && b);
    assert.equal(comparePackageEVR(b, a), 1, `${n}: v2 not newer`);
    const digests = async (f: string): Promise<Set<string>> =>
      new Set((await run('rpm', ['-qp', '--qf', '[%{FILENAMES} %{FILEDIGESTS}\\n]', f], { maxBuffer: 64 << 20 })).stdout.split('\n'));
    const da = await digests(a.file);
    const db = await digests(b.file);
    assert.ok([...db].some((l) => !da.has(l)), `${n}: no file changed`);
  }
});

void test('dnf really installs @standard: scriptlets run, the client runs in the result', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fedostree-samples-install-'));
  try {
    const r = await run('dnf', [
      `--installroot=${root}`, '--releasever=1', '--setopt=reposdir=/nonexistent', `--setopt=cachedir=${join(root, 'var/cache/dnf')}`,
      `--repofrompath=sample,file://${join(DIR, 'repo-v1')}`, '--repo=sample', '--setopt=sample.gpgcheck=0',
      '--setopt=install_weak_deps=False', '-y', 'install', '@standard',
    ], { maxBuffer: 64 << 20 });
    const out = r.stdout + r.stderr;
    assert.match(out, /^Complete!$/m, out);
    assert.doesNotMatch(out, /scriptlet failed|Error in \S+ scriptlet|error:/i, out);
    const kdir = (await readdir(join(root, 'usr/lib/modules')))[0];
    assert.ok((await stat(join(root, 'usr/lib/modules', kdir, 'modules.dep'))).size > 0, 'depmod %posttrans did not run');
    assert.ok((await stat(join(root, 'etc/ld.so.cache'))).size > 0, 'ldconfig file trigger did not run');
    const env = { PATH: '/usr/bin:/usr/sbin', HOME: '/root' };
    const node = await run('chroot', [root, '/usr/bin/node', '--version'], { env });
    assert.match(node.stdout, /^v\d+\./);
    const help = await run('chroot', [root, '/usr/bin/fedostree', '--help'], { env });
    assert.match(help.stdout, /Usage: fedostree/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

void test('a second run reuses the cache', async () => {
  const again = await buildSamples();
  if (again.dir === DIR) {
    assert.match(again.log, /reusing /);
    assert.ok(again.seconds < 20, `cached run took ${again.seconds} s`);
  } else {
    // fedostree's own sources changed meanwhile (a shared working tree): only its package and the
    // repo metadata are rebuilt; the Debian conversions come from the cache.
    assert.match(again.log, /reusing converted RPMs/);
    assert.ok(again.seconds < 120, `partly cached run took ${again.seconds} s`);
  }
});

// The three sample trees are composed (and checked: fsck, kernel, initramfs, rpmdb) at the start of
// the end-to-end test, test/e2e/boot.e2e-test.ts, which boots them.
