/**
 * Hostile input: mutated real encodings must only ever produce FormatError (never RangeError,
 * TypeError or a hang), and whatever is accepted must be canonical (re-serialises to the same bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FormatError } from '../../src/util/errors.ts';
import { parse, serialize, Variant, type GVariantValue } from '../../src/gvariant/index.ts';
import { Rng, randomType, randomValue } from './_random.ts';
import { mutate } from './_mutate.ts';

interface Seed {
  type: string;
  bytes: Buffer;
}

function corpus(r: Rng): Seed[] {
  const seeds: Seed[] = [];
  const ex = JSON.parse(readFileSync('/work/shared/vectors/gvariant-examples.json', 'utf8')) as { examples: Array<{ type: string; hex?: string }> };
  for (const e of ex.examples) if (e.hex !== undefined) seeds.push({ type: e.type, bytes: Buffer.from(e.hex, 'hex') });
  // OSTree object shapes
  const csum = Buffer.alloc(32, 0xab);
  seeds.push({ type: '(a(say)a(sayay))', bytes: serialize('(a(say)a(sayay))', [[['a', csum], ['b', csum]], [['d', csum, csum]]]) });
  const meta: GVariantValue = [['version', new Variant('s', '1.0')], ['ostree.ref-binding', new Variant('as', ['main'])]];
  seeds.push({ type: '(a{sv}aya(say)sstayay)', bytes: serialize('(a{sv}aya(say)sstayay)', [meta, csum, [], 'subject', 'body', 1600000000n, csum, csum]) });
  seeds.push({ type: '(uuua(ayay))', bytes: serialize('(uuua(ayay))', [0, 0, 0x41ed, [[Buffer.from('user.a\0'), Buffer.from('v')]]]) });
  for (let i = 0; i < 300; i++) {
    const type = randomType(r, 4);
    seeds.push({ type, bytes: serialize(type, randomValue(r, type)) });
  }
  return seeds;
}

void test('100k mutated encodings: only FormatError, accepted input is canonical', () => {
  const r = new Rng(0xf022);
  const seeds = corpus(r);
  let accepted = 0;
  let rejected = 0;
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) {
    const seed = seeds[r.int(seeds.length)];
    const bytes = mutate(r, seed.bytes);
    let value: GVariantValue;
    try {
      value = parse(seed.type, bytes);
    } catch (err) {
      if (!(err instanceof FormatError) || err.message.includes('internal parser error')) {
        assert.fail(`parse('${seed.type}', ${bytes.toString('hex')}) threw ${String(err)}`);
      }
      rejected++;
      continue;
    }
    accepted++;
    // nested maybes and NaN payloads are the two things the JS value model cannot carry exactly
    if (seed.type.includes('mm')) continue;
    const again = serialize(seed.type, value);
    if (!again.equals(bytes) && !(seed.type.includes('d') && hasNaN(value))) {
      assert.fail(`parse accepted non-canonical '${seed.type}' ${bytes.toString('hex')} (re-serialises to ${again.toString('hex')})`);
    }
  }
  const ms = performance.now() - t0;
  assert.ok(accepted > 1000 && rejected > 10_000, `accepted ${accepted}, rejected ${rejected}`);
  assert.ok(ms < 20_000, `fuzzing took ${ms} ms`);
});

function hasNaN(v: GVariantValue): boolean {
  if (typeof v === 'number') return Number.isNaN(v);
  if (Array.isArray(v)) return v.some(hasNaN);
  if (v instanceof Variant) return hasNaN(v.value);
  return false;
}

void test('adversarial shapes do bounded work', () => {
  const r = new Rng(7);
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = r.int(4) === 0 ? r.int(256) : 0;
  for (const type of ['aaaaaaaay', 'aaaaaaas', 'av', 'a(vvv)', 'aav', 'a{sv}', '(a(say)a(sayay))', 'amamamav']) {
    for (const data of [big, Buffer.alloc(1 << 20), Buffer.alloc(1 << 20, 0xff)]) {
      const t0 = performance.now();
      try {
        parse(type, data);
      } catch (err) {
        assert.ok(err instanceof FormatError, String(err));
      }
      const ms = performance.now() - t0;
      assert.ok(ms < 2000, `${type}: ${ms} ms for 1 MiB`);
    }
  }
  // all-zero offsets: 60000 empty elements (valid and canonical), each visited once
  assert.equal((parse('aay', Buffer.alloc(240000)) as unknown[]).length, 60000);
  const manyEmpty = serialize('aay', Array.from({ length: 50000 }, () => Buffer.alloc(0)));
  assert.equal((parse('aay', manyEmpty) as unknown[]).length, 50000);
  // deep variant nesting in a small input
  const deep = Buffer.concat([Buffer.from([1]), ...Array.from({ length: 5000 }, (_, i) => Buffer.from(i === 0 ? '\0y' : '\0v'))]);
  assert.throws(() => parse('v', deep), FormatError);
});
