import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HeaderBuilder } from './header.ts';
import { installedHeader } from './rpmdb-header.ts';
import { SigTag, Tag, Type } from './tags.ts';
import { FormatError } from '../util/errors.ts';

function pkg(extra?: (b: HeaderBuilder) => void): ReturnType<HeaderBuilder['toHeader']> {
  const b = new HeaderBuilder({ region: Tag.HEADERIMMUTABLE })
    .add(Tag.NAME, Type.STRING, 'p')
    .add(Tag.BASENAMES, Type.STRING_ARRAY, ['a', 'b'])
    .add(Tag.PREFIXES, Type.STRING_ARRAY, ['/opt']);
  extra?.(b);
  return b.toHeader('p.rpm');
}

void test('installed header keeps the region and adds merged signature and install tags', () => {
  const h = pkg();
  const sig = new HeaderBuilder({ region: Tag.HEADERSIGNATURES })
    .add(SigTag.SIZE, Type.INT32, 1234)
    .add(SigTag.MD5, Type.BIN, Buffer.alloc(16, 7))
    .add(SigTag.SHA256, Type.STRING, 'ab')
    .add(SigTag.PAYLOADSIZE, Type.INT32, 99)
    .add(SigTag.RESERVEDSPACE, Type.BIN, Buffer.alloc(32))
    .toHeader('sig');
  const i = installedHeader(h, sig, { installTime: 10, installTid: 9, installColor: 3 });
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  assert.equal(sha(i.immutableRegion()), sha(h.immutableRegion()));
  assert.equal(i.number(Tag.SIGSIZE), 1234);
  assert.equal(i.binary(Tag.SIGMD5)?.length, 16);
  assert.equal(i.string(Tag.SHA256HEADER), 'ab');
  assert.equal(i.number(Tag.ARCHIVESIZE), 99);
  assert.equal(i.number(Tag.INSTALLTIME), 10);
  assert.equal(i.number(Tag.INSTALLTID), 9);
  assert.equal(i.number(Tag.INSTALLCOLOR), 3);
  assert.deepEqual(i.numbers(Tag.FILESTATES), [0, 0]);
  assert.deepEqual(i.strings(Tag.INSTPREFIXES), ['/opt']);
  // RESERVEDSPACE is not merged: exactly these tags follow the region
  assert.deepEqual(
    i.entryList.slice(i.region!.ril).map((e) => e.tag),
    [Tag.SIGSIZE, Tag.SIGMD5, Tag.SHA256HEADER, Tag.INSTALLTIME, Tag.FILESTATES, Tag.ARCHIVESIZE, Tag.INSTPREFIXES, Tag.INSTALLCOLOR, Tag.INSTALLTID],
  );
  assert.throws(() => installedHeader(i, undefined, { installTime: 1, installTid: 1, installColor: 0 }), FormatError);
});

void test('a signature tag of the wrong type stops the merge, like rpm', () => {
  const sig = new HeaderBuilder({ region: Tag.HEADERSIGNATURES }).add(SigTag.SIZE, Type.STRING, 'x').add(SigTag.SHA1, Type.STRING, 'y').toHeader('sig');
  const i = installedHeader(pkg(), sig, { installTime: 1, installTid: 1, installColor: 0 });
  assert.equal(i.has(Tag.SIGSIZE), false);
  assert.equal(i.has(Tag.SHA1HEADER), false);
  assert.equal(i.number(Tag.INSTALLTIME), 1);
});

void test('headers without an immutable region are refused', () => {
  const legacy = new HeaderBuilder().add(Tag.NAME, Type.STRING, 'old').toHeader('old.rpm');
  assert.throws(() => installedHeader(legacy, undefined, { installTime: 1, installTid: 1, installColor: 0 }), /old\.rpm: no immutable header region/);
});
