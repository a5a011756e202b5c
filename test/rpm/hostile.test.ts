/**
 * Hostile input: every malformed package is rejected with a FedostreeError that names the package
 * and the problem, and nothing is written outside the extraction target.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import { craftRpm, cpioArchive } from './_craft.ts';
import { extract, describePackage, openPackage, parsePackageHeaders, readPayload, UnsafePathError } from '../../src/rpm/index.ts';
import { FedostreeError, FormatError, IntegrityError } from '../../src/util/errors.ts';
import { SigTag } from '../../src/rpm/tags.ts';

const fixtures = await buildRpmFixtures();
const work = await mkdtemp(join(tmpdir(), 'fedostree-rpm-hostile-'));
after(() => rm(work, { recursive: true, force: true }));
let seq = 0;

/** Write `bytes` as a package, extract it into a fresh target inside a fresh sandbox; return the error. */
async function extractBytes(bytes: Buffer, name = 'hostile.rpm'): Promise<{ err: unknown; sandbox: string; target: string }> {
  const sandbox = join(work, `case-${seq++}`);
  await mkdir(sandbox);
  const file = join(sandbox, name);
  await writeFile(file, bytes);
  const target = join(sandbox, 'target');
  try {
    await extract(file, target);
    return { err: undefined, sandbox, target };
  } catch (err) {
    return { err, sandbox, target };
  }
}

async function expectRejected(bytes: Buffer, cls: new (...args: never[]) => FedostreeError, re: RegExp): Promise<{ sandbox: string; target: string }> {
  const r = await extractBytes(bytes);
  assert.ok(r.err instanceof cls, `expected ${cls.name}, got ${r.err instanceof Error ? `${r.err.name}: ${r.err.message}` : String(r.err)}`);
  const msg = (r.err as Error).message;
  assert.match(msg, /hostile\.rpm/, `message names the package: ${msg}`);
  assert.match(msg, re);
  // Nothing but the package and the target in the sandbox.
  assert.deepEqual((await readdir(r.sandbox)).filter((n) => n !== 'hostile.rpm' && n !== 'target'), []);
  return r;
}

const real = await readFile(fixtures.get('fx-files')!);
const realPkg = await openPackage(fixtures.get('fx-files')!);

void test('truncated packages', async () => {
  const cuts = [0, 10, 95, 100, 120, realPkg.headerOffset - 3, realPkg.headerOffset + 20, realPkg.payloadOffset - 1, realPkg.payloadOffset + 10, real.length - 1];
  for (const n of cuts) await expectRejected(real.subarray(0, n), FedostreeError, /truncat|end of|size|gzip|unexpected/i);
});

void test('bad magic in the lead and in the headers', async () => {
  const a = Buffer.from(real);
  a[0] = 0;
  await expectRejected(a, FormatError, /not an RPM package/);
  const b = Buffer.from(real);
  b[96] = 0;
  await expectRejected(b, FormatError, /signature header: bad header magic/);
  const c = Buffer.from(real);
  c[realPkg.headerOffset + 1] = 0;
  await expectRejected(c, FormatError, /main header: bad header magic/);
});

void test('header index entries outside the store, absurd counts', async () => {
  const a = Buffer.from(real);
  // Third index entry of the main header: offset field.
  a.writeInt32BE(0x7ffffff0, realPkg.headerOffset + 16 + 2 * 16 + 8);
  await expectRejected(a, FormatError, /outside the data store/);
  const b = Buffer.from(real);
  b.writeUInt32BE(0x00ffffff, realPkg.headerOffset + 8);
  await expectRejected(b, FormatError, /absurd/);
  const c = Buffer.from(real);
  c.writeUInt32BE(0x0fffffff, realPkg.headerOffset + 16 + 3 * 16 + 12);
  await expectRejected(c, FormatError, /count|outside|runs/);
});

