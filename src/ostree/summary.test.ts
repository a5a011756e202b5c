import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize, Variant } from '../gvariant/index.ts';
import { FormatError, UsageError } from '../util/errors.ts';
import { parseSummary, parseDeltaIndex, checksumToB64, checksumFromB64, deltaRelDir, deltaIndexRelPath, parseDeltaName, SUMMARY_TYPE } from './summary.ts';
import { parseSuperblock, varint, SUPERBLOCK_TYPE } from './static-delta.ts';
import { ed25519Generate, ed25519Sign, ed25519Verify } from './sign-ed25519.ts';

const A = 'cebc25fcf32b4ebfa6088ba0b7afddf402412160ea9f938787a1329ddc835ec4';
const B = '8a3a0e9864c4410bb30e777c579a71d9120614fdfcd69a98389d6c59d89d8fb2';

void test('delta paths use modified base64 (format doc example)', () => {
  assert.equal(deltaRelDir(A, B), 'deltas/zr/wl_PMrTr+mCIugt6_d9AJBIWDqn5OHh6EyndyDXsQ-ijoOmGTEQQuzDnd8V5px2RIGFP381pqYOJ1sWdidj7I');
  assert.equal(deltaRelDir(null, B), 'deltas/ij/oOmGTEQQuzDnd8V5px2RIGFP381pqYOJ1sWdidj7I');
  assert.equal(deltaIndexRelPath(B), 'delta-indexes/ij/oOmGTEQQuzDnd8V5px2RIGFP381pqYOJ1sWdidj7I.index');
  assert.equal(checksumFromB64(checksumToB64(A)), A);
  assert.throws(() => checksumFromB64('not/valid'), FormatError);
  assert.deepEqual(parseDeltaName(`${A}-${B}`), { from: A, to: B });
  assert.deepEqual(parseDeltaName(B), { from: null, to: B });
  assert.throws(() => parseDeltaName('x-y'), UsageError);
});

void test('varint is protobuf-style LEB128', () => {
  assert.deepEqual([...varint(0)], [0]);
  assert.deepEqual([...varint(127)], [127]);
  assert.deepEqual([...varint(128)], [0x80, 1]);
  assert.deepEqual([...varint(300)], [0xac, 0x02]);
  assert.deepEqual([...varint(2 ** 40)], [0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
});

function sampleSummary(): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(1700000000n);
  return serialize(SUMMARY_TYPE, [
    [['os/x', [190n, Buffer.from(B, 'hex'), [['ostree.commit.timestamp', new Variant('t', ts.readBigUInt64LE())], ['ostree.commit.version', new Variant('s', '1.2')]]]]],
    [['ostree.summary.mode', new Variant('s', 'archive-z2')], ['ostree.static-deltas', new Variant('a{sv}', [[`${A}-${B}`, new Variant('ay', Buffer.alloc(32, 7))]])],
      ['ostree.summary.indexed-deltas', new Variant('b', true)]],
  ]);
}

void test('parseSummary reads refs, BE timestamps, versions and deltas', () => {
  const s = parseSummary(sampleSummary());
  const r = s.refs.get('os/x');
  assert.equal(r?.checksum, B);
  assert.equal(r?.commitSize, 190n);
  assert.equal(r?.timestamp, 1700000000n);
  assert.equal(r?.version, '1.2');
  assert.equal(s.deltas.get(`${A}-${B}`), '07'.repeat(32));
  assert.equal(s.indexedDeltas, true);
  assert.equal(s.mode, 'archive-z2');
  const idx = serialize('a{sv}', [['ostree.static-deltas', new Variant('a{sv}', [[B, new Variant('ay', Buffer.alloc(32, 1))]])]]);
  assert.equal(parseDeltaIndex(idx).get(B), '01'.repeat(32));
});

void test('hostile summaries and superblocks: only FormatError, never a crash (5000 mutations each)', () => {
  const base = sampleSummary();
  const sb = serialize(SUPERBLOCK_TYPE, [
    [['ostree.endianness', new Variant('y', 0x6c)]], 0n, Buffer.alloc(0), Buffer.from(B, 'hex'),
    [[], Buffer.alloc(0), [], 'subject', '', 0n, Buffer.alloc(32, 1), Buffer.alloc(32, 2)], Buffer.alloc(0),
    [[0, Buffer.alloc(32, 3), 10n, 20n, Buffer.concat([Buffer.from([1]), Buffer.alloc(32, 4)])]], [],
  ]);
  assert.equal(parseSuperblock(sb).parts[0].objectList[0].type, 'file');
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const [name, data, fn] of [['summary', base, (b: Buffer) => parseSummary(b)], ['superblock', sb, (b: Buffer) => parseSuperblock(b)]] as const) {
    for (let i = 0; i < 5000; i++) {
      const m = Buffer.from(data);
      const kind = rnd(3);
      let input: Buffer = m;
      if (kind === 0) for (let k = 0; k <= rnd(4); k++) m[rnd(m.length)] = rnd(256);
      else if (kind === 1) input = m.subarray(0, rnd(m.length));
      else input = Buffer.concat([m, Buffer.alloc(rnd(16), rnd(256))]);
      try {
        fn(input);
      } catch (err) {
        assert.ok(err instanceof FormatError, `${name} mutation ${i}: ${String(err)}`);
      }
    }
  }
});

void test('ed25519: sign/verify round trip; altered data or signature fails', () => {
  const k = ed25519Generate();
  const data = Buffer.from('commit bytes');
  const sig = ed25519Sign(data, k.secretKey);
  assert.equal(sig.length, 64);
  assert.ok(ed25519Verify(data, sig, k.publicKey));
  assert.ok(!ed25519Verify(Buffer.from('commit bytez'), sig, k.publicKey));
  sig[5] ^= 1;
  assert.ok(!ed25519Verify(data, sig, k.publicKey));
  assert.throws(() => ed25519Sign(data, Buffer.alloc(64, 1).toString('base64')), FormatError);
});

void test('rollsumSegments rebuilds the new file from old blocks and literals', async () => {
  const { rollsumSegments } = await import('./static-delta.ts');
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed & 0xff;
  };
  const old = Buffer.from(Array.from({ length: 200_000 }, rnd));
  const cases = [
    Buffer.concat([old.subarray(0, 50_000), Buffer.from('inserted'), old.subarray(50_000)]),
    Buffer.concat([old.subarray(100_000), old.subarray(0, 100_000)]),
    Buffer.from(old).fill(1, 70_000, 70_016),
    Buffer.from(Array.from({ length: 10_000 }, rnd)),
    Buffer.alloc(0),
  ];
  for (const [i, neu] of cases.entries()) {
    const segs = rollsumSegments(old, neu);
    const rebuilt = Buffer.concat(segs.map((g) => (g.copy ? old.subarray(g.offset, g.offset + g.length) : neu.subarray(g.offset, g.offset + g.length))));
    assert.ok(rebuilt.equals(neu), `case ${i}`);
    const literal = segs.reduce((n, g) => n + (g.copy ? 0 : g.length), 0);
    if (i < 3) assert.ok(literal < 5000, `case ${i}: ${literal} literal bytes`);
  }
});
