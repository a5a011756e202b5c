import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FormatError } from '../util/errors.ts';
import { Variant, bswap32, bswap64, formatDouble, formatText, isValidType, parse, parseText, serialize, type GVariantValue } from './index.ts';
import { offsetWidthFor, offsetWidthOf, readOffset, writeOffset } from './_framing.ts';

interface Example {
  name: string;
  type: string;
  text: string;
  size: number;
  hex?: string;
  hex_head?: string;
  hex_tail?: string;
  sha256?: string;
}
const examples = (JSON.parse(readFileSync('/work/shared/vectors/gvariant-examples.json', 'utf8')) as { examples: Example[] }).examples;

function checkBytes(e: Example, bytes: Buffer): void {
  assert.equal(bytes.length, e.size, `${e.name}: size`);
  if (e.hex !== undefined) assert.equal(bytes.toString('hex'), e.hex, `${e.name}: bytes`);
  else {
    assert.equal(bytes.subarray(0, e.hex_head!.length / 2).toString('hex'), e.hex_head, `${e.name}: head`);
    assert.equal(bytes.subarray(bytes.length - e.hex_tail!.length / 2).toString('hex'), e.hex_tail, `${e.name}: tail`);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), e.sha256, `${e.name}: sha256`);
  }
}

void test('GLib examples: text → bytes, bytes → value → text, type inference', () => {
  assert.equal(examples.length, 58);
  for (const e of examples) {
    const fromText = parseText(e.type, e.text);
    const bytes = serialize(e.type, fromText);
    checkBytes(e, bytes);
    const parsed = parse(e.type, bytes);
    assert.deepEqual(parsed, fromText, `${e.name}: parse(serialize(x)) == x`);
    if (e.hex !== undefined) assert.deepEqual(parse(e.type, Buffer.from(e.hex, 'hex')), fromText, `${e.name}: parse GLib bytes`);
    assert.equal(formatText(e.type, parsed, true), e.text, `${e.name}: formatText`);
    const inferred = parseText(null, e.text) as Variant;
    assert.ok(inferred instanceof Variant);
    assert.equal(inferred.type, e.type, `${e.name}: inferred type`);
    assert.deepEqual(inferred.value, fromText, `${e.name}: inferred value`);
  }
});

void test('worked examples from the format reference', () => {
  const hex = (t: string, v: GVariantValue): string => serialize(t, v).toString('hex');
  assert.equal(hex('(ss)', ['ab', 'cd']), '61620063640003');
  assert.equal(hex('v', new Variant('v', new Variant('u', 5))), '0500000000750076');
  assert.equal(hex('ms', ''), '0000');
  assert.equal(hex('(a(say)a(sayay))', [[], []]), '00');
  const xattrs = [
    [Buffer.from('user.alpha\0'), Buffer.from('first')],
    [Buffer.from('user.zeta\0'), Buffer.from('last')],
  ];
  assert.equal(hex('a(ayay)', xattrs), '757365722e616c70686100666972737' + '40b757365722e7a657461006c6173740a1120');
  // numbers are accepted for x/t and byte arrays as plain arrays
  assert.equal(hex('t', 1), '0100000000000000');
  assert.equal(hex('ay', [1, 2]), '0102');
});

void test('framing offset widths at the boundaries', () => {
  assert.equal(offsetWidthFor(0, 0), 0);
  assert.equal(offsetWidthFor(253, 2), 1);
  assert.equal(offsetWidthFor(254, 2), 2);
  assert.equal(offsetWidthFor(0xffff - 4, 2), 2);
  assert.equal(offsetWidthFor(0xffff - 3, 2), 4);
  assert.equal(offsetWidthFor(0xffffffff - 8, 2), 4);
  assert.equal(offsetWidthFor(0xffffffff - 7, 2), 8);
  assert.equal(offsetWidthOf(255), 1);
  assert.equal(offsetWidthOf(256), 2);
  assert.equal(offsetWidthOf(65536), 4);
  assert.equal(offsetWidthOf(2 ** 32), 8);
  const b = Buffer.alloc(8);
  for (const v of [0, 1, 0xfffffffe, 2 ** 40 + 5, 2 ** 53 - 1]) {
    writeOffset(b, 0, 8, v);
    assert.equal(readOffset(b, 0, 8), v);
    assert.equal(b.readBigUInt64LE(0), BigInt(v));
  }
});

void test('isValidType', () => {
  for (const t of ['b', 'a{sv}', '(a(say)a(sayay))', '()', 'mmv', '{yv}', 'aa{s(ii)}']) assert.ok(isValidType(t), t);
  for (const t of ['', 'a', '(', ')', 'a{vs}', '{s}', '{sss}', 'ss', 'r', '*', '?', 'a{?*}', 'z', '(s', 'a'.repeat(200) + 'y']) assert.ok(!isValidType(t), t);
});

