/**
 * Pull edge cases: byte-range resume of a large object, mirror pulls with history, commit-metadata-only,
 * the server refusing paths outside the repository, and hostile static delta parts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { deflateRawSync } from 'node:zlib';
import {
  OstreeRepo, updateSummary, pullFrom, generateStaticDelta, applyPart, parseSuperblock, decodePartFile, deltaRelDir, archiveStreamHeader,
  S_IFREG,
} from '../../src/ostree/index.ts';
import { FormatError, IntegrityError, NotFoundError } from '../../src/util/errors.ts';
import { serveRepo } from '../../src/server/index.ts';
import { tempDir, smallTree, ostreeCommit, startNginx, run, type Nginx } from './_helpers.ts';

let work: { path: string; cleanup: () => Promise<void> };
let src: string;
let c1: string;
let c2: string;
let ng: Nginx;
const noSig = { policy: {}, summaryPolicy: {} };

before(async () => {
  work = await tempDir('pulledge');
  src = join(work.path, 'src');
  await smallTree(join(work.path, 'tree1'), 1, 5);
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  await writeFile(join(work.path, 'tree1/huge.bin'), big);
  c1 = ostreeCommit(src, 'os/x', join(work.path, 'tree1'), '2024-01-01T00:00:00Z', 'first');
  await smallTree(join(work.path, 'tree1'), 2, 5);
  c2 = ostreeCommit(src, 'os/x', join(work.path, 'tree1'), '2024-01-02T00:00:00Z', 'second');
  await updateSummary(await OstreeRepo.open(src));
  ng = await startNginx(src, work.path);
});

after(async () => {
  await ng.stop();
  await work.cleanup();
});

void test('a partly downloaded large object is continued with a range request (206)', async () => {
  const repo = await OstreeRepo.init(join(work.path, 'range'), 'bare-user');
  const files = (await readdir(join(src, 'objects'), { recursive: true })).filter((f) => f.endsWith('.filez'));
  let biggest = files[0];
  for (const f of files) if ((await stat(join(src, 'objects', f))).size > (await stat(join(src, 'objects', biggest))).size) biggest = f;
  const checksum = biggest.replace('/', '').replace('.filez', '');
  const full = await readFile(join(src, 'objects', biggest));
  assert.ok(full.length > 1024 * 1024);
  await writeFile(join(repo.tmpDir, `pull-${checksum}.filez.part`), full.subarray(0, 1_000_000));
  const n = (await ng.requests()).length;
  await pullFrom(repo, { url: ng.url, remote: 'o', ...noSig }, ['os/x'], { disableStaticDeltas: true });
  const log = (await ng.requests()).slice(n).filter((l) => l.includes(checksum.slice(2)));
  assert.equal(log.length, 1);
  assert.match(log[0], /" 206 /);
  assert.equal(run('ostree', ['fsck', `--repo=${repo.path}`], { allowFail: true }).status, 0);
});

void test('mirror pull with --depth=-1 copies history, refs/heads and the summary byte-for-byte', async () => {
  const repo = await OstreeRepo.init(join(work.path, 'mirror'), 'archive');
  const res = await pullFrom(repo, { url: ng.url, remote: 'o', ...noSig }, [], { mirror: true, depth: -1 });
  assert.equal(res.refs.get('os/x'), c2);
  assert.equal(await repo.resolveRev('os/x'), c2);
  assert.ok(await repo.hasObject(c1, 'commit'));
  assert.ok((await readFile(join(repo.path, 'summary'))).equals(await readFile(join(src, 'summary'))));
  const fsck = run('ostree', ['fsck', `--repo=${repo.path}`], { allowFail: true });
  assert.equal(fsck.status, 0, fsck.stderr);
  assert.match(fsck.stdout, /2 commit/);
  const meta = await OstreeRepo.init(join(work.path, 'metaonly'), 'bare-user');
  const m = await pullFrom(meta, { url: ng.url, remote: 'o', ...noSig }, ['os/x'], { commitMetadataOnly: true });
  assert.equal(m.refs.get('os/x'), c2);
  assert.ok(await meta.hasObject(c2, 'commit'));
  // The commit is marked partial, so a later full pull fetches its tree (the real ostree agrees it is complete).
  assert.ok((await readdir(join(meta.path, 'state'))).includes(`${c2}.commitpartial`));
  await pullFrom(meta, { url: ng.url, remote: 'o', ...noSig }, ['os/x'], {});
  assert.ok(!(await readdir(join(meta.path, 'state'))).includes(`${c2}.commitpartial`));
  const full = run('ostree', ['fsck', `--repo=${meta.path}`], { allowFail: true });
  assert.equal(full.status, 0, full.stderr);
  assert.doesNotMatch(full.stdout + full.stderr, /partial/i);
});

void test('the server serves only repository files: no traversal, no config secrets beyond config, ranges', async () => {
  const srv = await serveRepo(src);
  const get = (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
  try {
    assert.equal((await get('/summary')).status, 200);
    assert.equal((await get('/../../etc/passwd')).status, 404);
    assert.equal((await get('/objects/../../../etc/passwd')).status, 404);
    assert.equal((await get('/objects/%2F..%2F..%2Fetc/passwd')).status, 404);
    assert.equal((await get('/%2e%2e/%2e%2e/etc/passwd')).status, 404);
    assert.equal((await get('/tmp/')).status, 404);
    assert.equal((await get('/.lock')).status, 404);
    assert.equal((await get('/refs/heads/os/x')).body.toString().trim(), c2);
    const r = await get('/summary', { range: 'bytes=2-5' });
    assert.equal(r.status, 206);
    assert.ok(r.body.equals((await readFile(join(src, 'summary'))).subarray(2, 6)));
    assert.equal((await get('/summary', { range: 'bytes=999999-' })).status, 416);
  } finally {
    await srv.close();
  }
});

void test('hostile static delta parts: only format/integrity errors, and no unverified object is stored', async () => {
  const repo = await OstreeRepo.open(src);
  await generateStaticDelta(repo, null, c2, { compress: false });
  const dir = join(src, deltaRelDir(null, c2));
  const sb = parseSuperblock(await readFile(join(dir, 'superblock')));
  const payload = await decodePartFile(await readFile(join(dir, '0')), 'part');
  const dest = await OstreeRepo.init(join(work.path, 'hostile'), 'bare-user');
  // the real part applies
  const fresh = await OstreeRepo.init(join(work.path, 'hostile-ok'), 'archive');
  assert.equal(await applyPart(fresh, payload, sb.parts[0].objectList, 'part 0'), sb.parts[0].objects);
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const m = Buffer.from(payload);
    for (let k = 0; k <= rnd(3); k++) m[m.length - 1 - rnd(Math.min(m.length, 400))] = rnd(256);
    try {
      await applyPart(dest, m, sb.parts[0].objectList, `mutated part ${i}`);
    } catch (err) {
      assert.ok(err instanceof FormatError || err instanceof IntegrityError || err instanceof NotFoundError, String(err));
    }
  }
  await dest.flush();
  const fsck = run('ostree', ['fsck', `--repo=${dest.path}`], { allowFail: true });
  assert.equal(fsck.status, 0, fsck.stderr);
  // an object whose announced size disagrees with its bytes is refused by pull's verifier
  const { verifyFilezBuffer } = await import('../../src/ostree/pull.ts');
  const hdr = { uid: 0, gid: 0, mode: S_IFREG | 0o644, rdev: 0, symlinkTarget: '', xattrs: [] };
  const lying = Buffer.concat([archiveStreamHeader(hdr, 3n), deflateRawSync(Buffer.from('more than three'))]);
  await assert.rejects(verifyFilezBuffer(lying, '0'.repeat(64)), IntegrityError);
});