void test('header digest, file digest and payload digest mismatches', async () => {
  const a = Buffer.from(real);
  const at = a.indexOf('Files of every kind', realPkg.headerOffset);
  a[at] = 'f'.charCodeAt(0);
  await expectRejected(a, IntegrityError, /header SHA256 digest mismatch/);
  const content = Buffer.from('good\n');
  const bad = craftRpm({ files: [{ path: '/etc', mode: 0o40755 }, { path: '/etc/x', mode: 0o100644, content, digest: 'ab'.repeat(32) }] });
  const r = await expectRejected(bad, IntegrityError, /\/etc\/x: content digest mismatch/);
  await assert.rejects(lstat(join(r.target, 'etc/x')), /ENOENT/);
  assert.deepEqual(await readdir(join(r.target, 'etc')), [], 'no temp file left behind');
  await expectRejected(craftRpm({ files: [{ path: '/y', mode: 0o100644, content }], payloadDigest: 'cd'.repeat(32) }), IntegrityError, /payload digest mismatch/);
  // The signature header's MD5 (header + payload) is not covered by the header digests.
  const md5 = realPkg.signature.entries.get(SigTag.MD5);
  assert.ok(md5);
  const b = Buffer.from(real);
  b[96 + 16 + realPkg.signature.entryList.length * 16 + md5.offset] ^= 0xff;
  await expectRejected(b, IntegrityError, /MD5 digest of header and payload mismatch/);
});

void test("cpio names with '..' or absolute paths, and header paths with '..'", async () => {
  const content = Buffer.from('x');
  await expectRejected(
    craftRpm({ files: [{ path: '/ok', mode: 0o100644, content }], members: [{ name: './../../escape', mode: 0o100644, data: content }] }),
    FormatError,
    /'\.\/\.\.\/\.\.\/escape' is not in the package's file list/,
  );
  await expectRejected(
    craftRpm({ files: [{ path: '/ok', mode: 0o100644, content }], members: [{ name: '/etc/passwd', mode: 0o100644, data: content }] }),
    FormatError,
    /not in the package's file list/,
  );
  await expectRejected(craftRpm({ files: [{ path: '/a/../../escape', mode: 0o100644, content }] }), FormatError, /unsafe file path/);
  await expectRejected(craftRpm({ files: [{ path: 'relative', mode: 0o100644, content }] }), FormatError, /unsafe file path/);
});

void test('a symlink followed by a file through it is refused; nothing lands outside', async () => {
  const outside = join(work, `outside-${seq}`);
  await mkdir(outside);
  for (const linkTo of [outside, '../../..', '/']) {
    const r = await expectRejected(
      craftRpm({ files: [{ path: '/d', mode: 0o120777, linkTo }, { path: '/d/evil', mode: 0o100644, content: Buffer.from('pwned') }] }),
      UnsafePathError,
      /refusing to write \/d\/evil through symlink \/d/,
    );
    assert.deepEqual(await readdir(r.target), ['d']);
  }
  assert.deepEqual(await readdir(outside), []);
  // A directory through a symlink: refused too.
  await expectRejected(
    craftRpm({ files: [{ path: '/d', mode: 0o120777, linkTo: outside }, { path: '/d/sub', mode: 0o40755 }] }),
    UnsafePathError,
    /through symlink \/d/,
  );
  assert.deepEqual(await readdir(outside), []);
});

void test('decompression bombs: sizes beyond the header, archive beyond its recorded size, junk after the trailer', async () => {
  const zeros = Buffer.alloc(64 << 20);
  await expectRejected(
    craftRpm({ files: [{ path: '/big', mode: 0o100644, content: Buffer.alloc(10) }], members: [{ name: './big', mode: 0o100644, data: zeros }] }),
    FormatError,
    /\/big: archive member has 67108864 bytes but the header says 10/,
  );
  await expectRejected(craftRpm({ files: [{ path: '/f', mode: 0o100644, content: Buffer.alloc(4096) }], archiveSize: 200 }), FormatError, /exceeds its recorded size of 200 bytes/);
  await expectRejected(craftRpm({ files: [{ path: '/f', mode: 0o100644, content: Buffer.from('a') }], trailing: zeros }), FormatError, /after the archive trailer|exceeds/);
  // A gzip bomb as the payload of a package with an empty file list stops at the recorded bound.
  const bomb = Buffer.concat([real.subarray(0, realPkg.payloadOffset), gzipSync(zeros)]);
  await expectRejected(bomb, FedostreeError, /bad cpio magic|size|exceeds/);
});

