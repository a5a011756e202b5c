/**
 * Property tests: random values of random types survive serialise → parse and print → read,
 * including containers big enough for 2- and 4-byte framing offsets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatText, parse, parseText, serialize, Variant, type GVariantValue } from '../../src/gvariant/index.ts';
import { offsetWidthOf } from '../../src/gvariant/_framing.ts';
import { Rng, randomType, randomValue } from './_random.ts';

function roundTrip(type: string, value: GVariantValue): Buffer {
  const bytes = serialize(type, value);
  const back = parse(type, bytes);
  assert.deepEqual(back, value, `${type}: parse(serialize(v)) != v`);
  assert.ok(serialize(type, back).equals(bytes), `${type}: re-serialising changed the bytes`);
  const text = formatText(type, back, true);
  assert.ok(serialize(type, parseText(type, text)).equals(bytes), `${type}: text round trip ${text.slice(0, 200)}`);
  const inferred = parseText(null, text) as Variant;
  assert.equal(inferred.type, type, `${type}: annotated text should infer its own type: ${text.slice(0, 200)}`);
  return bytes;
}

void test('5000 random values of random types round-trip (bytes, value, text, inferred type)', () => {
  const r = new Rng(42);
  let sizes = { small: 0, w2: 0, w4: 0 };
  for (let i = 0; i < 5000; i++) {
    const type = randomType(r, 5);
    const bytes = roundTrip(type, randomValue(r, type, i % 7 === 0));
    const w = offsetWidthOf(bytes.length);
    sizes = { small: sizes.small + (w === 1 ? 1 : 0), w2: sizes.w2 + (w === 2 ? 1 : 0), w4: sizes.w4 + (w === 4 ? 1 : 0) };
  }
  assert.ok(sizes.w2 > 50, `only ${sizes.w2} values needed 2-byte offsets`);
});

void test('alignment padding inside tuples, arrays and variants', () => {
  const cases: Array<[string, GVariantValue]> = [
    ['(yt)', [1, 2n]],
    ['(ya(yt))', [1, [[2, 3n], [4, 5n]]]],
    ['a(sx)', [['a', -1n], ['bcd', 2n]]],
    ['(yvy)', [1, new Variant('(yd)', [2, 0.5]), 3]],
    ['a{yv}', [[1, new Variant('t', 1n)], [2, new Variant('ay', Buffer.from([9]))]]],
    ['(ms(qt)mt)', ['', [1, 2n], null]],
    ['m(ys)', [7, 'x']],
    ['(()y())', [[], 5, []]],
    ['a()', [[], [], []]],
  ];
  for (const [t, v] of cases) roundTrip(t, v);
  // (yt): byte, 7 zero bytes, uint64 — fixed size 16
  assert.equal(serialize('(yt)', [1, 2n]).toString('hex'), '01000000000000000200000000000000');
});

void test('containers over 256 B and over 64 KiB use 2- and 4-byte framing offsets', () => {
  const strs = Array.from({ length: 300 }, (_, i) => `s${i}`);
  const as = roundTrip('as', strs);
  assert.equal(offsetWidthOf(as.length), 2);
  assert.equal(as.readUInt16LE(as.length - 2), as.length - 600); // last offset = end of body

  // a dirtree-shaped value with 3000 files: ~110 KiB, 4-byte offsets everywhere at the top
  const files = Array.from({ length: 3000 }, (_, i) => [`file-${String(i).padStart(5, '0')}`, Buffer.alloc(32, i & 0xff)] as GVariantValue);
  const dirs = Array.from({ length: 100 }, (_, i) => [`dir${i}`, Buffer.alloc(32, 1), Buffer.alloc(32, 2)] as GVariantValue);
  const tree = roundTrip('(a(say)a(sayay))', [files, dirs]);
  assert.ok(tree.length > 65536);
  assert.equal(offsetWidthOf(tree.length), 4);

  // a{sv} with a big nested value
  const meta: GVariantValue = [
    ['big', new Variant('as', Array.from({ length: 8000 }, (_, i) => 'x'.repeat(i % 20)))],
    ['n', new Variant('t', 1n)],
  ];
  const m = roundTrip('a{sv}', meta);
  assert.ok(m.length > 65536);
});
