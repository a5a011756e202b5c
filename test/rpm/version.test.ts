import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { comparePackageEVR, parseEVR, rangesOverlap, rpmvercmp, type Range } from '../../src/rpm/version.ts';
import { DepFlag } from '../../src/rpm/tags.ts';

const run = promisify(execFile);

/** rpm's own test cases (tests/rpmvercmp.at in rpm): [a, b, expected]. */
const RPM_CASES: Array<[string, string, number]> = [
  ['1.0', '1.0', 0], ['1.0', '2.0', -1], ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0], ['2.0', '2.0.1', -1], ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0], ['2.0.1a', '2.0.1', 1], ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0], ['5.5p1', '5.5p2', -1], ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0], ['5.5p1', '5.5p10', -1], ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1], ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0], ['xyz10', 'xyz10.1', -1], ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0], ['xyz.4', '8', -1], ['8', 'xyz.4', 1], ['xyz.4', '2', -1], ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1], ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1], ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1], ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1], ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0], ['1.0a', '1.0aa', -1], ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0], ['10.0001', '10.1', 0], ['10.1', '10.0001', 0], ['10.0001', '10.0039', -1], ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1], ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0], ['20101121', '20101122', -1], ['20101122', '20101121', 1],
  ['2_0', '2_0', 0], ['2.0', '2_0', 0], ['2_0', '2.0', 0],
  ['a', 'a', 0], ['a+', 'a+', 0], ['a+', 'a_', 0], ['a_', 'a+', 0], ['+a', '+a', 0], ['+a', '_a', 0], ['_a', '+a', 0],
  ['+_', '+_', 0], ['_+', '+_', 0], ['_+', '_+', 0], ['+', '_', 0], ['_', '+', 0],
  ['1.0~rc1', '1.0~rc1', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc2', -1], ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0], ['1.0~rc1~git123', '1.0~rc1', -1], ['1.0~rc1', '1.0~rc1~git123', 1],
  ['1.0^', '1.0^', 0], ['1.0^', '1.0', 1], ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0], ['1.0^git1', '1.0', 1], ['1.0', '1.0^git1', -1], ['1.0^git1', '1.0^git2', -1], ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1], ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0], ['1.0^20160101', '1.0.1', -1], ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0], ['1.0^20160102', '1.0^20160101^git1', 1], ['1.0^20160101^git1', '1.0^20160102', -1],
  ['1.0~rc1^git1', '1.0~rc1^git1', 0], ['1.0~rc1^git1', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0], ['1.0^git1', '1.0^git1~pre', 1], ['1.0^git1~pre', '1.0^git1', -1],
  // documented oddities (rpm keeps them for compatibility)
  ['1b.fc17', '1b.fc17', 0], ['1b.fc17', '1.fc17', -1], ['1.fc17', '1b.fc17', 1], ['1g.fc17', '1.fc17', 1], ['1.fc17', '1g.fc17', -1],
  ['1.1.α', '1.1.α', 0], ['1.1.α', '1.1.β', 0], ['1.1.αα', '1.1.α', 0], ['1.1.ββ', '1.1.αα', 0],
];

/** Deterministic generator of version-like strings heavy in the characters that matter. */
function randomVersions(n: number, evr = false): Array<[string, string]> {
  let seed = evr ? 0x0e0e0e0e : 0x5eed1234;
  const rnd = (k: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % k;
  };
  const atoms = ['0', '00', '1', '01', '2', '10', '9', '999', '1000', 'a', 'b', 'z', 'A', 'Z', 'rc', 'pre', 'git', 'fc', '.', '.', '.', '_', '+', '~', '^', '~~', '^^', '', 'α', 'é', '☃'];
  if (evr) atoms.push('-', '-', ':', '1:', '0:');
  const gen = (): string => {
    let s = '';
    const len = 1 + rnd(7);
    for (let i = 0; i < len; i++) s += atoms[rnd(atoms.length)];
    return s;
  };
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const a = gen();
    // half the pairs share a prefix so the interesting tail segments get compared
    const b = rnd(2) ? a.slice(0, rnd(a.length + 1)) + gen() : gen();
    // rpm.vercmp() rejects empty versions
    if (a !== '' && b !== '') out.push([a, b]);
  }
  return out;
}

/**
 * Ask the real rpm for rpm.vercmp on every pair, in one invocation. Note rpm.vercmp parses both
 * sides as [epoch:]version[-release] (rpmverCmp); without ':' and '-' that is plain rpmvercmp.
 */
