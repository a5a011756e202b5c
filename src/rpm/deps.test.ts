import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRichDep, parseRichDep, formatDep, senseOp, depPhases } from './deps.ts';
import { DepFlag } from './tags.ts';
import { FormatError } from '../util/errors.ts';

void test('rich dependencies parse into expressions and print back', () => {
  assert.deepEqual(parseRichDep('(a or b)'), {
    type: 'or',
    args: [
      { type: 'dep', name: 'a', op: '', version: '' },
      { type: 'dep', name: 'b', op: '', version: '' },
    ],
  });
  assert.deepEqual(parseRichDep('(foo >= 2:1.0-1 if bar)'), {
    type: 'if',
    then: { type: 'dep', name: 'foo', op: '>=', version: '2:1.0-1' },
    cond: { type: 'dep', name: 'bar', op: '', version: '' },
  });
  const samples = [
    '(a and b and c)',
    '((a or b) if (c and d) else e)',
    '(perl(Foo::Bar) >= 1.0 with perl(Baz))',
    '(x unless (y or z) else w)',
    '(m without n)',
    '(python3.11dist(foo) < 3~rc1^git)',
  ];
  for (const s of samples) assert.equal(formatRichDep(parseRichDep(s)), s);
  // Redundant parentheses and spacing normalise.
  assert.equal(formatRichDep(parseRichDep('( (a)  or  b )')), '(a or b)');
  assert.equal(formatRichDep(parseRichDep('(a => 1)')), '(a >= 1)');
});

void test('malformed rich dependencies are FormatErrors with an offset', () => {
  for (const s of ['a or b', '(a or b', '(a or b and c)', '(a if)', '(or b)', '(a xor b)', '(a >= )', '(a) junk', '(perl(Foo or b)', '()']) {
    assert.throws(() => parseRichDep(s), (e: unknown) => e instanceof FormatError && /rich dependency/.test(e.message) && /offset \d+/.test(e.message), s);
  }
});

void test('sense flags, phases and formatting', () => {
  assert.equal(senseOp(DepFlag.LESS | DepFlag.EQUAL), '<=');
  assert.equal(senseOp(DepFlag.GREATER), '>');
  assert.equal(senseOp(0), '');
  assert.deepEqual(depPhases(DepFlag.SCRIPT_PRE | DepFlag.SCRIPT_POST | DepFlag.INTERP), ['pre', 'post', 'interp']);
  assert.equal(formatDep({ name: 'a', op: '=', version: '1' }), 'a = 1');
  assert.equal(formatDep({ name: 'a', op: '', version: '' }), 'a');
});
