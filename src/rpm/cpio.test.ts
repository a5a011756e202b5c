import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkReader, readCpioHeader } from './cpio.ts';
import { parseSignature } from './signature.ts';
import { parseLead } from './lead.ts';
import { FormatError } from '../util/errors.ts';

async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

function member(name: string, size: number, opts: { namesize?: number; magic?: string } = {}): Buffer {
  const f = (n: number): string => n.toString(16).padStart(8, '0');
  const nm = Buffer.from(`${name}\0`);
  const head = `${opts.magic ?? '070701'}${f(1)}${f(0o100644)}${f(0)}${f(0)}${f(1)}${f(0)}${f(size)}${f(0)}${f(0)}${f(0)}${f(0)}${f(opts.namesize ?? nm.length)}${f(0)}`;
  const hn = Buffer.concat([Buffer.from(head, 'latin1'), nm]);
  return Buffer.concat([hn, Buffer.alloc((4 - (hn.length % 4)) % 4)]);
}

void test('cpio headers parse across arbitrary chunk boundaries', async () => {
  const data = Buffer.from('hello');
  const arc = Buffer.concat([member('./a', 5), data, Buffer.alloc(3), member('TRAILER!!!', 0)]);
  for (const size of [1, 3, 7, 64, 4096]) {
    const r = new ChunkReader(chunks(arc, size), 't');
    const h = await readCpioHeader(r, 't');
    assert.equal(h?.name, './a');
    assert.equal(h?.size, 5);
    const got: Buffer[] = [];
    for await (const c of r.take(5, 'data')) got.push(Buffer.from(c));
    assert.equal(Buffer.concat(got).toString(), 'hello');
    await r.align4('pad');
    assert.equal(await readCpioHeader(r, 't'), undefined);
  }
});

void test('malformed cpio headers are FormatErrors naming the offset', async () => {
  const cases: [Buffer, RegExp][] = [
    [member('./a', 0, { magic: '070707' }), /bad cpio magic/],
    [member('./a', 0, { namesize: 0x7fffffff }), /bad name size/],
    [Buffer.from(member('./a', 0).toString('latin1').replace('00000001', '0000zz01'), 'latin1'), /bad ino field/],
    [member('./a', 0).subarray(0, 50), /unexpected end of archive/],
  ];
  for (const [buf, re] of cases) {
    await assert.rejects(readCpioHeader(new ChunkReader(chunks(buf, 16), 'x.rpm'), 'x.rpm'), (e: unknown) => e instanceof FormatError && re.test(e.message));
  }
  const r = new ChunkReader(chunks(Buffer.alloc(100), 10), 'x.rpm', 50);
  await assert.rejects(r.skip(60, 'data'), /exceeds its recorded size of 50/);
});

void test('signature packets: key id from v4 issuer subpacket; malformed packets rejected', () => {
  // v4 signature packet (new format, tag 2): RSA/SHA256, hashed: creation time; unhashed: issuer.
  const hashed = Buffer.from([5, 2, 0x69, 0x55, 0x3f, 0x00]);
  const unhashed = Buffer.from([9, 16, 1, 2, 3, 4, 5, 6, 7, 8]);
  const body = Buffer.concat([Buffer.from([4, 0, 1, 8]), Buffer.from([0, hashed.length]), hashed, Buffer.from([0, unhashed.length]), unhashed, Buffer.from([0xab, 0xcd])]);
  const pkt = Buffer.concat([Buffer.from([0xc2, body.length]), body]);
  assert.deepEqual(parseSignature(pkt, 'sig'), { version: 4, pubkeyAlgo: 'RSA', hashAlgo: 'SHA256', created: 0x69553f00, keyId: '0102030405060708' });
  for (const bad of [Buffer.alloc(0), Buffer.from([0x01, 0x02]), pkt.subarray(0, 10), Buffer.from([0xc6, 1, 4])]) {
    assert.throws(() => parseSignature(bad, 'sig'), FormatError);
  }
  assert.throws(() => parseLead(Buffer.alloc(96), 'x.rpm'), /not an RPM package/);
  assert.throws(() => parseLead(Buffer.alloc(10), 'x.rpm'), /truncated lead/);
});
