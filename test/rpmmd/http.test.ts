// Repositories over HTTP: identical loads, verified metadata, clear errors, no stale cache, downloads with resume.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createReadStream } from 'node:fs';
import { cp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { cleanup, cli, makeRepos, run, type RepoFixture } from './_fixture.ts';

let fx: RepoFixture;
let server: Server;
let root: string;
let origin: string;
const log: Array<{ path: string; range?: string }> = [];

/** A static file server with Range support, serving `root`. */
function startServer(): Promise<void> {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = normalize(join(root, decodeURIComponent(url.pathname)));
    log.push({ path: url.pathname, range: req.headers.range });
    if (!path.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    stat(path).then(
      (st) => {
        if (!st.isFile()) return void res.writeHead(404).end();
        const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        if (start >= st.size && st.size > 0) return void res.writeHead(416).end();
        res.writeHead(m ? 206 : 200, { 'content-length': st.size - start, ...(m ? { 'content-range': `bytes ${start}-${st.size - 1}/${st.size}` } : {}) });
        createReadStream(path, { start }).pipe(res);
      },
      () => void res.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    origin = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    resolve();
  }));
}

async function repoCopy(name: string): Promise<string> {
  const d = join(root, name);
  await cp(fx.base, d, { recursive: true });
  return d;
}

async function primaryName(repo: string): Promise<string> {
  return (await readdir(join(repo, 'repodata'))).find((f) => f.endsWith('-primary.xml.gz'))!;
}

