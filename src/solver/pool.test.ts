import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type PackageSpec, type SolveResult } from './index.ts';
import { FormatError, UsageError } from '../util/errors.ts';

const pkg = (name: string, version: string, arch: string, more: Partial<PackageSpec> = {}): PackageSpec => ({
  name, version, release: '1', arch, ...more,
});

function installs(res: SolveResult): string[] {
  assert.ok(res.ok, res.ok ? '' : res.problems.map((p) => p.summary).join('; '));
  return res.transaction.install.map((p) => `${p.nevra}@${p.repo}`);
}

void test('pool uses rpm arch policy: noarch and x86_64 install on x86_64, i686 only when needed, aarch64 never', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addPackages('repo', [
      pkg('tool', '1', 'x86_64'), pkg('tool', '1', 'i686'), pkg('docs', '1', 'noarch'),
      pkg('old32', '1', 'i686'), pkg('arm', '1', 'aarch64'),
    ]);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'tool' }, { op: 'install', spec: 'docs' }])),
      ['docs-1-1.noarch@repo', 'tool-1-1.x86_64@repo']);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'old32' }])), ['old32-1-1.i686@repo']);
    const arm = pool.solve([{ op: 'install', spec: 'arm' }]);
    assert.equal(arm.ok, false);
    assert.deepEqual(pool.whatProvides('arm'), [], 'an aarch64 package is not installable on x86_64');
    assert.deepEqual(pool.whatProvides('docs').map((p) => p.nevra), ['docs-1-1.noarch']);
  } finally {
    pool.free();
  }
});

void test('pool compares versions with rpm rules (tilde, caret, epoch, release wildcard)', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    assert.equal(pool.evrcmp('1.0~rc1', '1.0'), -1);
    assert.equal(pool.evrcmp('1.0^git1', '1.0'), 1);
    assert.equal(pool.evrcmp('1:1.0', '2.0'), 1);
    assert.equal(pool.evrcmp('1.01', '1.1'), 0);
    pool.addPackages('repo', [
      pkg('lib', '1.0', 'x86_64', { release: '5' }),
      pkg('app', '1', 'x86_64', { requires: ['lib = 1.0'] }), // no release: any release matches (rpm, not deb)
      pkg('new', '1', 'x86_64', { requires: ['lib >= 1.0~rc1'] }),
      pkg('pre', '1', 'x86_64', { requires: ['lib < 1.0~rc1'] }),
      pkg('ep', '1', 'x86_64', { requires: ['lib >= 1:0.1'] }),
    ]);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'app' }])), ['app-1-1.x86_64@repo', 'lib-1.0-5.x86_64@repo']);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'new' }])), ['lib-1.0-5.x86_64@repo', 'new-1-1.x86_64@repo']);
    assert.equal(pool.solve([{ op: 'install', spec: 'pre' }]).ok, false);
    assert.equal(pool.solve([{ op: 'install', spec: 'ep' }]).ok, false, 'an epoch outranks any version');
    assert.deepEqual(pool.whatProvides('lib > 1.0~rc1').map((p) => p.nevra), ['lib-1.0-5.x86_64']);
  } finally {
    pool.free();
  }
});

void test('rich dependencies, files and NEVRA/provides/glob specs select packages', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addPackages('repo', [
      pkg('a', '1', 'noarch', { requires: ['(b or c)', '(d if e)'] }),
      pkg('b', '1', 'noarch'), pkg('c', '1', 'noarch'),
      pkg('shell', '2', 'x86_64', { epoch: 3, files: ['/usr/bin/shell'], provides: ['sh(posix) = 2'] }),
    ]);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'a' }])), ['a-1-1.noarch@repo', 'b-1-1.noarch@repo']);
    for (const spec of ['/usr/bin/shell', 'sh(posix) >= 1', 'shell-3:2-1.x86_64', 'she*', 'shell.x86_64']) {
      assert.deepEqual(installs(pool.solve([{ op: 'install', spec }])), ['shell-3:2-1.x86_64@repo'], spec);
    }
    const [p] = pool.whatProvides('/usr/bin/shell');
    assert.equal(p.epoch, 3);
    assert.equal(p.version, '2');
  } finally {
    pool.free();
  }
});

