import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTestcase, testtagsDepToRpm, parseTesttags } from './testcase-runner.ts';

const VECTORS = '/work/shared/vectors/libsolv';

/** (case, tier) rows of CASES.md's selected table; derived/ replaces its upstream twin. */
function cases(): Array<{ name: string; tier: string; path: string }> {
  const out: Array<{ name: string; tier: string; path: string }> = [];
  for (const line of readFileSync(join(VECTORS, 'CASES.md'), 'utf8').split('\n')) {
    const m = /^\| ([\w/.-]+\.t) \| (core|flags|policy) \|/.exec(line);
    if (!m) continue;
    const derived = join(VECTORS, 'derived', m[1]);
    out.push({ name: m[1], tier: m[2], path: existsSync(derived) ? derived : join(VECTORS, 'upstream', m[1]) });
  }
  return out;
}

const all = cases();

void test('CASES.md lists the 57 selected cases', () => {
  assert.equal(all.length, 57);
});

for (const c of all.filter((x) => x.tier !== 'policy')) {
  void test(`libsolv ${c.tier} ${c.name}`, () => {
    const outcomes = runTestcase(c.path);
    assert.ok(outcomes.length > 0, 'no sub-tests ran');
    for (const o of outcomes) {
      assert.deepEqual(o.skippedKinds, [], `sub-test ${o.index}: result kinds not comparable`);
      assert.deepEqual(o.actual, o.expected, `sub-test ${o.index}: result lines`);
      assert.equal(o.actualProblems, o.expectedProblems, `sub-test ${o.index}: problem count`);
      assert.ok(o.match);
    }
  });
}

void test('libsolv policy tier score', (t) => {
  const policy = all.filter((x) => x.tier === 'policy');
  let matched = 0;
  const missed: string[] = [];
  for (const c of policy) {
    const outcomes = runTestcase(c.path);
    if (outcomes.length && outcomes.every((o) => o.match)) matched++;
    else missed.push(c.name);
  }
  const line = `policy tier: ${matched}/${policy.length} cases match${missed.length ? ` (missed: ${missed.join(', ')})` : ''}`;
  t.diagnostic(line);
  console.log(line);
  assert.ok(policy.length > 0);
});

void test('the runner notices a wrong expectation', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-solver-'));
  try {
    const t = join(dir, 'wrong.t');
    await writeFile(t, [
      'repo available 0 testtags <inline>',
      '#>=Pkg: A 1 1 noarch',
      '#>=Req: B',
      '#>=Pkg: B 1 1 noarch',
      'system x86_64 rpm',
      'job install name A',
      'result transaction,problems <inline>',
      '#>install A-1-1.noarch@available',
      'nextjob',
      'job install name C',
      'result transaction,problems <inline>',
      '',
    ].join('\n'));
    const [first, second] = runTestcase(t);
    assert.equal(first.match, false);
    assert.deepEqual(first.actual, ['install A-1-1.noarch@available', 'install B-1-1.noarch@available']);
    assert.equal(second.actualProblems, 1);
    assert.equal(second.match, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('our problem summaries say what libsolv says for dependency problems in the cases', () => {
  let compared = 0;
  for (const c of all) {
    for (const o of runTestcase(c.path)) {
      const infos = o.expectedProblemLines.map((l) => /^problem \w+ info (.*)$/.exec(l)?.[1]).filter((x): x is string => !!x);
      const ours = o.problems.map((p) => p.summary.replaceAll(' (installed)', ''));
      for (const info of infos) {
        if (!/^(nothing provides|package .* (conflicts with|requires|obsoletes))/.test(info)) continue;
        assert.ok(ours.includes(info), `${c.name} sub-test ${o.index}: libsolv says "${info}", we say ${JSON.stringify(ours)}`);
        compared++;
      }
    }
  }
  assert.ok(compared >= 10, `only ${compared} problem sentences compared`);
});

void test('testtags dependencies become rpm rich dependencies', () => {
  assert.equal(testtagsDepToRpm('A'), 'A');
  assert.equal(testtagsDepToRpm('B >= 1-2'), 'B >= 1-2');
  assert.equal(testtagsDepToRpm('A(x32)'), 'A(x32)');
  assert.equal(testtagsDepToRpm('A | B'), '(A or B)');
  assert.equal(testtagsDepToRpm('(A & B) | (C & D)'), '((A and B) or (C and D))');
  assert.equal(testtagsDepToRpm('A <IF> (B <ELSE> C)'), '(A if B else C)');
  assert.equal(testtagsDepToRpm('P = 2 <IF> (X & Y)'), '(P = 2 if (X and Y))');
  assert.equal(testtagsDepToRpm('/usr/bin/sh'), '/usr/bin/sh');
  assert.throws(() => testtagsDepToRpm('(A | B'));
  const [p, q] = parseTesttags(['=Ver: 2.0', '=Pkg: a 1:2.0 3 x86_64', '+Req:', 'b', 'c > 1', '-Req:', '=Prv: /bin/a', '=Pkg: d 1 - noarch'].join('\n'));
  assert.deepEqual(p, { name: 'a', epoch: 1, version: '2.0', release: '3', arch: 'x86_64', requires: ['b', 'c > 1'], files: ['/bin/a'] });
  assert.deepEqual(q, { name: 'd', epoch: 0, version: '1', release: '', arch: 'noarch' });
});