void describe('rpm-md over HTTP', { concurrency: 2 }, () => {
  before(async () => {
    fx = await makeRepos();
    root = join(fx.dir, 'repos');
    await startServer();
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cleanup(fx);
  });

  void it('loads identically to file:// (info, groups, list, resolve)', async () => {
    const viaFile = ['--repo', `file://${fx.base}`, '--repo', `file://${fx.updates}`, '--cachedir', join(fx.dir, 'c-file')];
    const viaHttp = ['--repo', `${origin}/base`, '--repo', `${origin}/updates/`, '--cachedir', join(fx.dir, 'c-http')];
    for (const cmd of [['rpm-md', 'list'], ['rpm-md', 'groups', '--json'], ['resolve', '--json', '@core', '@desktop', 'editor', 'deep-user']]) {
      const [a, b] = await Promise.all([cli([...cmd, ...viaFile]), cli([...cmd, ...viaHttp])]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(b.stdout, a.stdout, cmd.join(' '));
      assert.ok(a.stdout.length > 50);
    }
    const [a, b] = await Promise.all([cli(['rpm-md', 'info', '--json', ...viaFile]), cli(['rpm-md', 'info', '--json', ...viaHttp])]);
    const strip = (s: string): unknown => (JSON.parse(s) as Array<Record<string, unknown>>).map(({ url: _u, name: _n, ...rest }) => rest);
    assert.deepEqual(strip(b.stdout), strip(a.stdout));
    const { stdout } = await run('sh', ['-c', `ls ${fx.base}/Packages | wc -l`]);
    assert.equal((JSON.parse(b.stdout) as Array<{ packages: number }>)[0].packages, Number(stdout.trim()));
  });

  void it('a metadata file with a wrong checksum is rejected, naming repo and file', async () => {
    const d = await repoCopy('badsum');
    const repomd = join(d, 'repodata/repomd.xml');
    const text = await readFile(repomd, 'utf8');
    const p = await primaryName(d);
    const sum = p.split('-')[0];
    // Point the primary record at other bytes of the same size: the digest no longer matches.
    const bytes = await readFile(join(d, 'repodata', p));
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(join(d, 'repodata', p), bytes);
    assert.ok(text.includes(sum));
    const r = await cli(['rpm-md', 'info', '--repo', `${origin}/badsum`, '--cachedir', join(fx.dir, 'c-bad')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: repo repo0: repodata/${p}: .* has sha256 [0-9a-f]{64}, the metadata promises ${sum}\\n$`));
    assert.equal((await readdir(join(fx.dir, 'c-bad/repo0'), { recursive: true })).filter((f) => f.endsWith('.gz')).length, 0, 'nothing bad left in the cache');
  });

  void it('a truncated primary is rejected, naming repo and file', async () => {
    const d = await repoCopy('short');
    const p = await primaryName(d);
    await truncate(join(d, 'repodata', p), 100);
    const r = await cli(['resolve', 'bash', '--repo', `${origin}/short`, '--cachedir', join(fx.dir, 'c-short')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: repo repo0: repodata/${p}: .* has 100 bytes, the metadata promises \\d+ \\(truncated or changed file\\)\\n$`));
  });

  void it('a missing file (404) is an error naming repo and file', async () => {
    const d = await repoCopy('gone');
    const f = (await readdir(join(d, 'repodata'))).find((x) => x.endsWith('-filelists.xml.gz'))!;
    await rm(join(d, 'repodata', f));
    const r = await cli(['resolve', 'bash', '--repo', `${origin}/gone`, '--cachedir', join(fx.dir, 'c-gone')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: repo repo0: repodata/${f}: HTTP 404 from ${origin}/gone/repodata/${f}\\n$`));
    const r2 = await cli(['rpm-md', 'info', '--repo', `${origin}/nothing-here`, '--cachedir', join(fx.dir, 'c-gone')]);
    assert.match(r2.stderr, /^error: repo repo0: repodata\/repomd\.xml: HTTP 404 from .*\/nothing-here\/repodata\/repomd\.xml\n$/);
  });

  void it('never serves stale metadata after repomd.xml changes', async () => {
    const d = join(root, 'moving');
    await cp(fx.base, d, { recursive: true });
    const args = ['--repo', `${origin}/moving`, '--cachedir', join(fx.dir, 'c-moving')];
    const first = await cli(['rpm-md', 'list', 'bash', ...args]);
    assert.equal(first.stdout, 'bash-4.4-1.noarch\trepo0\n');
    const firstResolve = await cli(['resolve', 'needs-new-bash', ...args]);
    assert.equal(firstResolve.code, 1, 'bash 5 is not there yet');
    // Publish new metadata at the same URL: the updates' packages join the repository.
    await rm(join(d, 'repodata'), { recursive: true });
    await cp(join(fx.updates, 'Packages'), join(d, 'Packages'), { recursive: true, force: true });
    await run('createrepo_c', ['-q', d]);
    const second = await cli(['rpm-md', 'list', 'bash', ...args]);
    assert.equal(second.stdout, 'bash-4.4-1.noarch\trepo0\nbash-5.2-1.noarch\trepo0\n');
    const r = await cli(['resolve', 'needs-new-bash', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^install bash-5\.2-1\.noarch$/m);
    // Only the current revision stays in the cache.
    assert.equal((await readdir(join(fx.dir, 'c-moving/repo0'))).filter((x) => /^[0-9a-f]{32}$/.test(x)).length, 1);
  });

  void it('downloads packages with checksum checks and resumes a partial file with Range', async () => {
    const dest = join(fx.dir, 'dl');
    const args = ['--repo', `${origin}/base`, '--repo', `${origin}/updates`, '--cachedir', join(fx.dir, 'c-dl')];
    const r = await cli(['rpm-md', 'download', 'bash', 'kernel*', '-d', dest, ...args]);
    assert.equal(r.code, 0, r.stderr);
    const got = (await readdir(dest)).sort();
    assert.deepEqual(got, ['bash-5.2-1.noarch.rpm', 'kernel-6.2.0-1.noarch.rpm', 'kernel-core-6.2.0-1.noarch.rpm']);
    const src = await readFile(join(fx.updates, 'Packages/bash-5.2-1.noarch.rpm'));
    assert.ok((await readFile(join(dest, 'bash-5.2-1.noarch.rpm'))).equals(src));
    // A partial download is continued, not restarted.
    await rm(join(dest, 'bash-5.2-1.noarch.rpm'));
    await writeFile(join(dest, 'bash-5.2-1.noarch.rpm.part'), src.subarray(0, 1000));
    log.length = 0;
    const r2 = await cli(['rpm-md', 'download', 'bash', '-d', dest, ...args]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok((await readFile(join(dest, 'bash-5.2-1.noarch.rpm'))).equals(src));
    assert.deepEqual(log.filter((l) => l.path.endsWith('.rpm')), [{ path: '/updates/Packages/bash-5.2-1.noarch.rpm', range: 'bytes=1000-' }]);
    // A corrupted partial file fails the checksum and is removed.
    await rm(join(dest, 'bash-5.2-1.noarch.rpm'));
    await writeFile(join(dest, 'bash-5.2-1.noarch.rpm.part'), Buffer.alloc(1000, 7));
    const r3 = await cli(['rpm-md', 'download', 'bash', '-d', dest, ...args]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /^error: repo repo1: bash-5\.2-1\.noarch: .* has sha256 [0-9a-f]+, the metadata promises [0-9a-f]+\n$/);
    await assert.rejects(stat(join(dest, 'bash-5.2-1.noarch.rpm.part')));
    const r4 = await cli(['rpm-md', 'download', 'bash', '-d', dest, ...args]);
    assert.equal(r4.code, 0, r4.stderr);
  });

  void it('mirrorlist and metalink: a dead mirror is skipped, a stale repomd.xml is refused', async () => {
    const repomd = await readFile(join(fx.base, 'repodata/repomd.xml'));
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(repomd).digest('hex');
    await writeFile(join(root, 'mirrors.txt'), `# mirrors\n${origin}/dead/\n${origin}/base/\n`);
    const metalink = (hash: string): string =>
      `<?xml version="1.0"?><metalink version="3.0" xmlns="http://www.metalinker.org/"><files><file name="repomd.xml"><verification><hash type="sha256">${hash}</hash></verification>` +
      `<resources><url preference="90">${origin}/base/repodata/repomd.xml</url><url preference="100">${origin}/dead/repodata/repomd.xml</url></resources></file></files></metalink>`;
    await writeFile(join(root, 'good.metalink'), metalink(sha));
    await writeFile(join(root, 'stale.metalink'), metalink('0'.repeat(64)));
    const repoFile = join(fx.dir, 'mirrors.repo');
    await writeFile(repoFile, `[ml]\nmirrorlist=${origin}/mirrors.txt\n[mk]\nmetalink=${origin}/good.metalink\n[stale]\nmetalink=${origin}/stale.metalink\nenabled=0\n`);
    const r = await cli(['rpm-md', 'info', '--json', '--repo-file', repoFile, '--cachedir', join(fx.dir, 'c-ml')]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as Array<{ id: string; url: string; packages: number }>;
    assert.deepEqual(info.map((i) => [i.id, i.url]), [['ml', `${origin}/base/`], ['mk', `${origin}/base/`]]);
    assert.equal(info[0].packages, info[1].packages);
    const stale = await cli(['rpm-md', 'info', '--repo-file', repoFile, '--enablerepo', 'stale', '--cachedir', join(fx.dir, 'c-ml')]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /^error: repo stale: repodata\/repomd\.xml from .*\/base\/ matches none of the metalink's checksums/);
  });
});