void test('bswap', () => {
  assert.equal(bswap32(0x41ed), 0xed410000);
  assert.equal(bswap32(0xed410000), 0x41ed);
  assert.equal(bswap32(0x000081a4), 2759917568);
  assert.equal(bswap64(1600000000n), 0x00105e5f00000000n);
  assert.equal(bswap64(bswap64(0x0102030405060708n)), 0x0102030405060708n);
  // the OSTree-stored values of the examples file
  assert.equal(serialize('u', bswap32(0o40755)).toString('hex'), '000041ed');
});

void test('serialize rejects values that do not fit, naming the path', () => {
  const cases: Array<[string, GVariantValue, RegExp]> = [
    ['u', -1, /'u'.*integer in 0\.\.4294967295/],
    ['y', 256, /'y'/],
    ['i', 1.5, /'i'/],
    ['s', 5, /expected a string/],
    ['s', 'a\0b', /without NUL/],
    ['s', '\ud800', /well-formed/],
    ['o', 'not/a/path', /object path/],
    ['g', 'a{', /signature/],
    ['(us)', [1], /array of 2/],
    ['a{sv}', [['k', 'notavariant']], /at \[0\]\[1\].*Variant/],
    ['v', new Variant('u', 'x'), /at \[<>\]/],
    ['t', -1n, /'t'/],
    ['x', 2n ** 63n, /'x'/],
    ['zz', 1, /invalid GVariant type string/],
  ];
  for (const [t, v, re] of cases) assert.throws(() => serialize(t, v), (err: unknown) => err instanceof FormatError && re.test(err.message), `${t} ${re}`);
});

void test('parse rejects malformed and non-normal encodings with the byte offset', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['b', '02', /boolean/],
    ['u', '010000', /size 3, expected 4/],
    ['s', '6162', /without NUL/],
    ['s', '610062', /without NUL/],
    ['s', '61006200', /NUL inside string/],
    ['s', 'ff00', /UTF-8/],
    ['o', '6100', /object path/],
    ['g', '7a00', /signature/],
    ['as', '610062006300020106', /out of order or out of bounds/],
    ['as', '6100ff', /beyond array size/],
    ['as', '61000000', /NUL inside|out of order|whole number/],
    ['(yu)', '0101000002000000', /non-zero padding/],
    ['(ss)', '6162006364000a', /out of bounds/],
    ['(sy)', '616200070003', /unused bytes|out of bounds/],
    ['v', 'ffff75', /type separator/],
    ['v', '05000000007a', /invalid variant type/],
    ['v', '0500000000797a', /invalid variant type/],
    ['ms', '7801', /trailing zero/],
    ['my', '0505', /size/],
    ['au', '0100000002', /multiple of element size/],
    ['()', '01', /unit/],
    ['(uu)', '01000000', /size 4, expected 8/],
  ];
  for (const [t, hex, re] of bad) {
    assert.throws(
      () => parse(t, Buffer.from(hex, 'hex')),
      (err: unknown) => err instanceof FormatError && re.test(err.message) && /at byte \d+/.test(err.message) && err.message.includes(`'${t}'`),
      `${t} ${hex}`,
    );
  }
});

void test('parse: ay is a zero-copy view; plain Uint8Array input works', () => {
  const buf = serialize('(say)', ['name', Buffer.from([1, 2, 3])]);
  const [name, bytes] = parse('(say)', buf) as [string, Buffer];
  assert.equal(name, 'name');
  assert.ok(Buffer.isBuffer(bytes));
  assert.equal(bytes.buffer, buf.buffer);
  const u8 = new Uint8Array(buf);
  assert.deepEqual(parse('(say)', u8), ['name', Buffer.from([1, 2, 3])]);
});

void test('parse bounds nesting depth instead of overflowing the stack', () => {
  // 300 nested variants around a byte
  let b = Buffer.from([7]);
  let inner = 'y';
  for (let i = 0; i < 300; i++) {
    b = Buffer.concat([b, Buffer.from([0]), Buffer.from(inner)]);
    inner = 'v';
  }
  assert.throws(() => parse('v', b), (err: unknown) => err instanceof FormatError && /nesting deeper/.test(err.message));
  // 100 nested variants are fine
  let v: Variant = new Variant('y', 7);
  for (let i = 0; i < 100; i++) v = new Variant('v', v);
  assert.deepEqual(parse('v', serialize('v', v)), v);
});