void test('member type and symlink target must match the header; ghosts must not carry data', async () => {
  await expectRejected(
    craftRpm({ files: [{ path: '/f', mode: 0o100644, content: Buffer.from('a') }], members: [{ name: './f', mode: 0o120777, data: Buffer.from('a') }] }),
    FormatError,
    /file type/,
  );
  await expectRejected(
    craftRpm({ files: [{ path: '/l', mode: 0o120777, linkTo: 'good' }], members: [{ name: './l', mode: 0o120777, data: Buffer.from('evil') }] }),
    IntegrityError,
    /symlink target 'evil' differs/,
  );
  await expectRejected(craftRpm({ files: [{ path: '/g', mode: 0o100644, content: Buffer.from('a'), flags: 64 }], members: [{ name: './g', mode: 0o100644, data: Buffer.from('a') }] }), FormatError, /ghost/);
  await expectRejected(craftRpm({ files: [{ path: '/m', mode: 0o100644, content: Buffer.from('a') }], members: [] }), FormatError, /\/m is missing from the archive/);
  assert.ok(cpioArchive([]).length > 0);
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

void test('fuzz: 10k mutated real packages produce only FedostreeErrors', async () => {
  const bases = await Promise.all(['fx-files', 'fx-deps', 'fx-scripts', 'fx-empty'].map(async (n) => ({ n, buf: await readFile(fixtures.get(n)!), pkg: await openPackage(fixtures.get(n)!) })));
  const rand = rng(0xf00d);
  const dir = join(work, 'fuzz');
  await mkdir(dir);
  const file = join(dir, 'fuzz.rpm');
  const target = join(dir, 'target');
  const counts = { ok: 0, rejected: 0 };
  const t0 = Date.now();
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    // xz and bzip2 payloads run a child per case: keep them to a small share.
    const base = bases[i % 100 === 0 ? 2 : i % 100 === 4 ? 3 : (i >> 2) % 2];
    const b = Buffer.from(base.buf);
    const r = rand();
    // Aim most mutations at the headers, where the parsing happens.
    const region = rand() < 0.8 ? base.pkg.payloadOffset : b.length;
    let bytes: Buffer = b;
    if (r < 0.6) {
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) b[Math.floor(rand() * region)] = Math.floor(rand() * 256);
    } else if (r < 0.75) {
      const at = (Math.floor(rand() * region) & ~3) >>> 0;
      if (at + 4 <= b.length) b.writeUInt32BE([0, 0xffffffff, 0x7fffffff, 0x80000000, Math.floor(rand() * 2 ** 32)][Math.floor(rand() * 5)], at);
    } else if (r < 0.9) {
      bytes = b.subarray(0, Math.floor(rand() * b.length));
    } else {
      const at = Math.floor(rand() * b.length);
      bytes = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), b.subarray(at + (rand() < 0.5 ? 1 : 0))]);
    }
    try {
      // Every case goes through the (pure) header parser; every 4th also through the payload
      // stream from a file, every 40th through a full extraction.
      describePackage(parsePackageHeaders(bytes, 'fuzz.rpm'));
      if (i % 4 === 0) {
        await writeFile(file, bytes);
        if (i % 40 === 0) {
          await extract(file, target);
          await rm(target, { recursive: true, force: true });
        } else {
          for await (const e of readPayload(await openPackage(file))) e.content.resume();
        }
      }
      counts.ok++;
    } catch (err) {
      if (!(err instanceof FedostreeError)) {
        await writeFile(join(tmpdir(), 'fedostree-fuzz-failure.rpm'), bytes);
        assert.fail(`case ${i} (${base.n}): non-FedostreeError ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      counts.rejected++;
    }
  }
  assert.deepEqual((await readdir(dir)).filter((n) => n !== 'fuzz.rpm' && n !== 'target'), []);
  process.stderr.write(`# fuzz: ${N} cases in ${Date.now() - t0} ms: ${counts.rejected} rejected, ${counts.ok} accepted\n`);
});
