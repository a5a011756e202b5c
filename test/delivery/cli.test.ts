/**
 * The delivery CLI end to end: `serve` as a child process, `repo summary -u --sign`, `repo sign`,
 * `repo sign-keygen`, `repo static-delta generate/list/show`, `remote add --sign-verify`, `pull`
 * killed mid-way and re-run (the repository stays valid and the second run completes).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir, smallTree, ostreeCommit, run, fedostreeAsync, ROOT } from './_helpers.ts';

let work: { path: string; cleanup: () => Promise<void> };
let src: string;
let c1: string;
let c2: string;

before(async () => {
  work = await tempDir('dcli');
  src = join(work.path, 'src');
  await smallTree(join(work.path, 't'), 1, 300);
  c1 = ostreeCommit(src, 'os/x', join(work.path, 't'), '2024-01-01T00:00:00Z', 'first');
  await smallTree(join(work.path, 't'), 2, 300);
  c2 = ostreeCommit(src, 'os/x', join(work.path, 't'), '2024-01-02T00:00:00Z', 'second');
});

after(async () => {
  await work.cleanup();
});

void test('CLI: keygen, sign, summary, static-delta, serve, signed pull, kill and resume', async () => {
  let o = await fedostreeAsync(['repo', 'sign-keygen', '--json']);
  assert.equal(o.status, 0, o.stderr);
  const keys = JSON.parse(o.stdout) as { publicKey: string; secretKey: string };
  o = await fedostreeAsync(['repo', 'sign', `--repo=${src}`, 'os/x', keys.secretKey]);
  assert.equal(o.status, 0, o.stderr);
  o = await fedostreeAsync(['repo', 'sign', `--repo=${src}`, '--verify', 'os/x', keys.publicKey]);
  assert.match(o.stdout, /ed25519: Signature verified successfully/);
  o = await fedostreeAsync(['repo', 'static-delta', 'generate', `--repo=${src}`, `--from=${c1}`, `--to=${c2}`]);
  assert.equal(o.status, 0, o.stderr);
  o = await fedostreeAsync(['repo', 'static-delta', 'list', `--repo=${src}`]);
  assert.equal(o.stdout.trim(), `${c1}-${c2}`);
  assert.deepEqual(run('ostree', ['static-delta', 'list', `--repo=${src}`]).stdout.trim(), `${c1}-${c2}`);
  o = await fedostreeAsync(['repo', 'static-delta', 'show', `--repo=${src}`, `${c1}-${c2}`]);
  assert.match(o.stdout, /Number of parts: 1/);
  o = await fedostreeAsync(['repo', 'summary', `--repo=${src}`, '-u', `--sign=${keys.secretKey}`, '--sign-type=ed25519']);
  assert.equal(o.status, 0, o.stderr);
  o = await fedostreeAsync(['repo', 'summary', `--repo=${src}`, '--view']);
  assert.match(o.stdout, new RegExp(`os/x[\\s\\S]*${c2}[\\s\\S]*Static delta ${c1}-${c2}`));
  // bad input: exit 1, one line
  o = await fedostreeAsync(['repo', 'sign', `--repo=${src}`, 'os/x', 'bm90IGEga2V5']);
  assert.equal(o.status, 1);
  assert.match(o.stderr, /^error: ed25519 secret key: 9 bytes, expected 64/);
  o = await fedostreeAsync(['repo', 'static-delta', 'show', `--repo=${src}`, c1]);
  assert.equal(o.status, 1);
  assert.match(o.stderr, /^error: .*no static delta/);

  const log = join(work.path, 'access.log');
  const server = spawn(process.execPath, [join(ROOT, 'bin/fedostree.js'), 'serve', `--repo=${src}`, '--port=0', '--json', `--access-log=${log}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        try {
          resolve((JSON.parse(out) as { url: string }).url);
        } catch {
          // partial
        }
      });
      server.on('exit', (c) => reject(new Error(`serve exited ${c}`)));
    });
    const client = join(work.path, 'client');
    run('ostree', ['init', `--repo=${client}`, '--mode=bare-user']);
    o = await fedostreeAsync(['remote', 'add', `--repo=${client}`, '--no-gpg-verify', `--sign-verify=ed25519=inline:${keys.publicKey}`, '--set=sign-verify-summary=true', 'origin', url]);
    assert.equal(o.status, 0, o.stderr);
    // kill a pull mid-way, several times at different points, then finish
    for (const delay of [300, 700, 1200]) {
      const p = spawn(process.execPath, [join(ROOT, 'bin/fedostree.js'), 'pull', `--repo=${client}`, 'origin', 'os/x', '--disable-static-deltas', '--concurrency=2'], { stdio: 'ignore' });
      const exited = new Promise((r) => p.once('exit', r));
      await sleep(delay);
      p.kill('SIGKILL');
      await exited;
      assert.equal(run('ostree', ['fsck', `--repo=${client}`], { allowFail: true }).status, 0);
    }
    o = await fedostreeAsync(['pull', `--repo=${client}`, 'origin', `os/x@${c1}`, '--disable-static-deltas', '--allow-downgrade']);
    // c1 is unsigned: refused with sign-verify on
    assert.equal(o.status, 1);
    assert.match(o.stderr, /^error: commit [0-9a-f]{64}: ed25519: no signature found\n$/);
    o = await fedostreeAsync(['pull', `--repo=${client}`, 'origin', 'os/x', '--json']);
    assert.equal(o.status, 0, o.stderr);
    const res = JSON.parse(o.stdout) as { refs: Record<string, string>; deltasUsed: string[] };
    assert.equal(res.refs['os/x'], c2);
    const fsck = run('ostree', ['fsck', `--repo=${client}`], { allowFail: true });
    assert.equal(fsck.status, 0, fsck.stderr);
    // the real ostree pulls from our server too, and the summary signature key is checked by ours
    await writeFile(join(work.path, 'wrong.pub'), (JSON.parse((await fedostreeAsync(['repo', 'sign-keygen', '--json'])).stdout) as { publicKey: string }).publicKey + '\n');
    const c3 = join(work.path, 'client3');
    run('ostree', ['init', `--repo=${c3}`, '--mode=bare-user']);
    o = await fedostreeAsync(['remote', 'add', `--repo=${c3}`, '--no-gpg-verify', `--sign-verify=ed25519=file:${join(work.path, 'wrong.pub')}`, '--set=sign-verify-summary=true', 'origin', url]);
    o = await fedostreeAsync(['pull', `--repo=${c3}`, 'origin', 'os/x']);
    assert.equal(o.status, 1);
    assert.match(o.stderr, /^error: summary of origin: ed25519: none of 1 signature/);
    const real = join(work.path, 'real');
    run('ostree', ['init', `--repo=${real}`, '--mode=archive']);
    run('ostree', ['remote', 'add', `--repo=${real}`, '--no-gpg-verify', 'origin', url]);
    const rp = await (await import('./_helpers.ts')).runAsync('ostree', ['pull', `--repo=${real}`, 'origin', 'os/x']);
    assert.equal(rp.status, 0, rp.stderr);
  } finally {
    const exited = server.exitCode === null ? new Promise((r) => server.once('exit', r)) : Promise.resolve();
    server.kill('SIGTERM');
    await exited;
  }
});
