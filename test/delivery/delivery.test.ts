/**
 * Delivery against the real peer tool: summary and signatures (golden vectors, ostree reads them),
 * OpenPGP-signed pulls checked by the real ostree, our pull from nginx into every mode (ostree fsck
 * agrees), signature/downgrade refusals, resume after a broken server, 32 concurrent pulls, static
 * deltas in both directions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, rename, rm, readdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import {
  OstreeRepo, updateSummary, generateSummary, parseSummary, signCommit, signSummary, verifyCommit, pullFrom, pull, addRemote,
  deleteRemote, listRemotes, getRemote, generateStaticDelta, gpgGenerateKey, gpgExportKey, ed25519Generate, commitPartialPath,
  pullLocal,
} from '../../src/ostree/index.ts';
import { serveRepo } from '../../src/server/index.ts';
import { tempDir, smallTree, ostreeCommit, startNginx, run, runAsync, fedostreeAsync, VECTORS, type Nginx } from './_helpers.ts';

let work: { path: string; cleanup: () => Promise<void> };
let src: string;
let c1: string;
let c2: string;
let ng: Nginx;
const noSig = { policy: {}, summaryPolicy: {} };

before(async () => {
  work = await tempDir('delivery');
  src = join(work.path, 'src');
  await smallTree(join(work.path, 'tree1'), 1, 40);
  await smallTree(join(work.path, 'tree2'), 2, 40);
  c1 = ostreeCommit(src, 'os/x', join(work.path, 'tree1'), '2024-01-01T00:00:00Z', 'first');
  c2 = ostreeCommit(src, 'os/x', join(work.path, 'tree2'), '2024-01-02T00:00:00Z', 'second');
  run('ostree', ['refs', `--repo=${src}`, '--create=os/old', c1]);
  await updateSummary(await OstreeRepo.open(src));
  ng = await startNginx(src, work.path);
});

after(async () => {
  await ng.stop();
  await work.cleanup();
});

void test('summary: byte-identical to the golden vectors; the real ostree reads ours', async () => {
  for (const v of ['01-basic', '04-signed', '05-delta']) {
    const d = join(work.path, `vec-${v}`);
    run('mkdir', ['-p', d]);
    run('tar', ['-xzf', join(VECTORS, v, 'repo.tar.gz'), '-C', d]);
    const repo = await OstreeRepo.open(join(d, 'repo'));
    const ours = await generateSummary(repo, { now: 1622548800n });
    assert.ok(ours.equals(await readFile(join(d, 'repo/summary'))), `${v}: summary differs`);
  }
  const view = run('ostree', ['summary', `--repo=${src}`, '--view']).stdout;
  assert.match(view, new RegExp(`os/x[\\s\\S]*${c2}`));
  assert.match(view, new RegExp(`os/old[\\s\\S]*${c1}`));
  const s = parseSummary(await readFile(join(src, 'summary')));
  assert.equal(s.refs.get('os/x')?.checksum, c2);
  assert.equal(s.refs.get('os/x')?.timestamp, BigInt(Date.parse('2024-01-02T00:00:00Z') / 1000));
});

void test('ed25519: commitmeta and summary.sig byte-identical to 04-signed; wrong key rejected', async () => {
  const d = join(work.path, 'vec-04-signed/repo');
  const repo = await OstreeRepo.open(d);
  const c = '447d3ae5e65b34aa1644745cb610e5e45d67e759b26c65c685a7de99bcbb561a';
  const secret = (await readFile(join(VECTORS, '04-signed/ed25519.secret'), 'utf8')).trim();
  const pub = (await readFile(join(VECTORS, '04-signed/ed25519.pub'), 'utf8')).trim();
  const origMeta = await readFile(repo.objectPath(c, 'commitmeta'));
  const origSig = await readFile(join(d, 'summary.sig'));
  assert.deepEqual((await verifyCommit(repo, c, { ed25519Keys: [pub] })).ed25519, [pub]);
  await rm(repo.objectPath(c, 'commitmeta'));
  await signCommit(repo, c, { ed25519Secrets: [secret] });
  assert.ok(origMeta.equals(await readFile(repo.objectPath(c, 'commitmeta'))));
  await signSummary(repo, { ed25519Secrets: [secret] });
  assert.ok(origSig.equals(await readFile(join(d, 'summary.sig'))));
  const other = ed25519Generate();
  await assert.rejects(verifyCommit(repo, c, { ed25519Keys: [other.publicKey] }), /ed25519: none of 1 signature/);
});

void test('OpenPGP: our signatures are accepted by the real ostree (gpg-verify), a foreign key is refused', async () => {
  const d = join(work.path, 'gpg');
  const home = join(d, 'home');
  const fpr = await gpgGenerateKey(home, 'Delivery Test <t@example.org>');
  await writeFile(join(d, 'pub.gpg'), await gpgExportKey(home, fpr));
  const other = await gpgGenerateKey(join(d, 'home2'), 'Other <o@example.org>');
  await writeFile(join(d, 'other.gpg'), await gpgExportKey(join(d, 'home2'), other));
  const served = join(d, 'served');
  await cp(src, served, { recursive: true });
  const repo = await OstreeRepo.open(served);
  await signCommit(repo, c2, { gpgKeyIds: [fpr], gpgHomedir: home });
  await signSummary(repo, { gpgKeyIds: [fpr], gpgHomedir: home });
  const srv = await serveRepo(served);
  try {
    for (const [key, ok] of [['pub.gpg', true], ['other.gpg', false]] as const) {
      const client = join(d, `client-${key}`);
      run('ostree', ['init', `--repo=${client}`, '--mode=bare-user']);
      run('ostree', ['remote', 'add', `--repo=${client}`, '--set=gpg-verify=true', '--set=gpg-verify-summary=true', `--gpg-import=${join(d, key)}`, 'origin', srv.url]);
      const r = await runAsync('ostree', ['pull', `--repo=${client}`, 'origin', 'os/x']);
      assert.equal(r.status === 0, ok, `${key}: ${r.stderr}`);
      // our pull with the same trust decision
      const ours = await OstreeRepo.init(join(d, `ours-${key}`), 'bare-user');
      await addRemote(ours, 'origin', srv.url, { gpgImport: [join(d, key)], set: { 'gpg-verify-summary': 'true' } });
      const p = pull(await OstreeRepo.open(ours.path), 'origin', ['os/x']);
      if (ok) assert.equal((await p).refs.get('os/x'), c2);
      else await assert.rejects(p, /GPG: none of 1 signature/);
    }
  } finally {
    await srv.close();
  }
});

void test('pull from nginx into archive, bare and bare-user: ostree fsck agrees, files match', async () => {
  for (const mode of ['archive', 'bare', 'bare-user'] as const) {
    const repo = await OstreeRepo.init(join(work.path, `pull-${mode}`), mode);
    const res = await pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, ['os/x'], { disableStaticDeltas: true });
    assert.equal(res.refs.get('os/x'), c2);
    assert.ok(res.objectsFetched > 40);
    assert.equal(await repo.resolveRev('origin:os/x'), c2);
    const fsck = run('ostree', ['fsck', `--repo=${repo.path}`], { allowFail: true });
    assert.equal(fsck.status, 0, fsck.stderr);
    const out = join(work.path, `co-${mode}`);
    run('ostree', ['checkout', `--repo=${repo.path}`, ...(mode === 'bare' ? [] : ['-U']), c2, out]);
    assert.equal(run('diff', ['-r', '--no-dereference', join(work.path, 'tree2'), out], { allowFail: true }).status, 0);
    // pulling again fetches nothing new
    const again = await pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, ['os/x']);
    assert.deepEqual(again.unchanged, ['os/x']);
    assert.equal(again.objectsFetched, 0);
  }
});

void test('pull refuses downgrades, wrong ed25519 keys and corrupt objects; nothing is written for them', async () => {
  const repo = await OstreeRepo.init(join(work.path, 'refuse'), 'bare-user');
  await pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, ['os/x']);
  await assert.rejects(pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, [`os/x@${c1}`]), /refusing to pull .* older than/);
  assert.equal(await repo.resolveRev('origin:os/x'), c2);
  const ok = await pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, [`os/x@${c1}`], { allowDowngrade: true });
  assert.equal(ok.refs.get('os/x'), c1);
  await pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, ['os/x']);
  // c1 is now complete locally: going back to it is still a downgrade
  await assert.rejects(pullFrom(repo, { url: ng.url, remote: 'origin', ...noSig }, [`os/x@${c1}`]), /refusing to pull/);
  assert.equal(await repo.resolveRev('origin:os/x'), c2);
  // ed25519: unsigned commit with sign-verify on
  const key = ed25519Generate();
  const repo2 = await OstreeRepo.init(join(work.path, 'refuse2'), 'bare-user');
  await assert.rejects(pullFrom(repo2, { url: ng.url, remote: 'o', policy: { ed25519Keys: [key.publicKey] }, summaryPolicy: {} }, ['os/x']), /ed25519: no signature found/);
  assert.equal(await repo2.resolveRev('o:os/x', true), null);
  assert.equal(await repo2.hasObject(c2, 'commit'), false);
  // corrupt object on the server
  const bad = join(work.path, 'bad-src');
  await cp(src, bad, { recursive: true });
  const files = (await readdir(join(bad, 'objects'), { recursive: true })).filter((f) => f.endsWith('.filez'));
  const victim = join(bad, 'objects', files[0]);
  const data = await readFile(victim);
  data[data.length - 3] ^= 0xff;
  await writeFile(victim, data);
  const srv = await serveRepo(bad);
  try {
    const repo3 = await OstreeRepo.init(join(work.path, 'refuse3'), 'archive');
    await assert.rejects(pullFrom(repo3, { url: srv.url, remote: 'o', ...noSig }, ['os/x']), /file object [0-9a-f]{64}: (content hashes to|corrupt compressed|content longer|content is)/);
    assert.equal(await repo3.resolveRev('o:os/x', true), null);
  } finally {
    await srv.close();
  }
});

void test('pull resumes: after a failed pull only missing objects are fetched, commitpartial cleared', async () => {
  const broken = join(work.path, 'broken');
  await cp(src, broken, { recursive: true });
  const objs = (await readdir(join(broken, 'objects'), { recursive: true })).filter((f) => f.endsWith('.filez')).sort();
  const hidden = objs.slice(0, 5);
  for (const h of hidden) await rename(join(broken, 'objects', h), join(broken, 'objects', h + '.hidden'));
  const srv = await serveRepo(broken);
  try {
    const repo = await OstreeRepo.init(join(work.path, 'resume'), 'bare-user');
    await assert.rejects(pullFrom(repo, { url: srv.url, remote: 'o', ...noSig }, ['os/x'], { disableStaticDeltas: true }), /not found/);
    await access(commitPartialPath(repo, c2));
    assert.equal(await repo.resolveRev('o:os/x', true), null);
    for (const h of hidden) await rename(join(broken, 'objects', h + '.hidden'), join(broken, 'objects', h));
    const res = await pullFrom(await OstreeRepo.open(repo.path), { url: srv.url, remote: 'o', ...noSig }, ['os/x'], { disableStaticDeltas: true });
    // objects (and the commit) stored by the failed run are not fetched again
    assert.ok(res.objectsPresent > 0, `present ${res.objectsPresent}`);
    const fresh = await pullFrom(await OstreeRepo.init(join(work.path, 'resume-fresh'), 'bare-user'), { url: srv.url, remote: 'o', ...noSig }, ['os/x'], { disableStaticDeltas: true });
    assert.equal(res.objectsFetched + res.objectsPresent, fresh.objectsFetched + fresh.objectsPresent);
    assert.ok(res.objectsFetched < fresh.objectsFetched, `fetched ${res.objectsFetched} of ${fresh.objectsFetched}`);
    await assert.rejects(access(commitPartialPath(repo, c2)));
    assert.equal(run('ostree', ['fsck', `--repo=${repo.path}`], { allowFail: true }).status, 0);
  } finally {
    await srv.close();
  }
});

void test('32 concurrent pulls from nginx all complete and verify', async () => {
  const repos = await Promise.all(Array.from({ length: 32 }, (_, i) => OstreeRepo.init(join(work.path, `conc/${i}`), i % 2 ? 'archive' : 'bare-user')));
  const results = await Promise.all(repos.map((r) => pullFrom(r, { url: ng.url, remote: 'origin', ...noSig }, ['os/x'], { concurrency: 4, disableStaticDeltas: true })));
  for (const r of results) assert.equal(r.refs.get('os/x'), c2);
  for (const i of [0, 1, 31]) assert.equal(run('ostree', ['fsck', `--repo=${repos[i].path}`], { allowFail: true }).status, 0);
});

void test('static deltas: ours are used by the real ostree; the real ostree\'s (rollsum) are applied by ours', async () => {
  const served = join(work.path, 'delta-src');
  await cp(src, served, { recursive: true });
  const repo = await OstreeRepo.open(served);
  const d1 = await generateStaticDelta(repo, c1, c2);
  const scratch = await generateStaticDelta(repo, null, c2, { maxChunkSize: 100_000 });
  assert.equal(d1.parts, 1);
  assert.ok(scratch.parts >= 3, `scratch parts ${scratch.parts}`);
  await updateSummary(repo);
  const show = run('ostree', ['static-delta', 'show', `--repo=${served}`, `${c1}-${c2}`]).stdout;
  assert.match(show, /Number of parts: 1/);
  // the modified 300 kB file is rebuilt from its old version (rollsum-style writes), not stored whole
  assert.match(show, /open=1 write=\d+ setread=1 unsetread=1 close=1/);
  assert.ok(d1.size < 60_000, `delta size ${d1.size}`);
  const dng = await startNginx(served, join(work.path, 'delta-ng'));
  try {
    const client = join(work.path, 'delta-client');
    run('ostree', ['init', `--repo=${client}`, '--mode=bare-user']);
    run('ostree', ['remote', 'add', `--repo=${client}`, '--no-gpg-verify', 'origin', dng.url]);
    run('ostree', ['pull', `--repo=${client}`, 'origin', `os/x@${c1}`]);
    const n = (await dng.requests()).length;
    const pr = await runAsync('ostree', ['pull', `--repo=${client}`, 'origin', 'os/x']);
    assert.equal(pr.status, 0, pr.stderr);
    const reqs = (await dng.requests()).slice(n).join('\n');
    assert.match(reqs, /GET \/deltas\/[^ ]+-[^ ]+\/0 /);
    assert.equal(run('ostree', ['fsck', `--repo=${client}`], { allowFail: true }).status, 0);
    // ours, incremental, via the same delta
    const ours = await OstreeRepo.init(join(work.path, 'delta-ours'), 'bare-user');
    await pullFrom(ours, { url: dng.url, remote: 'origin', ...noSig }, [`os/x@${c1}`], { disableStaticDeltas: true });
    const res = await pullFrom(ours, { url: dng.url, remote: 'origin', ...noSig }, ['os/x'], { requireStaticDeltas: true });
    assert.deepEqual(res.deltasUsed, [`${c1}-${c2}`]);
    assert.equal(run('ostree', ['fsck', `--repo=${ours.path}`], { allowFail: true }).status, 0);
    // multi-part scratch delta: the real ostree and ours
    const fresh = join(work.path, 'delta-fresh');
    run('ostree', ['init', `--repo=${fresh}`, '--mode=bare-user']);
    run('ostree', ['remote', 'add', `--repo=${fresh}`, '--no-gpg-verify', 'origin', dng.url]);
    const m = (await dng.requests()).length;
    const fr = await runAsync('ostree', ['pull', `--repo=${fresh}`, 'origin', 'os/x']);
    assert.equal(fr.status, 0, fr.stderr);
    assert.match((await dng.requests()).slice(m).join('\n'), new RegExp(`GET /deltas/[^ -]+/${scratch.parts - 1} `));
    assert.equal(run('ostree', ['fsck', `--repo=${fresh}`], { allowFail: true }).status, 0);
    const ours2 = await OstreeRepo.init(join(work.path, 'delta-ours2'), 'bare');
    const res2 = await pullFrom(ours2, { url: dng.url, remote: 'origin', ...noSig }, ['os/x'], { requireStaticDeltas: true });
    assert.deepEqual(res2.deltasUsed, [c2]);
    assert.equal(run('ostree', ['fsck', `--repo=${ours2.path}`], { allowFail: true }).status, 0);
  } finally {
    await dng.stop();
  }
  // the real ostree's deltas (05-delta: rollsum writes from a read source) applied by our pull
  const vec = join(work.path, 'vec05');
  run('mkdir', ['-p', vec]);
  run('tar', ['-xzf', join(VECTORS, '05-delta/repo.tar.gz'), '-C', vec]);
  const vsrv = await serveRepo(join(vec, 'repo'));
  try {
    const from = 'cebc25fcf32b4ebfa6088ba0b7afddf402412160ea9f938787a1329ddc835ec4';
    const to = '8a3a0e9864c4410bb30e777c579a71d9120614fdfcd69a98389d6c59d89d8fb2';
    const r = await OstreeRepo.init(join(work.path, 'vec05-client'), 'bare-user');
    const a = await pullFrom(r, { url: vsrv.url, remote: 'v', ...noSig }, [`vector/delta@${from}`], { disableStaticDeltas: true });
    assert.equal(a.refs.get('vector/delta'), from);
    const b = await pullFrom(r, { url: vsrv.url, remote: 'v', ...noSig }, ['vector/delta'], { requireStaticDeltas: true });
    assert.deepEqual(b.deltasUsed, [`${from}-${to}`]);
    assert.equal(run('ostree', ['fsck', `--repo=${r.path}`], { allowFail: true }).status, 0);
    const s = await OstreeRepo.init(join(work.path, 'vec05-scratch'), 'bare');
    const c = await pullFrom(s, { url: vsrv.url, remote: 'v', ...noSig }, ['vector/delta'], { requireStaticDeltas: true });
    assert.deepEqual(c.deltasUsed, [to]);
    assert.equal(run('ostree', ['fsck', `--repo=${s.path}`], { allowFail: true }).status, 0);
  } finally {
    await vsrv.close();
  }
});

void test('remotes and pull-local; CLI: remote add/list/show-url/delete, pull, user errors exit 1', async () => {
  const repo = await OstreeRepo.init(join(work.path, 'remotes'), 'bare-user');
  let r = await addRemote(repo, 'origin', ng.url, { noGpgVerify: true });
  r = await addRemote(r, 'other', 'http://127.0.0.1:9/', { signVerify: ['ed25519=inline:' + ed25519Generate().publicKey] });
  assert.deepEqual(listRemotes(r), ['origin', 'other']);
  // the real ostree reads our config
  assert.equal(run('ostree', ['remote', 'show-url', `--repo=${r.path}`, 'origin']).stdout.trim(), ng.url);
  assert.equal((await getRemote(r, 'other')).signVerify, true);
  r = await deleteRemote(r, 'other');
  assert.deepEqual(listRemotes(r), ['origin']);
  const res = await pull(r, 'origin', ['os/x', 'os/old']);
  assert.equal(res.refs.get('os/old'), c1);
  const local = await OstreeRepo.init(join(work.path, 'local-copy'), 'archive');
  // from a bare-user source (no HTTP format): objects re-hashed into the archive destination
  const lc = await pullLocal(local, r.path, ['origin:os/x'], { remote: 'x' });
  assert.equal(lc.refs.get('os/x'), c2);
  assert.equal(await local.resolveRev('x:os/x'), c2);
  assert.equal(run('ostree', ['fsck', `--repo=${local.path}`], { allowFail: true }).status, 0);
  await assert.rejects(pullLocal(local, r.path, ['no/such']), /ref 'no\/such' not found/);
  const lc2 = await pullLocal(local, src, ['os/x']);
  assert.equal(lc2.refs.get('os/x'), c2);
  // CLI
  const cli = join(work.path, 'cli');
  await OstreeRepo.init(cli, 'bare-user');
  let o = await fedostreeAsync(['remote', 'add', `--repo=${cli}`, '--no-gpg-verify', 'origin', ng.url]);
  assert.equal(o.status, 0, o.stderr);
  o = await fedostreeAsync(['remote', 'list', `--repo=${cli}`, '-u']);
  assert.match(o.stdout, /origin\s+http:\/\/127\.0\.0\.1/);
  o = await fedostreeAsync(['pull', `--repo=${cli}`, 'origin', 'os/x', '--json']);
  assert.equal(o.status, 0, o.stderr);
  assert.equal((JSON.parse(o.stdout) as { refs: Record<string, string> }).refs['os/x'], c2);
  o = await fedostreeAsync(['pull', `--repo=${cli}`, 'nosuch', 'os/x']);
  assert.equal(o.status, 1);
  assert.match(o.stderr, /^error: .*remote 'nosuch' not found\n$/);
  o = await fedostreeAsync(['pull', `--repo=${cli}`, 'origin', 'no/such/ref']);
  assert.equal(o.status, 1);
  assert.match(o.stderr, /^error: .*no such ref 'no\/such\/ref'\n$/);
  o = await fedostreeAsync(['remote', 'show-url', `--repo=${cli}`, 'origin']);
  assert.equal(o.stdout.trim(), ng.url);
  o = await fedostreeAsync(['remote', 'delete', `--repo=${cli}`, 'origin']);
  assert.equal(o.status, 0);
  o = await fedostreeAsync(['repo', 'summary', `--repo=${src}`, '--view', '--json']);
  assert.equal((JSON.parse(o.stdout) as { refs: Record<string, { checksum: string }> }).refs['os/x'].checksum, c2);
});
