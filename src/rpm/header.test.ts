import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HeaderBuilder, RpmHeader, HEADER_MAGIC } from './header.ts';
import { Tag, Type } from './tags.ts';
import { FormatError } from '../util/errors.ts';

function sample(): HeaderBuilder {
  return new HeaderBuilder({ region: Tag.HEADERIMMUTABLE })
    .add(Tag.NAME, Type.STRING, 'hello')
    .add(Tag.VERSION, Type.STRING, '1.0')
    .add(Tag.SUMMARY, Type.I18NSTRING, 'greets')
    .add(Tag.HEADERI18NTABLE, Type.STRING_ARRAY, ['C'])
    .add(Tag.EPOCH, Type.INT32, 3)
    .add(Tag.FILEMODES, Type.INT16, [0o100644, 0o40755])
    .add(Tag.LONGSIZE, Type.INT64, 5_000_000_000n)
    .add(Tag.FILESTATES, Type.CHAR, [0, 255])
    .add(Tag.SIGMD5, Type.BIN, Buffer.from('0123456789abcdef'))
    .add(Tag.BASENAMES, Type.STRING_ARRAY, ['a', 'bb', '']);
}

void test('builder output parses back with every type', () => {
  const h = sample().toHeader();
  assert.deepEqual(h.region, { tag: Tag.HEADERIMMUTABLE, ril: 11, rdl: h.blob.length - 8 - 11 * 16 });
  assert.equal(h.string(Tag.NAME), 'hello');
  assert.equal(h.string(Tag.SUMMARY), 'greets');
  assert.deepEqual(h.strings(Tag.HEADERI18NTABLE), ['C']);
  assert.equal(h.number(Tag.EPOCH), 3);
  assert.deepEqual(h.numbers(Tag.FILEMODES), [0o100644, 0o40755]);
  assert.deepEqual(h.bigints(Tag.LONGSIZE), [5_000_000_000n]);
  assert.deepEqual(h.bigints(Tag.EPOCH), [3n]);
  assert.deepEqual(h.numbers(Tag.FILESTATES), [0, 255]);
  assert.equal(h.binary(Tag.SIGMD5)?.toString(), '0123456789abcdef');
  assert.deepEqual(h.strings(Tag.BASENAMES), ['a', 'bb', '']);
  assert.equal(h.string(Tag.RELEASE), undefined);
  assert.throws(() => h.numbers(Tag.NAME), FormatError);
  // entries sorted by tag, region first, data aligned
  const tags = h.entryList.map((e) => e.tag);
  assert.deepEqual(tags, [Tag.HEADERIMMUTABLE, ...tags.slice(1).sort((a, b) => a - b)]);
  for (const e of h.entryList) if (e.type === Type.INT64) assert.equal(e.offset % 8, 0);
});

void test('immutable region equals the whole header with magic when nothing was added', () => {
  const h = sample().toHeader();
  assert.deepEqual(h.immutableRegion(), Buffer.concat([HEADER_MAGIC, h.blob]));
  const ext = HeaderBuilder.extend(h).add(Tag.INSTALLTIME, Type.INT32, 7).add(Tag.INSTALLTID, Type.INT32, 7).toHeader();
  assert.equal(ext.number(Tag.INSTALLTIME), 7);
  assert.equal(ext.string(Tag.NAME), 'hello');
  assert.deepEqual(ext.region, h.region);
  const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  assert.equal(digest(ext.immutableRegion()), digest(h.immutableRegion()));
  assert.throws(() => HeaderBuilder.extend(h).add(Tag.NAME, Type.STRING, 'x'), RangeError);
});

void test('parseWithMagic finds the end and rejects bad magic', () => {
  const blob = sample().toBlob();
  const file = Buffer.concat([Buffer.alloc(5), HEADER_MAGIC, blob, Buffer.alloc(3)]);
  const { header, end } = RpmHeader.parseWithMagic(file, 5, 'x.rpm');
  assert.equal(end, 5 + 8 + blob.length);
  assert.equal(header.string(Tag.NAME), 'hello');
  assert.throws(() => RpmHeader.parseWithMagic(file, 4, 'x.rpm'), /x\.rpm: bad header magic/);
  assert.throws(() => RpmHeader.parseWithMagic(file.subarray(0, 40), 5, 'x.rpm'), /runs past the end/);
});

function corrupt(fn: (b: Buffer, ds: number) => void): Buffer {
  const b = Buffer.from(sample().toBlob());
  fn(b, 8 + b.readUInt32BE(0) * 16);
  return b;
}

void test('malformed headers throw FormatError naming the problem', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['entry outside store', corrupt((b) => b.writeInt32BE(1 << 20, 8 + 16 + 8)), /outside the data store/],
    ['absurd count', corrupt((b) => b.writeUInt32BE(0x7fffffff, 8 + 16 + 12)), /absurd count/],
    ['bad type', corrupt((b) => b.writeUInt32BE(42, 8 + 16 + 4)), /bad type 42/],
    ['region trailer', corrupt((b, ds) => b.writeUInt32BE(1234, ds + b.readUInt32BE(8 + 8))), /region trailer is bad/],
    ['region size', corrupt((b, ds) => b.writeInt32BE(-16 * 99, ds + b.readUInt32BE(8 + 8) + 8)), /region size is bad/],
    ['il absurd', corrupt((b) => b.writeUInt32BE(0x100000, 0)), /absurd number of header entries/],
    ['length mismatch', Buffer.concat([sample().toBlob(), Buffer.alloc(1)]), /index says/],
    ['unterminated string', corrupt((b) => b.fill(0x41, b.length - 40)), /not NUL-terminated|trailer/],
  ];
  for (const [name, blob, re] of cases) {
    assert.throws(() => RpmHeader.fromBlob(blob, 'pkg.rpm: main header'), (err: unknown) => {
      assert.ok(err instanceof FormatError, name);
      assert.match(err.message, /^pkg\.rpm: main header/, name);
      assert.match(err.message, re, name);
      return true;
    });
  }
});

void test('random byte flips never escape as anything but FormatError', () => {
  const good = sample().toBlob();
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(good);
    for (let k = 0; k < 1 + rnd(4); k++) b[rnd(b.length)] = rnd(256);
    try {
      const h = RpmHeader.fromBlob(b, 'fuzz');
      for (const e of h.entryList) {
        if (e.type === Type.STRING || e.type === Type.STRING_ARRAY || e.type === Type.I18NSTRING) h.strings(e.tag);
        else if (e.type === Type.BIN) h.binary(e.tag);
        else if (e.type === Type.INT64) h.bigints(e.tag);
        else if (e.type !== Type.NULL) h.numbers(e.tag);
      }
    } catch (err) {
      assert.ok(err instanceof FormatError, String(err));
    }
  }
});