async function realVercmp(pairs: Array<[string, string]>): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-vercmp-'));
  try {
    const lit = (s: string): string => `"${Buffer.from(s, 'utf8').reduce((acc, c) => acc + `\\${c}`, '')}"`;
    const lua = [
      'local pairs_ = {',
      ...pairs.map(([a, b]) => `{${lit(a)},${lit(b)}},`),
      '}',
      'local out = {}',
      'for i, p in ipairs(pairs_) do out[i] = tostring(rpm.vercmp(p[1], p[2])) end',
      'print(table.concat(out, " "))',
    ].join('\n');
    const file = join(dir, 'cmp.lua');
    await writeFile(file, lua);
    const { stdout } = await run('rpm', ['--eval', `%{lua: dofile('${file}')}`], { maxBuffer: 1 << 24 });
    return stdout.trim().split(/\s+/).map(Number);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('rpmvercmp matches rpm’s own test list', () => {
  for (const [a, b, want] of RPM_CASES) assert.equal(rpmvercmp(a, b), want, `rpmvercmp(${a}, ${b})`);
});

void test('rpmvercmp agrees with the real rpm on edge cases and random versions', async () => {
  const pairs: Array<[string, string]> = [...RPM_CASES.map(([a, b]): [string, string] => [a, b]), ...randomVersions(1500)];
  // a few extra separators and empties rpm handles specially
  pairs.push(['~', '^'], ['^', '~'], ['1.', '1'], ['1', '1.'], ['~1', '~'], ['^1', '^'], ['.', '_'], ['1..0', '1.0'], ['0', '00'], ['a1', 'a01']);
  const evrPairs = randomVersions(600, true).filter(([a, b]) => !a.startsWith('-') && !b.startsWith('-'));
  assert.ok(evrPairs.length > 300);
  const real = await realVercmp([...pairs, ...evrPairs]);
  assert.equal(real.length, pairs.length + evrPairs.length);
  const evrMismatches = evrPairs
    .map(([a, b], i) => ({ a, b, rpm: real[pairs.length + i], ours: comparePackageEVR(parseEVR(a), parseEVR(b)) }))
    .filter((m) => m.rpm !== m.ours);
  assert.deepEqual(evrMismatches, [], 'EVR comparisons');
  real.length = pairs.length;
  assert.equal(real.length, pairs.length);
  const mismatches = pairs.map(([a, b], i) => ({ a, b, rpm: real[i], ours: rpmvercmp(a, b) })).filter((m) => m.rpm !== m.ours);
  assert.deepEqual(mismatches, []);
  assert.ok(pairs.length >= 500);
});

/** Ask the real rpm (its Python binding, rpm.ds().Compare = rpmdsCompare) whether each pair of ranges overlaps. */
async function realOverlap(pairs: Array<[Range, Range]>): Promise<boolean[]> {
  const py = [
    'import json, sys, rpm',
    'out = []',
    'for a, b in json.load(sys.stdin):',
    "    x = rpm.ds(('cap', a[0], a[1]), rpm.RPMTAG_PROVIDENAME)",
    "    y = rpm.ds(('cap', b[0], b[1]), rpm.RPMTAG_REQUIRENAME)",
    '    out.append(1 if x.Compare(y) else 0)',
    'print(json.dumps(out))',
  ].join('\n');
  const child = execFile('/usr/bin/python3', ['-c', py], { maxBuffer: 1 << 24 });
  child.stdin?.end(JSON.stringify(pairs.map(([a, b]) => [[a.flags, a.evr ?? ''], [b.flags, b.evr ?? '']])));
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, 'python3 rpm binding failed');
  return (JSON.parse(stdout) as number[]).map((n) => n === 1);
}

void test('rangesOverlap agrees with the real rpm’s rpmdsCompare', async () => {
  const { LESS, GREATER, EQUAL } = DepFlag;
  const senses = [0, EQUAL, LESS, GREATER, LESS | EQUAL, GREATER | EQUAL];
  const evrs = ['1.0', '1.0-1', '1.0-2', '2.0', '0:1.0', '1:0.5', '1:1.0-1', '1.0~rc1', '1.0^git1-1', '', '0.9-10', '1.0-1.fc40'];
  const pairs: Array<[Range, Range]> = [];
  for (const fa of senses) for (const fb of senses) for (const ea of evrs) for (const eb of evrs) pairs.push([{ flags: fa, evr: ea }, { flags: fb, evr: eb }]);
  const real = await realOverlap(pairs);
  const mismatches = pairs
    .map(([a, b], i) => ({ a, b, rpm: real[i], ours: rangesOverlap(a, b) }))
    .filter((m) => m.rpm !== m.ours);
  assert.deepEqual(mismatches, []);
  assert.ok(pairs.length > 5000);
});
