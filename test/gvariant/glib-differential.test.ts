/**
 * Differential test against real GLib (python3-gi, one python process per batch):
 * random values of random types must serialise to GLib's exact bytes, print like GLib,
 * and our strict parser must accept exactly the mutated encodings GLib calls normal form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../../src/util/errors.ts';
import { Variant, formatText, parse, parseText, serialize, type GVariantValue } from '../../src/gvariant/index.ts';
import { Rng, randomType, randomValue } from './_random.ts';
import { mutate } from './_mutate.ts';

const ORACLE = fileURLToPath(new URL('./_glib_oracle.py', import.meta.url));

interface OracleResult {
  hex?: string;
  print?: string;
  error?: string;
  normal?: boolean;
  bytes_print?: string;
  inferred?: string;
  infer_error?: string;
}

/** Equality with a short message: the first differing position and some context, not two huge strings. */
function same(actual: string | undefined, expected: string, label: string): void {
  if (actual === expected) return;
  const a = actual ?? '<undefined>';
  let i = 0;
  while (i < a.length && i < expected.length && a[i] === expected[i]) i++;
  assert.fail(`${label}: differ at ${i}: glib …${a.slice(Math.max(0, i - 40), i + 40)}… ours …${expected.slice(Math.max(0, i - 40), i + 40)}…`);
}

/**
 * GLib 2.74 calls zero bytes "normal form" for a variable-size tuple whose members could all be
 * empty (e.g. '(msas)', also nested inside arrays), although re-serialising that value gives
 * the framing offsets back ('0000'). We reject it: accepting would let two byte strings mean
 * the same value (and so the same object get two checksums).
 */
function glibEmptyTupleQuirk(ourError: string | undefined, glibNormal: boolean | undefined): boolean {
  return glibNormal === true && (ourError ?? '').includes('empty data for a tuple that needs framing offsets');
}

function glib(cases: Array<{ type: string; text?: string; hex?: string; infer?: string }>): OracleResult[] {
  const out = execFileSync('/usr/bin/python3', [ORACLE], { input: JSON.stringify(cases), maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(out) as OracleResult[];
}

void test('2000 random values: our bytes and text equal GLib; GLib text and bytes read back', () => {
  const r = new Rng(0x5eed);
  const cases: Array<{ type: string; value: GVariantValue; hex: string; text: string }> = [];
  for (let i = 0; i < 2000; i++) {
    const type = randomType(r, 4);
    const value = randomValue(r, type, i % 10 === 0);
    const hex = serialize(type, value).toString('hex');
    cases.push({ type, value, hex, text: formatText(type, value, true) });
  }
  const results = glib(cases.map(({ type, text, hex }) => ({ type, text, hex, infer: text })));
  let big = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const g = results[i];
    const label = `#${i} ${c.type} ${c.text.slice(0, 100)}`;
    assert.equal(g.error, undefined, `${label}: GLib could not parse our text: ${g.error}`);
    same(g.hex, c.hex, `${label}: GLib bytes from our text differ from ours`);
    assert.equal(g.normal, true, `${label}: GLib says our bytes are not normal form`);
    same(g.bytes_print, c.text, `${label}: GLib prints our bytes differently`);
    same(g.print, c.text, `${label}: GLib prints differently`);
    assert.deepEqual(parse(c.type, Buffer.from(g.hex!, 'hex')), parse(c.type, serialize(c.type, c.value)), label);
    same(serialize(c.type, parseText(c.type, g.print!)).toString('hex'), c.hex, `${label}: reading GLib's text`);
    assert.equal((parseText(null, c.text) as Variant).type, g.inferred, `${label}: inferred type`);
    if (c.hex.length > 512) big++;
  }
  assert.ok(big > 20, `only ${big} containers over 256 bytes`);
});

void test('3000 mutated encodings: parse accepts exactly what GLib calls normal form', () => {
  const r = new Rng(0xbad5eed);
  const cases: Array<{ type: string; hex: string; ok: boolean; err?: string }> = [];
  while (cases.length < 3000) {
    const type = randomType(r, 3);
    const src = serialize(type, randomValue(r, type));
    for (let k = 0; k < 3; k++) {
      const bytes = mutate(r, src);
      let ok = true;
      let err: string | undefined;
      try {
        parse(type, bytes);
      } catch (e) {
        assert.ok(e instanceof FormatError, `${type} ${bytes.toString('hex')}: ${String(e)}`);
        ok = false;
        err = e.message;
      }
      cases.push({ type, hex: bytes.toString('hex'), ok, err });
    }
  }
  const results = glib(cases.map(({ type, hex }) => ({ type, hex })));
  const disagreements: string[] = [];
  let accepted = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    if (c.ok) accepted++;
    if (c.ok !== results[i].normal && !glibEmptyTupleQuirk(c.err, results[i].normal)) disagreements.push(`${c.type} ${c.hex}: ours=${c.ok} (${c.err ?? ''}) glib=${results[i].normal}`);
    // nested maybes: "just nothing" and "nothing" are both null in our value model
    // NaN: JS numbers do not keep the sign/payload of NaN, GLib prints "-nan" for some
    else if (c.ok && !c.type.includes('mm') && !/nan/.test(results[i].bytes_print ?? '')) assert.equal(formatText(c.type, parse(c.type, Buffer.from(c.hex, 'hex')), true), results[i].bytes_print, `${c.type} ${c.hex}: printing`);
  }
  assert.deepEqual(disagreements, []);
  assert.ok(accepted > 100, `only ${accepted} mutated cases were valid; the test is too weak`);
});

