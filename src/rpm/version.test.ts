import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareEVR, comparePackageEVR, formatEVR, parseEVR, rangesOverlap, rpmvercmp } from './version.ts';
import { DepFlag } from './tags.ts';

const { LESS: LT, GREATER: GT, EQUAL: EQ } = DepFlag;

void test('parseEVR splits like rpm', () => {
  assert.deepEqual(parseEVR('1.0'), { version: '1.0' });
  assert.deepEqual(parseEVR('1.0-2'), { version: '1.0', release: '2' });
  assert.deepEqual(parseEVR('3:1.0-2.fc40'), { epoch: '3', version: '1.0', release: '2.fc40' });
  assert.deepEqual(parseEVR(':1.0'), { epoch: '0', version: '1.0' });
  assert.deepEqual(parseEVR('1.0-rc-2'), { version: '1.0-rc', release: '2' });
  assert.deepEqual(parseEVR('a:1'), { version: 'a:1' });
  assert.equal(formatEVR(parseEVR('3:1.0-2')), '3:1.0-2');
  assert.equal(formatEVR({ version: '1' }), '1');
});

void test('compareEVR: missing epoch is 0, missing release matches any', () => {
  assert.equal(compareEVR({ version: '1.0' }, { epoch: 0, version: '1.0' }), 0);
  assert.equal(compareEVR({ epoch: 1, version: '1.0' }, { version: '9.0' }), 1);
  assert.equal(compareEVR({ version: '1.0', release: '5' }, { version: '1.0' }), 0);
  assert.equal(compareEVR({ version: '1.0', release: '5' }, { version: '1.0', release: '10' }), -1);
  assert.equal(comparePackageEVR({ version: '1.0', release: '5' }, { version: '1.0' }), 1);
  assert.equal(rpmvercmp('1.0~rc1', '1.0'), -1);
});

void test('rangesOverlap follows rpmdsCompare', () => {
  const r = (flags: number, evr?: string): { flags: number; evr?: string } => (evr === undefined ? { flags } : { flags, evr });
  // existence tests always overlap
  assert.equal(rangesOverlap(r(0), r(LT, '1.0')), true);
  assert.equal(rangesOverlap(r(EQ), r(LT, '1.0')), true);
  // simple ranges
  assert.equal(rangesOverlap(r(EQ, '1.0-1'), r(GT | EQ, '1.0')), true);
  assert.equal(rangesOverlap(r(EQ, '1.0-1'), r(GT, '1.0')), false);
  assert.equal(rangesOverlap(r(EQ, '1.0-1'), r(LT, '1.0-2')), true);
  assert.equal(rangesOverlap(r(EQ, '2.0'), r(LT, '1.0')), false);
  assert.equal(rangesOverlap(r(LT, '1.0'), r(LT, '5.0')), true);
  assert.equal(rangesOverlap(r(GT, '5.0'), r(LT, '1.0')), false);
  assert.equal(rangesOverlap(r(GT, '1.0'), r(LT, '5.0')), true);
  // a missing release on the EQUAL side matches any release
  assert.equal(rangesOverlap(r(EQ, '1.0-7'), r(EQ, '1.0')), true);
  assert.equal(rangesOverlap(r(EQ, '1.0'), r(LT, '1.0-7')), true);
  assert.equal(rangesOverlap(r(GT, '1.0'), r(EQ, '1.0-7')), false);
  // epochs
  assert.equal(rangesOverlap(r(EQ, '1:1.0'), r(LT, '2.0')), false);
  assert.equal(rangesOverlap(r(EQ, '0:1.0'), r(EQ, '1.0')), true);
  assert.equal(rangesOverlap({ flags: EQ, evr: { epoch: 2, version: '1' } }, r(GT | EQ, '2:1')), true);
});
