import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderBuilder } from './header.ts';
import { indexRows, richDepIndexNames, RPMDB_INDEXES } from './rpmdb-index.ts';
import { DepFlag, Tag, Type } from './tags.ts';

const table = (name: string): (typeof RPMDB_INDEXES)[number] => RPMDB_INDEXES.find((i) => i.table === name)!;

void test('rich dependencies expand to their names, negated in conditions', () => {
  assert.deepEqual(richDepIndexNames('(a or b)'), ['a', 'b']);
  assert.deepEqual(richDepIndexNames('(f if g else h)'), ['f', 'g', 'h', '!g']);
  assert.deepEqual(richDepIndexNames('((o or p) if (q and r) else s)'), ['o', 'p', 'q', 'r', 's', '!q', '!r']);
  assert.deepEqual(richDepIndexNames('(u unless (v or w))'), ['u', '!v', '!w']);
  assert.deepEqual(richDepIndexNames('(c and (d or e >= 2:1.0-1))'), ['c', 'd', 'e']);
  assert.deepEqual(richDepIndexNames('(a and a and rpmlib(Foo))'), ['a']);
  assert.deepEqual(richDepIndexNames('(broken'), []);
});

void test('index rows follow rpm: transient requires skipped, triggers de-duplicated, group default', () => {
  const h = new HeaderBuilder({ region: Tag.HEADERIMMUTABLE })
    .add(Tag.NAME, Type.STRING, 'x')
    .add(Tag.REQUIRENAME, Type.STRING_ARRAY, ['a', 'b', 'c', 'd', '(e or f)'])
    .add(Tag.REQUIREFLAGS, Type.INT32, [0, DepFlag.SCRIPT_PRE, DepFlag.SCRIPT_PRE | DepFlag.SCRIPT_PREUN, DepFlag.RPMLIB | DepFlag.EQUAL, 0])
    .add(Tag.TRIGGERNAME, Type.STRING_ARRAY, ['t', 'u', 't'])
    .add(Tag.FILETRIGGERNAME, Type.STRING_ARRAY, ['/p', '/q'])
    .add(Tag.FILETRIGGERINDEX, Type.INT32, [1, 0])
    .add(Tag.INSTALLTID, Type.INT32, 0x01020304)
    .toHeader();
  assert.deepEqual(indexRows(table('Requirename'), h), [
    { key: 'a', idx: 0 },
    { key: 'c', idx: 2 },
    { key: '(e or f)', idx: 4 },
    { key: 'e', idx: 4 },
    { key: 'f', idx: 4 },
  ]);
  assert.deepEqual(indexRows(table('Triggername'), h), [
    { key: 't', idx: 0 },
    { key: 'u', idx: 1 },
  ]);
  assert.deepEqual(indexRows(table('Filetriggername'), h), [
    { key: '/p', idx: 1 },
    { key: '/q', idx: 0 },
  ]);
  assert.deepEqual(indexRows(table('Group'), h), [{ key: 'Unknown', idx: 0 }]);
  assert.deepEqual(indexRows(table('Basenames'), h), []);
  const tid = indexRows(table('Installtid'), h)[0].key as Buffer;
  assert.equal(tid.length, 4);
  assert.ok(tid.readUInt32LE() === 0x01020304 || tid.readUInt32BE() === 0x01020304);
});
