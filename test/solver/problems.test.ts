import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, type PackageSpec, type Problem } from '../../src/solver/index.ts';

const pkg = (name: string, version: string, more: Partial<PackageSpec> = {}): PackageSpec => ({
  name, version, release: '1', arch: 'x86_64', ...more,
});

function problems(pool: Pool, ...args: Parameters<Pool['solve']>): Problem[] {
  const res = pool.solve(...args);
  assert.equal(res.ok, false, 'expected the request to fail');
  return res.ok ? [] : res.problems;
}

function withPool(fn: (pool: Pool) => void): void {
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    pool.addPackages('@System', [pkg('glibc', '2.36'), pkg('oldtool', '1', { obsoletes: [] })]);
    pool.setInstalled('@System');
    pool.addPackages('fedora', [
      pkg('bar', '1.0', { requires: ['libfoo.so.1()(64bit)'] }),
      pkg('httpd', '2.4', { conflicts: ['nginx-filesystem'] }),
      pkg('nginx', '1.24', { requires: ['nginx-filesystem'] }),
      pkg('nginx-filesystem', '1.24'),
      pkg('kernel-core', '6.5'),
      pkg('kernel-modules', '6.5', { requires: ['kernel-core = 6.5-1'] }),
      pkg('python3', '3.12'),
      pkg('needs-new-glibc', '1', { requires: ['glibc >= 2.38'] }),
      pkg('glibc', '2.37'),
    ]);
    fn(pool);
  } finally {
    pool.free();
  }
}

void test('a missing dependency is named with the package that needs it', () => {
  withPool((pool) => {
    const [p, ...rest] = problems(pool, [{ op: 'install', spec: 'bar' }]);
    assert.equal(rest.length, 0);
    assert.equal(p.summary, 'nothing provides libfoo.so.1()(64bit) needed by bar-1.0-1.x86_64');
    assert.ok(p.solutions?.some((s) => s.includes('drop the request "install bar"')), JSON.stringify(p.solutions));
  });
});

void test('a conflict names both packages and the conflicting capability', () => {
  withPool((pool) => {
    const [p] = problems(pool, [{ op: 'install', spec: 'httpd' }, { op: 'install', spec: 'nginx' }]);
    assert.match(p.summary + p.details.join(' '), /package httpd-2\.4-1\.x86_64 conflicts with nginx-filesystem provided by nginx-filesystem-1\.24-1\.x86_64/);
  });
});

void test('an unknown package is reported with close names', () => {
  withPool((pool) => {
    const [p] = problems(pool, [{ op: 'install', spec: 'pyhton3' }]);
    assert.equal(p.summary, 'package pyhton3 does not exist');
    assert.deepEqual(p.solutions, ['did you mean python3?']);
    const [k] = problems(pool, [{ op: 'install', spec: 'kernel' }]);
    assert.equal(k.summary, 'package kernel does not exist');
    assert.deepEqual(k.solutions, ['did you mean kernel-core?', 'did you mean kernel-modules?']);
    assert.deepEqual(pool.suggestNames('ngnix'), ['nginx']);
    assert.deepEqual(pool.suggestNames('zzzzzzzz'), []);
  });
});

void test('a weak request for an unknown package is dropped, not a problem', () => {
  withPool((pool) => {
    const res = pool.solve([{ op: 'install', spec: 'nope', weak: true }, { op: 'install', spec: 'python3' }]);
    assert.ok(res.ok);
    assert.deepEqual(res.transaction.install.map((p) => p.nevra), ['python3-3.12-1.x86_64']);
  });
});

void test('erasing something not installed is reported as such', () => {
  withPool((pool) => {
    const [p] = problems(pool, [{ op: 'erase', spec: 'python3' }]);
    assert.equal(p.summary, 'package python3 is not installed');
  });
});

void test('a locked installed package that blocks an install is explained with a way out', () => {
  withPool((pool) => {
    const ps = problems(pool, [{ op: 'lock', spec: 'glibc' }, { op: 'install', spec: 'needs-new-glibc' }]);
    assert.equal(ps.length, 1);
    const text = [ps[0].summary, ...ps[0].details].join('\n');
    assert.match(text, /needs-new-glibc-1-1\.x86_64 requires glibc >= 2\.38, but none of the providers can be installed|nothing provides glibc >= 2\.38/);
    assert.ok((ps[0].solutions ?? []).length > 0);
  });
});

void test('problem output is the same whatever order the jobs come in', () => {
  withPool((pool) => {
    const a = pool.solve([{ op: 'install', spec: 'bar' }, { op: 'install', spec: 'pyhton3' }]);
    const b = pool.solve([{ op: 'install', spec: 'pyhton3' }, { op: 'install', spec: 'bar' }]);
    assert.ok(!a.ok && !b.ok);
    assert.deepEqual(a.problems.map((p) => p.summary), b.problems.map((p) => p.summary));
    assert.equal(a.problems.length, 2);
  });
});