void test('installed set, update, erase with cleandeps, allowErasing, best', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addPackages('@System', [pkg('app', '1', 'x86_64', { requires: ['lib'] }), pkg('lib', '1', 'x86_64'), pkg('blocker', '1', 'noarch', { conflicts: ['new'] })]);
    pool.setInstalled('@System');
    pool.addPackages('updates', [pkg('app', '2', 'x86_64', { requires: ['lib >= 2'] }), pkg('lib', '2', 'x86_64'), pkg('new', '1', 'noarch')]);
    const up = pool.solve([{ op: 'update-all' }]);
    assert.ok(up.ok);
    assert.deepEqual(up.transaction.upgrade.map(([a, b]) => `${a.nevra}->${b.nevra}`), ['app-1-1.x86_64->app-2-1.x86_64', 'lib-1-1.x86_64->lib-2-1.x86_64']);
    const er = pool.solve([{ op: 'erase', spec: 'app' }], { cleanDeps: true });
    assert.ok(er.ok);
    assert.deepEqual(er.transaction.erase.map((p) => p.nevra), ['app-1-1.x86_64', 'lib-1-1.x86_64']);
    const plain = pool.solve([{ op: 'erase', spec: 'app' }]);
    assert.ok(plain.ok);
    assert.deepEqual(plain.transaction.erase.map((p) => p.nevra), ['app-1-1.x86_64']);
    assert.equal(pool.solve([{ op: 'install', spec: 'new' }]).ok, false);
    const erasing = pool.solve([{ op: 'install', spec: 'new' }], { allowErasing: true });
    assert.ok(erasing.ok);
    assert.deepEqual(erasing.transaction.erase.map((p) => p.nevra), ['blocker-1-1.noarch']);
    const locked = pool.solve([{ op: 'lock', spec: 'lib' }, { op: 'update', spec: 'app' }], { best: true });
    assert.equal(locked.ok, false, 'best update of app needs lib 2, which is locked');
  } finally {
    pool.free();
  }
});

void test('weak deps are taken unless noWeakDeps; exclude drops candidates', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addPackages('repo', [pkg('a', '1', 'noarch', { recommends: ['b'] }), pkg('b', '1', 'noarch'), pkg('c', '1', 'noarch'), pkg('c', '2', 'noarch')]);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'a' }])), ['a-1-1.noarch@repo', 'b-1-1.noarch@repo']);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'a' }], { noWeakDeps: true })), ['a-1-1.noarch@repo']);
    assert.deepEqual(installs(pool.solve([{ op: 'exclude', spec: 'c-2-1.noarch' }, { op: 'install', spec: 'c' }])), ['c-1-1.noarch@repo']);
    assert.deepEqual(installs(pool.solve([{ op: 'install', spec: 'c' }])), ['c-2-1.noarch@repo'], 'exclude lasts one solve');
  } finally {
    pool.free();
  }
});

void test('installonly packages are installed beside the running version', () => {
  const pool = Pool.create({ arch: 'x86_64', installonly: ['kernel'] });
  try {
    pool.addPackages('@System', [pkg('kernel', '6.1', 'x86_64')]);
    pool.setInstalled('@System');
    pool.addPackages('updates', [pkg('kernel', '6.2', 'x86_64')]);
    const res = pool.solve([{ op: 'update-all' }]);
    assert.ok(res.ok);
    assert.deepEqual(res.transaction.install.map((p) => p.nevra), ['kernel-6.2-1.x86_64']);
    assert.deepEqual(res.transaction.upgrade, []);
  } finally {
    pool.free();
  }
  const limited = Pool.create({ arch: 'x86_64', installonly: ['kernel', 'installonlypkg(kmod)'], installonlyLimit: 2 });
  try {
    limited.addPackages('@System', [pkg('kernel', '6.1', 'x86_64'), pkg('kernel', '6.0', 'x86_64'), pkg('kmod-x', '1', 'x86_64', { provides: ['installonlypkg(kmod)'] }), pkg('kmod-x', '0', 'x86_64', { provides: ['installonlypkg(kmod)'] })]);
    limited.setInstalled('@System');
    limited.addPackages('updates', [pkg('kernel', '6.2', 'x86_64'), pkg('kmod-x', '2', 'x86_64', { provides: ['installonlypkg(kmod)'] })]);
    const res = limited.solve([{ op: 'update-all' }]);
    assert.ok(res.ok);
    assert.deepEqual(res.transaction.install.map((p) => p.nevra), ['kernel-6.2-1.x86_64', 'kmod-x-2-1.x86_64']);
    assert.deepEqual(res.transaction.erase.map((p) => p.nevra), ['kernel-6.0-1.x86_64', 'kmod-x-0-1.x86_64'], 'the oldest go beyond the limit');
  } finally {
    limited.free();
  }
  assert.throws(() => Pool.create({ arch: 'x86_64', installonlyLimit: -1 }), UsageError);
});

