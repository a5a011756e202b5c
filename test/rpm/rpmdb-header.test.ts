import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import { HeaderBuilder, RpmHeader, type HeaderValue } from '../../src/rpm/header.ts';
import { SigTag, Tag, Type } from '../../src/rpm/tags.ts';

/** The value of an entry, read back through the typed accessors. */
function value(h: RpmHeader, tag: number, type: number): HeaderValue {
  switch (type) {
    case Type.STRING:
      return h.string(tag)!;
    case Type.STRING_ARRAY:
    case Type.I18NSTRING:
      return h.strings(tag)!;
    case Type.BIN:
      return h.binary(tag)!;
    case Type.INT64:
      return h.bigints(tag)!;
    default:
      return h.numbers(tag)!;
  }
}

void test('headers written by rpmbuild parse, and HeaderBuilder rebuilds them byte for byte', async () => {
  const fixtures = await buildRpmFixtures();
  assert.ok(fixtures.size >= 5);
  for (const [name, path] of fixtures) {
    const buf = await readFile(path);
    const sig = RpmHeader.parseWithMagic(buf, 96, `${name}: signature header`);
    const mainAt = (sig.end + 7) & ~7;
    const main = RpmHeader.parseWithMagic(buf, mainAt, `${name}: main header`);
    assert.equal(main.header.string(Tag.NAME), name);
    // the header digests in the signature cover the main header's immutable region
    const region = main.header.immutableRegion();
    assert.equal(sig.header.string(SigTag.SHA256), createHash('sha256').update(region).digest('hex'), `${name}: SHA256HEADER`);
    assert.equal(sig.header.string(SigTag.SHA1), createHash('sha1').update(region).digest('hex'), `${name}: SHA1HEADER`);
    for (const [h, regionTag] of [
      [sig.header, Tag.HEADERSIGNATURES],
      [main.header, Tag.HEADERIMMUTABLE],
    ] as const) {
      const b = new HeaderBuilder({ region: regionTag });
      for (const e of h.entryList.slice(1)) b.add(e.tag, e.type, value(h, e.tag, e.type));
      assert.ok(b.toBlob().equals(h.blob), `${name}: rebuilt ${regionTag === Tag.HEADERSIGNATURES ? 'signature' : 'main'} header differs`);
    }
  }
});
