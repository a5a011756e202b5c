import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Pool } from '../../src/solver/index.ts';

// Pairs from the caret/tilde testcase plus epoch/release/alpha-numeric corner cases.
const PAIRS: Array<[string, string]> = [
  ...readFileSync('/work/shared/vectors/libsolv/upstream/evrcmp/caret.t', 'utf8')
    .split('\n').filter((l) => l.startsWith('evrcmp ')).map((l) => l.split(/\s+/).slice(1, 3) as [string, string]),
  ['1.0', '1.0-1'], ['1:1.0', '2.0'], ['0:1.0', '1.0'], ['1.0-2', '1.0-10'], ['1.0a', '1.0'], ['1.a', '1.1'],
  ['1.01', '1.1'], ['1.0.0', '1.0'], ['2.0_1', '2.0.1'], ['1.0~', '1.0'], ['1.0+git', '1.0'], ['10', '9'],
  ['1.0-1.fc40', '1.0-1.fc39'], ['fc4', 'fc.4'], ['3.0.0', '3_0_0'], ['1e', '1E'], ['6.1.0-13', '6.1.0-9'],
];

void test('EVR comparison matches rpm 4.18 (rpm.vercmp run now) for every pair', () => {
  // rpm.vercmp compares full [E:]V[-R] strings, like libsolv's rpm-mode evrcmp.
  const lua = PAIRS.map(([a, b]) => `%{lua: print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}))}`).join('\n');
  const rpmOut = execFileSync('rpm', ['--eval', lua], { encoding: 'utf8' }).trim().split('\n').map(Number);
  assert.equal(rpmOut.length, PAIRS.length);
  const pool = Pool.create({ arch: 'x86_64' });
  try {
    PAIRS.forEach(([a, b], i) => {
      assert.equal(pool.evrcmp(a, b), Math.sign(rpmOut[i]), `${a} vs ${b}`);
    });
  } finally {
    pool.free();
  }
});