void test('.solv cache round-trips a repo (same packages, same solution)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-solv-'));
  const a = Pool.create({ arch: 'x86_64' });
  const b = Pool.create({ arch: 'x86_64' });
  try {
    const pkgs = [
      pkg('a', '1', 'x86_64', { epoch: 2, requires: ['(b >= 1 or c)', '/usr/bin/d'], recommends: ['e'], location: 'Packages/a.rpm', checksum: { type: 'sha256', value: 'ab'.repeat(32) }, downloadSize: 1234 }),
      pkg('b', '1.0~rc1', 'noarch'), pkg('c', '1', 'noarch'), pkg('d', '1', 'x86_64', { files: ['/usr/bin/d'] }), pkg('e', '1', 'noarch'),
    ];
    a.addPackages('repo', pkgs);
    const path = join(dir, 'repo.solv');
    a.writeSolv('repo', path);
    assert.deepEqual(await readdir(dir), ['repo.solv'], 'no temporary files left behind');
    b.addSolvRepo({ id: 'repo', path });
    const jobs = [{ op: 'install' as const, spec: 'a' }];
    assert.deepEqual(b.solve(jobs), a.solve(jobs));
    const [pa] = b.whatProvides('a');
    assert.equal(pa.location, 'Packages/a.rpm');
    assert.deepEqual(pa.checksum, { type: 'sha256', value: 'ab'.repeat(32) });
    assert.equal(pa.downloadSize, 1234);
    assert.throws(() => b.addSolvRepo({ id: 'bad', path: join(dir, 'missing.solv') }), FormatError);
    // a failed load leaves no trace: the id can be loaded again (say from XML after a bad cache)
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'corrupt.solv'), 'SOLV garbage');
    assert.throws(() => b.addSolvRepo({ id: 'again', path: join(dir, 'corrupt.solv') }), (e: Error) => e instanceof FormatError && e.message.includes('corrupt.solv'));
    b.addPackages('again', [pkg('f', '1', 'noarch')]);
    assert.equal(b.whatProvides('f').length, 1);
    assert.deepEqual(b.solve(jobs), a.solve(jobs));
  } finally {
    a.free();
    b.free();
    await rm(dir, { recursive: true, force: true });
  }
});

void test('results do not depend on the order repositories were added in', () => {
  const repos: Record<string, PackageSpec[]> = {
    fedora: [pkg('a', '1', 'noarch', { requires: ['virt'] }), pkg('p1', '1', 'noarch', { provides: ['virt'] }), pkg('same', '1', 'noarch')],
    updates: [pkg('p2', '1', 'noarch', { provides: ['virt'] }), pkg('same', '1', 'noarch'), pkg('a', '1', 'noarch', { requires: ['virt'] })],
    extra: [pkg('same', '1', 'noarch'), pkg('z', '1', 'noarch', { requires: ['same', 'a'] })],
  };
  const orders = [['fedora', 'updates', 'extra'], ['extra', 'updates', 'fedora'], ['updates', 'extra', 'fedora']];
  const results = orders.map((order) => {
    const pool = Pool.create({ arch: 'x86_64' });
    try {
      for (const id of order) pool.addPackages(id, repos[id]);
      return JSON.stringify([pool.solve([{ op: 'install', spec: 'z' }]), pool.whatProvides('virt'), pool.suggestNames('sam')]);
    } finally {
      pool.free();
    }
  });
  assert.equal(results[1], results[0]);
  assert.equal(results[2], results[0]);
});

