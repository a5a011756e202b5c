/**
 * Hostile input: mutated real objects (from the golden vectors, made by ostree) fed to every object
 * parser must give typed FormatErrors only — no other exception, no hang. Dirtrees with names like
 * `..`, `a/b`, `` or NUL are rejected before checkout writes anything.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, run, VECTORS } from './_helpers.ts';
import {
  OstreeRepo, decodeArchiveHeader, decodeCommit, decodeDirMeta, decodeDirTree, decodeFileHeader, decodeVardict, encodeFileHeader, encodeCommit,
  encodeDirMeta, encodeDirTree, splitLenPrefixed, checkout, EMPTY_DIRTREE_CHECKSUM, sha256hex,
} from '../../src/ostree/index.ts';
import { FormatError } from '../../src/util/errors.ts';

let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir('fuzz');
});
after(async () => work.cleanup());

/** Deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

void test('object parsers: 120k mutated real objects give only FormatError', async () => {
  run('tar', ['-xzf', join(VECTORS, '02-parent/repo.tar.gz'), '-C', work.path]);
  const objdir = join(work.path, 'repo/objects');
  const samples: Array<{ ext: string; data: Buffer }> = [];
  for (const d of await readdir(objdir)) {
    for (const f of await readdir(join(objdir, d))) {
      const data = await readFile(join(objdir, d, f));
      samples.push({ ext: f.split('.')[1], data: data.length > 4096 ? data.subarray(0, 4096) : data });
    }
  }
  for (const s of [...samples]) {
    if (s.ext === 'filez') samples.push({ ext: 'header', data: encodeFileHeader(decodeArchiveHeader(splitLenPrefixed(s.data, 'filez').variant).header) });
  }
  assert.ok(samples.length > 20);
  const parse = (ext: string, b: Buffer): void => {
    switch (ext) {
      case 'commit': decodeCommit(b); break;
      case 'dirtree': decodeDirTree(b); break;
      case 'dirmeta': decodeDirMeta(b); break;
      case 'commitmeta': decodeVardict(b, 'commitmeta'); break;
      case 'header': decodeFileHeader(b); break;
      default: {
        const { variant } = splitLenPrefixed(b, 'filez');
        decodeArchiveHeader(variant);
      }
    }
  };
  for (const s of samples) parse(s.ext, s.data); // originals parse
  const rand = rng(0x05ee7);
  const N = 120_000;
  let rejected = 0;
  const start = Date.now();
  for (let i = 0; i < N; i++) {
    const s = samples[Math.floor(rand() * samples.length)];
    let b = Buffer.from(s.data);
    const kind = Math.floor(rand() * 5);
    if (kind === 0) {
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
    } else if (kind === 1) b = b.subarray(0, Math.floor(rand() * b.length));
    else if (kind === 2) b[b.length - 1 - Math.floor(rand() * Math.min(8, b.length))] = Math.floor(rand() * 256); // framing offsets
    else if (kind === 3) b = Buffer.concat([b, Buffer.from([Math.floor(rand() * 256)])]);
    else {
      const at = Math.floor(rand() * b.length);
      b = Buffer.concat([b.subarray(0, at), Buffer.alloc(Math.floor(rand() * 300), Math.floor(rand() * 256)), b.subarray(at)]);
    }
    try {
      parse(s.ext, b);
    } catch (err) {
      if (!(err instanceof FormatError)) assert.fail(`case ${i} (${s.ext}, kind ${kind}): ${String(err)} for ${b.toString('hex').slice(0, 200)}`);
      rejected++;
    }
  }
  assert.ok(rejected > N / 4, `${rejected} rejected`);
  assert.ok(Date.now() - start < 60_000, 'bounded time');
});

void test('hostile dirtree names are rejected before checkout writes anything', async () => {
  for (const bad of ['..', 'a/b', '', 'nul\0name', '.']) {
    for (const where of ['files', 'dirs'] as const) {
      const repo = await OstreeRepo.init(join(work.path, `hostile-${where}-${Buffer.from(bad).toString('hex')}`), 'archive');
      const meta = await repo.writeMetadata('dirmeta', encodeDirMeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
      await repo.writeMetadata('dirtree', Buffer.from([0]));
      const file = await repo.writeContent({ uid: 0, gid: 0, mode: 0o100644, rdev: 0, symlinkTarget: '', xattrs: [] }, { kind: 'buffer', data: Buffer.from('x') });
      // A good subdirectory first (so a naive checkout would write something), then the bad entry.
      const inner = encodeDirTree(where === 'files'
        ? { files: [{ name: bad, checksum: file }], dirs: [] }
        : { files: [], dirs: [{ name: bad, tree: EMPTY_DIRTREE_CHECKSUM, meta }] });
      const innerSum = await repo.writeMetadata('dirtree', inner);
      assert.equal(innerSum, sha256hex(inner));
      const root = await repo.writeMetadata('dirtree', encodeDirTree({ files: [{ name: 'aaa-good', checksum: file }], dirs: [{ name: 'zzz', tree: innerSum, meta }] }));
      const commit = await repo.writeMetadata('commit', encodeCommit({ metadata: [], parent: null, related: [], subject: 'evil', body: '', timestamp: 0n, rootTree: root, rootMeta: meta }));
      const dest = join(work.path, `dest-${where}-${Buffer.from(bad).toString('hex')}`);
      await assert.rejects(checkout(repo, commit, dest), (err: unknown) => err instanceof FormatError && /invalid file name|contains NUL/.test(err.message));
      await assert.rejects(access(dest), 'nothing was written');
    }
  }
});