void test('text format: printing details match GLib rules', () => {
  assert.equal(formatText('(i)', [5], true), '(5,)');
  assert.equal(formatText('{sv}', ['a', new Variant('b', true)], true), "{'a', <true>}");
  assert.equal(formatText('s', "it's"), '"it\'s"');
  assert.equal(formatText('s', 'a\\b\n\u0001'), "'a\\\\b\\n\\u0001'");
  assert.equal(formatText('ay', Buffer.from("a'b\0")), 'b"a\'b"');
  assert.equal(formatText('ay', Buffer.from('\x01\x7f\n\0')), "b'\\001\\177\\n'");
  assert.equal(formatText('ay', Buffer.from('a\0b\0')), '[0x61, 0x00, 0x62, 0x00]');
  assert.equal(formatText('mmi', 5, true), '@mmi 5');
  assert.equal(formatText('ams', ['a', null], true), "[@ms 'a', nothing]");
  assert.equal(formatText('h', 3, true), 'handle 3');
  assert.equal(formatText('a{ss}', [], true), '@a{ss} {}');
  for (const [d, s] of [
    [1, '1.0'],
    [0.1, '0.10000000000000001'],
    [-0, '-0.0'],
    [1e21, '1e+21'],
    [1e-5, '1.0000000000000001e-05'],
    [Infinity, 'inf'],
    [NaN, 'nan'],
    [123.25, '123.25'],
  ] as const)
    assert.equal(formatDouble(d), s);
});

void test('text format: parsing keywords, escapes, maybes and inference', () => {
  assert.deepEqual(parseText('t', 'uint64 5'), 5n);
  assert.deepEqual(parseText('y', '0x1f'), 0x1f);
  assert.deepEqual(parseText('i', '010'), 8);
  assert.deepEqual(parseText('n', '-32768'), -32768);
  assert.deepEqual(parseText('ms', "'x'"), 'x');
  assert.deepEqual(parseText('ms', 'just "x"'), 'x');
  assert.deepEqual(parseText('ms', 'nothing'), null);
  assert.deepEqual(parseText('s', "'\\u00e9\\U0001F600\\t\\q'"), 'é😀\tq');
  assert.deepEqual(parseText('ay', "b'a\\001\\n'"), Buffer.from([0x61, 1, 10, 0]));
  assert.deepEqual(parseText(null, '(1, 2.5, "s", true, [byte 1], {"k": <@as []>})'), new Variant('(idsbay{sv})'.replace('{sv}', 'a{sv}'), [1, 2.5, 's', true, Buffer.from([1]), [['k', new Variant('as', [])]]]));
  assert.deepEqual(parseText(null, '[just 1, nothing]'), new Variant('ami', [1, null]));
  assert.deepEqual(parseText(null, '{1, "a"}'), new Variant('{is}', [1, 'a']));
  assert.deepEqual(parseText(null, "objectpath '/a/b'"), new Variant('o', '/a/b'));
  assert.deepEqual(parseText(null, '[1, int64 2]'), new Variant('ax', [1n, 2n]));
  assert.deepEqual(parseText(null, 'inf'), new Variant('d', Infinity));
});

void test('text format: errors are FormatErrors with the character offset', () => {
  const bad: Array<[string | null, string, RegExp]> = [
    [null, '[]', /unable to infer type/],
    [null, 'nothing', /unable to infer type/],
    [null, '[1, "a"]', /common type/],
    ['y', '256', /out of range/],
    ['u', '-1', /out of range/],
    ['t', '18446744073709551616', /too big/],
    ['i', '12abc', /invalid character/],
    ['s', "'abc", /unterminated/],
    ['s', '5', /can not parse as value of type 's'/],
    [null, '(1 2)', /expected ','/],
    [null, '[1, 2', /expected ','|expected value/],
    [null, 'foo', /unknown keyword/],
    [null, '1 2', /expected end of input/],
    ['o', "'x'", /object path/],
    [null, '[', /expected value/],
    [null, "'\\u0000'", /unicode escape/],
    [null, '['.repeat(1000) + ']'.repeat(1000), /nesting deeper/],
  ];
  for (const [t, text, re] of bad)
    assert.throws(() => parseText(t, text), (err: unknown) => err instanceof FormatError && re.test(err.message) && /at \d+/.test(err.message), `${t} ${text}`);
});

void test('serialize and formatText refuse values nested deeper than parse accepts', () => {
  let v: Variant = new Variant('y', 1);
  for (let i = 0; i < 100_000; i++) v = new Variant('v', v);
  assert.throws(() => serialize('v', v), (err: unknown) => err instanceof FormatError && /nesting at most 128/.test(err.message));
  assert.throws(() => formatText('v', v), (err: unknown) => err instanceof FormatError && /nested deeper/.test(err.message));
});