void test('bad input becomes a FedostreeError naming what is wrong', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    assert.throws(() => pool.addPackages('r', [pkg('x', '1', 'noarch', { requires: ['foo >='] })]), (e: Error) => e instanceof FormatError && /x-1-1\.noarch: requires: .*foo >=/.test(e.message));
    assert.throws(() => pool.addPackages('r2', [pkg('x', '1', 'noarch', { requires: ['(a or'] })]), FormatError);
    assert.throws(() => pool.addRpmmdRepo({ id: 'm', primary: '/nonexistent/primary.xml.gz' }), (e: Error) => e instanceof FormatError && /nonexistent\/primary\.xml\.gz/.test(e.message));
    pool.addPackages('dup', []);
    assert.throws(() => pool.addPackages('x y', []), UsageError);
    assert.throws(() => Pool.create({ arch: 'x86 64' }), UsageError);
    assert.throws(() => pool.solve([{ op: 'install', select: { pkg: 'nope-1-1.noarch@dup' } }]), /nope-1-1\.noarch@dup/);
  } finally {
    pool.free();
  }
  assert.throws(() => pool.solve([]), /freed/);
});

void test('hostile dependency strings and specs never crash the binding', () => {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = ['(', ')', ' ', 'a', 'b', '>=', '<', '=', 'or', 'and', 'if', 'else', 'with', '1.0', '-', ':', '/', '\u0000', 'é', '*', '[', '~', '^'];
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    for (let i = 0; i < 500; i++) {
      const dep = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(rand() < 0.5 ? ' ' : '');
      try {
        pool.addPackages(`r${i}`, [pkg('x', '1', 'noarch', { requires: [dep], provides: [dep], conflicts: [dep] })]);
      } catch (err) {
        assert.ok(err instanceof FormatError, `${JSON.stringify(dep)}: ${String(err)}`);
      }
      for (const spec of [dep, `${dep}*`]) {
        try {
          pool.solve([{ op: 'install', spec }, { op: 'erase', spec, weak: true }]);
          pool.whatProvides(dep);
        } catch (err) {
          assert.ok(err instanceof Error && 'code' in err, `${JSON.stringify(spec)}: ${String(err)}`);
        }
      }
    }
  } finally {
    pool.free();
  }
});

void test('distupgrade, verify, favor and disfavor requests', () => {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addPackages('@System', [pkg('a', '2', 'noarch'), pkg('b', '1', 'noarch', { requires: ['missing'] })]);
    pool.setInstalled('@System');
    pool.addPackages('repo', [pkg('a', '1', 'noarch'), pkg('app', '1', 'noarch', { requires: ['impl'] }),
      pkg('impl-x', '1', 'noarch', { provides: ['impl'] }), pkg('impl-y', '1', 'noarch', { provides: ['impl'] })]);
    const dup = pool.solve([{ op: 'distupgrade' }]);
    assert.ok(dup.ok);
    assert.deepEqual(dup.transaction.downgrade.map(([o, n]) => `${o.nevra}->${n.nevra}`), ['a-2-1.noarch->a-1-1.noarch'], 'distupgrade follows the repos, downgrades included');
    assert.deepEqual(dup.transaction.erase, [], 'dnf keeps packages that are gone from the repos');
    const verify = pool.solve([{ op: 'verify' }]);
    assert.equal(verify.ok, false, 'b has a broken dependency');
    const pick = (job: 'favor' | 'disfavor', spec: string): string[] => {
      const res = pool.solve([{ op: job, spec }, { op: 'install', spec: 'app' }]);
      assert.ok(res.ok);
      return res.transaction.install.map((p) => p.name);
    };
    assert.deepEqual(pick('favor', 'impl-y'), ['app', 'impl-y']);
    assert.deepEqual(pick('disfavor', 'impl-x'), ['app', 'impl-y']);
    assert.deepEqual(pick('favor', 'impl-x'), ['app', 'impl-x']);
  } finally {
    pool.free();
  }
});