void test('type inference of unannotated text agrees with GLib (type or error) on 3000 random texts', () => {
  const r = new Rng(0x1f3);
  const texts: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const type = randomType(r, 3);
    texts.push(formatText(type, randomValue(r, type), r.int(4) === 0));
  }
  texts.push('[1, 2.5]', '[1, int64 2]', "[@ms 'a', 'b', nothing]", '{1: "a", 2: 3}', '[(1, "a"), (2, nothing)]', '[[], [1]]', '[{}, {1: 2}]', '<[]>', '[just 1, just nothing]');
  const results = glib(texts.map((t) => ({ type: 's', infer: t })));
  const diffs: string[] = [];
  texts.forEach((text, i) => {
    let ours: string;
    try {
      ours = (parseText(null, text) as Variant).type;
    } catch (err) {
      assert.ok(err instanceof FormatError, String(err));
      ours = 'error';
    }
    const theirs = results[i].inferred ?? 'error';
    if (ours !== theirs) diffs.push(`${text.slice(0, 120)}: ours ${ours}, glib ${theirs} ${results[i].infer_error ?? ''}`);
  });
  assert.deepEqual(diffs, []);
});

void test('3000 mutated texts: parseText accepts, rejects and infers exactly like GLib', () => {
  const r = new Rng(0x7e47);
  const CH = `[](){}<>@,:'"\\bjnxu0123456789.-+e asyvmi`;
  const cases: Array<{ type: string; text: string }> = [];
  while (cases.length < 3000) {
    const type = randomType(r, 3);
    let text = formatText(type, randomValue(r, type), r.int(2) === 0);
    for (let k = 0, n = r.int(3); k < n; k++) {
      const at = r.int(text.length + 1);
      const op = r.int(3);
      const ch = CH[r.int(CH.length)];
      text = op === 0 ? text.slice(0, at) + ch + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + 1);
    }
    if (text.isWellFormed()) cases.push({ type, text });
  }
  const results = glib(cases.map((c) => ({ type: c.type, text: c.text, infer: c.text })));
  const diffs: string[] = [];
  let accepted = 0;
  cases.forEach((c, i) => {
    let ours: string;
    try {
      ours = serialize(c.type, parseText(c.type, c.text)).toString('hex');
      accepted++;
    } catch (err) {
      assert.ok(err instanceof FormatError, `${c.text}: ${String(err)}`);
      ours = 'error';
    }
    let inferred: string;
    try {
      inferred = (parseText(null, c.text) as Variant).type;
    } catch (err) {
      assert.ok(err instanceof FormatError, `${c.text}: ${String(err)}`);
      inferred = 'error';
    }
    const g = results[i];
    if (ours !== (g.hex ?? 'error')) diffs.push(`'${c.type}' ${c.text.slice(0, 120)}: ours ${ours.slice(0, 60)}, glib ${g.hex?.slice(0, 60) ?? g.error}`);
    if (inferred !== (g.inferred ?? 'error')) diffs.push(`infer ${c.text.slice(0, 120)}: ours ${inferred}, glib ${g.inferred ?? g.infer_error}`);
  });
  assert.deepEqual(diffs, []);
  assert.ok(accepted > 1000, `only ${accepted} texts parsed`);
});
