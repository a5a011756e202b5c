import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type RepoSource, type SolveResult } from '../../src/solver/index.ts';
import { rpmbuild, createrepo } from './_rpmbuild.ts';

const SPEC = join(import.meta.dirname, 'fixtures', 'sv.spec');
let dir = '';
let repo = '';
let meta: { primary: string; filelists: string };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedostree-solver-rpmmd-'));
  rpmbuild(SPEC, join(dir, 'build'));
  repo = join(dir, 'repo');
  meta = createrepo(join(dir, 'build', 'RPMS'), repo);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function solveWith(src: Omit<RepoSource, 'id'>, spec: string, noWeakDeps = false): SolveResult {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addRpmmdRepo({ id: 'sv', ...src });
    return pool.solve([{ op: 'install', spec }], { noWeakDeps });
  } finally {
    pool.free();
  }
}

/** What the real dnf would install for `spec` from the fixture repo (it stops at the prompt). */
function dnfInstall(spec: string, weak: boolean): { nevras: string[]; output: string } {
  const root = join(dir, `dnfroot-${spec}-${weak}`);
  let output: string;
  try {
    output = execFileSync('dnf', [
      `--installroot=${root}`, '--setopt=reposdir=/dev/null', `--setopt=cachedir=${join(root, 'cache')}`,
      `--repofrompath=sv,file://${repo}`, '--setopt=sv.gpgcheck=0', '--releasever=1', '--assumeno',
      `--setopt=install_weak_deps=${weak ? 'True' : 'False'}`, 'install', spec,
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const nevras: string[] = [];
  for (const m of output.matchAll(/^ (\S+)\s+(x86_64|noarch|i686)\s+(\S+)\s+sv\s/gm)) nevras.push(`${m[1]}-${m[3]}.${m[2]}`);
  return { nevras: nevras.sort(), output };
}

void test('rpm-md repo (primary + filelists): same install set as dnf, with and without weak deps', () => {
  for (const weak of [true, false]) {
    const ours = solveWith(meta, 'sv-app', !weak);
    assert.ok(ours.ok, ours.ok ? '' : ours.problems.map((p) => p.summary).join('; '));
    const dnf = dnfInstall('sv-app', weak);
    assert.ok(dnf.nevras.length > 0, dnf.output);
    assert.deepEqual(ours.transaction.install.map((p) => p.nevra), dnf.nevras);
  }
});

void test('solved packages carry location, checksum and size that match the RPM files', () => {
  const res = solveWith(meta, 'sv-app');
  assert.ok(res.ok);
  assert.equal(res.transaction.install.length, 5);
  for (const p of res.transaction.install) {
    assert.equal(p.repo, 'sv');
    assert.ok(p.location && p.checksum && p.downloadSize, JSON.stringify(p));
    const file = join(repo, p.location);
    assert.equal(p.checksum.type, 'sha256');
    assert.equal(p.checksum.value, createHash('sha256').update(readFileSync(file)).digest('hex'), p.location);
    assert.equal(p.downloadSize, statSync(file).size);
    const qf = execFileSync('rpm', ['-qp', '--qf', '%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}', file], { encoding: 'utf8' });
    assert.equal(`${p.name}|${p.epoch}|${p.version}|${p.release}|${p.arch}`, qf);
  }
});

void test('file requirements outside primary need filelists.xml', () => {
  const res = solveWith({ primary: meta.primary }, 'sv-app');
  assert.equal(res.ok, false);
  assert.ok(!res.ok && res.problems.some((p) => p.summary === 'nothing provides /usr/share/sv/data.txt needed by sv-app-1.0-1.x86_64'), JSON.stringify(res));
  const byFile = solveWith(meta, '/usr/share/sv/data.txt');
  assert.ok(byFile.ok);
  assert.deepEqual(byFile.transaction.install.map((p) => p.nevra), ['sv-data-1.0-1.noarch']);
});

void test('xz-, zstd-compressed and plain metadata load like gzip', () => {
  const want = JSON.stringify(solveWith(meta, 'sv-app'));
  const xz = createrepo(join(dir, 'build', 'RPMS'), join(dir, 'repo-xz'), 'xz');
  assert.ok(xz.primary.endsWith('.xz'), xz.primary);
  assert.equal(JSON.stringify(solveWith(xz, 'sv-app')), want);
  // Debian's createrepo_c has no zstd: recompress its output with the real zstd and gzip tools.
  const recompress = (gz: string, ext: string): string => {
    const xml = execFileSync('gzip', ['-dc', gz]);
    const out = join(dir, `${gz.split('/').pop()?.replace(/\.gz$/, '')}${ext}`);
    execFileSync('sh', ['-c', ext === '.zst' ? 'zstd -q -o "$1"' : 'cat > "$1"', 'sh', out], { input: xml });
    return out;
  };
  for (const ext of ['.zst', '']) {
    const m = { primary: recompress(meta.primary, ext), filelists: recompress(meta.filelists, ext) };
    assert.equal(JSON.stringify(solveWith(m, 'sv-app')), want, ext || 'plain xml');
  }
});

void test('a missing library is explained in the words dnf uses', () => {
  const res = solveWith(meta, 'sv-broken');
  assert.ok(!res.ok);
  const summary = res.problems[0].summary;
  assert.equal(summary, 'nothing provides libsv-missing.so.1()(64bit) needed by sv-broken-1.0-1.noarch');
  const dnf = dnfInstall('sv-broken', true);
  assert.ok(dnf.output.includes(summary), dnf.output);
});

void test('excludeNames hides packages; .solv cache of an rpm-md repo solves the same', () => {
  const ex = solveWith({ ...meta, excludeNames: ['sv-lib?'] }, 'sv-app');
  assert.equal(ex.ok, false);
  const pool = Pool.create({ arch: 'x86_64' });
  const cached = Pool.create({ arch: 'x86_64' });
  try {
    pool.addRpmmdRepo({ id: 'sv', ...meta });
    const path = join(dir, 'sv.solv');
    pool.writeSolv('sv', path);
    cached.addSolvRepo({ id: 'sv', path });
    assert.deepEqual(cached.solve([{ op: 'install', spec: 'sv-app' }]), pool.solve([{ op: 'install', spec: 'sv-app' }]));
    assert.deepEqual(cached.whatProvides('/usr/share/sv/data.txt').map((p) => p.nevra), ['sv-data-1.0-1.noarch']);
  } finally {
    pool.free();
    cached.free();
  }
});

void test('malformed metadata is a FormatError naming the file, never a crash', () => {
  const cases: Array<[string, string | Buffer]> = [
    ['truncated-primary.xml', '<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" packages="1"><package type="rpm"><name>x</na'],
    ['garbage-primary.xml.gz', Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])],
  ];
  for (const [name, body] of cases) {
    const path = join(dir, name);
    writeFileSync(path, body);
    const pool = Pool.create({ arch: 'x86_64' });
    try {
      assert.throws(() => pool.addRpmmdRepo({ id: 'bad', primary: path }), (e: Error) => e.name === 'FormatError' && e.message.includes(path), name);
    } finally {
      pool.free();
    }
  }
});

