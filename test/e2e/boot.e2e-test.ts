// End to end (`npm run test:e2e`, not part of `npm test`): the sample distribution composed by
// fedostree, put on a disk image, booted in qemu (TCG unless KVM proves to work), checked from inside
// the guest through the test agent, then updated offline with `vm update` and booted again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Vm, withMountedImage } from '../../src/vm/index.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const REF = 'fedostree/sample/x86_64/base/minimal';

async function cli(args: string[]): Promise<string> {
  const r = await run(process.execPath, [join(ROOT, 'bin/fedostree.js'), ...args], { maxBuffer: 64 << 20 });
  return r.stdout;
}

async function samples(): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'samples/build.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, 'samples/build.ts failed');
  return out.trim().split('\n').pop() as string;
}

/** A copy of a treefile directory with one .repo file (at the top, beside common.yaml). */
async function trees(src: string, dst: string): Promise<string> {
  await cp(src, dst, { recursive: true });
  for (const sub of ['base', 'server']) {
    for (const f of await readdir(join(dst, sub))) if (f.endsWith('.repo')) await rm(join(dst, sub, f));
  }
  return dst;
}

async function guest(vm: Vm, cmd: string): Promise<string> {
  const r = await vm.exec(cmd, 120_000);
  assert.equal(r.rc, 0, `guest: ${cmd} exited ${r.rc}: ${r.out}`);
  return r.out;
}

/** `fedostree serve` on 127.0.0.1 (the guest reaches it as 10.0.2.2); returns the port. */
async function serve(repo: string): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/fedostree.js'), 'serve', '--repo', repo, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":\s*(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('close', (c) => reject(new Error(`fedostree serve exited ${c}`)));
  });
  return { port, stop: () => child.kill() };
}

async function boot(t: { diagnostic: (s: string) => void }, disk: string, what: string): Promise<Vm> {
  const vm = await Vm.start({ image: disk, agent: true });
  if (!(await vm.waitMultiUser(420_000))) {
    const tail = (await vm.console()).slice(-3000);
    await vm.stop();
    assert.fail(`${what}: no multi-user:\n${tail}`);
  }
  t.diagnostic(`${what}: multi-user after ${((Date.now() - vm.started) / 1000).toFixed(1)} s (${vm.accel})`);
  assert.ok(await vm.waitAgent(120_000), `${what}: the test agent did not answer`);
  return vm;
}

/** The booted checksum per `ostree admin status` (the real tool, in the guest). */
async function booted(vm: Vm): Promise<string> {
  const st = await guest(vm, 'ostree admin status');
  const m = /^\* fedostree ([0-9a-f]{64})\.\d+/m.exec(st);
  assert.ok(m, `no booted deployment in:\n${st}`);
  return m[1];
}

void test('compose → image → boot → guest upgrade over HTTP → reboot → rollback → offline update', { timeout: 60 * 60_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'fedostree-e2e-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const dir = await samples();
  const repo = join(work, 'repo');
  const cache = join(work, 'cache');
  await run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
  const pub = (await cli(['repo', 'sign-keygen', '--secret-file', join(work, 'secret.key')])).trim();
  const t1 = await trees(join(dir, 'trees'), join(work, 'trees-v1'));
  let t0 = Date.now();
  await cli(['compose', 'tree', '--repo', repo, '--cachedir', cache, join(t1, 'base/minimal.yaml')]);
  t.diagnostic(`compose v1: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const v1 = (await run('ostree', ['rev-parse', `--repo=${repo}`, REF])).stdout.trim();
  await cli(['repo', 'sign', '--repo', repo, v1, '--keys-file', join(work, 'secret.key')]);
  await cli(['repo', 'summary', '-u', '--repo', repo, '--keys-file', join(work, 'secret.key')]);
  const server = await serve(repo);
  t.after(() => server.stop());

  const disk = join(work, 'disk.img');
  t0 = Date.now();
  await cli(['vm', 'image', '--repo', repo, '--ref', REF, '-o', disk, '--agent', '--remote', `host=http://10.0.2.2:${server.port}`, '--remote-sign-verify', `ed25519=inline:${pub}`]);
  t.diagnostic(`vm image: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${Math.round((await stat(disk)).size / 1048576)} MiB (sparse)`);

  // 1. v1 boots: os-release, booted deployment, read-only /usr, rpmdb; edit /etc
  let vm = await boot(t, disk, 'boot v1');
  try {
    assert.match(await guest(vm, 'cat /etc/os-release'), /^VERSION=/m);
    assert.equal(await booted(vm), v1);
    const ro = await vm.exec('touch /usr/fedostree-probe', 30_000);
    assert.notEqual(ro.rc, 0, '/usr must be read-only');
    assert.match(ro.out, /Read-only file system/);
    // base/minimal ships no rpm binary; the rpmdb the compose wrote must be there.
    assert.match(await guest(vm, 'ls /usr/lib/sysimage/rpm/ /usr/share/rpm/ 2>/dev/null; true'), /rpmdb/);
    await guest(vm, 'echo edited-by-e2e > /etc/e2e-marker && sync');

    // 2. v2 composed and signed on the host; the guest upgrades over HTTP
    const t2 = await trees(join(dir, 'trees-v2'), join(work, 'trees-v2'));
    t0 = Date.now();
    await cli(['compose', 'tree', '--repo', repo, '--cachedir', cache, join(t2, 'base/minimal.yaml')]);
    t.diagnostic(`compose v2: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const v2 = (await run('ostree', ['rev-parse', `--repo=${repo}`, REF])).stdout.trim();
    assert.notEqual(v2, v1);
    await cli(['repo', 'sign', '--repo', repo, v2, '--keys-file', join(work, 'secret.key')]);
    await cli(['repo', 'summary', '-u', '--repo', repo, '--keys-file', join(work, 'secret.key')]);
    t0 = Date.now();
    const up = await guest(vm, 'fedostree upgrade');
    t.diagnostic(`guest upgrade: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.match(await guest(vm, 'ostree admin status'), new RegExp(`^  fedostree ${v2}\\.0 \\(pending\\)`, 'm'), up);
    await guest(vm, 'sync');
    await vm.stop(60_000);

    vm = await boot(t, disk, 'boot v2');
    assert.equal(await booted(vm), v2);
    assert.equal((await guest(vm, 'cat /etc/e2e-marker')).trim(), 'edited-by-e2e');
    const fst = await guest(vm, 'fedostree status');
    assert.match(fst, /rollback|Rollback/, fst);
    const ost = await guest(vm, 'ostree admin status');
    assert.match(ost, new RegExp(`fedostree ${v1}\\.0 \\(rollback\\)`), ost);
    assert.ok(fst.includes(v2.slice(0, 10)) && fst.includes(v1.slice(0, 10)), `fedostree status:\n${fst}\nostree admin status:\n${ost}`);
    await guest(vm, 'fedostree rollback && sync');
    await vm.stop(60_000);

    vm = await boot(t, disk, 'boot after rollback');
    assert.equal(await booted(vm), v1);
    await vm.stop(60_000);

    // 3. the same upgrade offline: vm update deploys v2 into the image
    t0 = Date.now();
    const off = await cli(['vm', 'update', disk, '--repo', repo]);
    t.diagnostic(`vm update: ${((Date.now() - t0) / 1000).toFixed(1)} s: ${off.trim()}`);
    assert.match(off, new RegExp(`deployed ${v2}`));
    const status = await withMountedImage(disk, async (sys) => (await run('ostree', ['admin', 'status', `--sysroot=${sys}`])).stdout);
    assert.match(status.split('\n')[0], new RegExp(`fedostree ${v2}\\.\\d`), status);
  } finally {
    await vm.stop();
  }
  assert.ok((await readFile(`${disk}.console.log`, 'utf8')).length > 0);

  // 4. through the real boot loader: a UEFI image of v1, updated offline to v2 (two entries on the
  //    ESP), booted by OVMF + systemd-boot: the loader's default entry must be the v2 tree.
  const uefi = join(work, 'uefi.img');
  const v2 = (await run('ostree', ['rev-parse', `--repo=${repo}`, REF])).stdout.trim();
  await cli(['vm', 'image', '--repo', repo, '--ref', `${REF}^`, '-o', uefi, '--boot', 'uefi', '--agent']).catch(async () => {
    // the ref may have no parent recorded; then image v2 directly
    await cli(['vm', 'image', '--repo', repo, '--ref', REF, '-o', uefi, '--boot', 'uefi', '--agent']);
  });
  await cli(['vm', 'update', uefi, '--repo', repo, '--ref', REF]).catch(() => '');
  const uvm = await Vm.start({ image: uefi, agent: true, boot: 'uefi' });
  try {
    assert.ok(await uvm.waitMultiUser(480_000), `uefi boot: no multi-user:\n${(await uvm.console()).slice(-3000)}`);
    t.diagnostic(`uefi boot: multi-user after ${((Date.now() - uvm.started) / 1000).toFixed(1)} s`);
    assert.ok(await uvm.waitAgent(120_000));
    assert.equal(await booted(uvm), v2);
    assert.equal((await uvm.exec('test -d /sys/firmware/efi')).rc, 0, 'booted through UEFI');
  } finally {
    await uvm.stop();
  }

  // 5. a tree that does not boot (its init exits): the boot test fails, with the console tail, and the
  //    ref's record in the repository says so.
  const overlay = join(work, 'broken-overlay');
  await run('mkdir', ['-p', join(overlay, 'usr/lib/systemd')]);
  await run('sh', ['-c', `printf '#!/bin/sh\\necho broken-init-exits\\nexit 1\\n' > ${overlay}/usr/lib/systemd/systemd && chmod 755 ${overlay}/usr/lib/systemd/systemd`]);
  await run('ostree', ['commit', `--repo=${repo}`, '-b', 'test/broken', `--tree=ref=${REF}`, `--tree=dir=${overlay}`, '--owner-uid=0', '--owner-gid=0', '--no-xattrs', '-s', 'broken init']);
  await run('ostree', ['summary', '-u', `--repo=${repo}`]);
  const broken = (await run('ostree', ['rev-parse', `--repo=${repo}`, 'test/broken'])).stdout.trim();
  const bt = await run(process.execPath, [join(ROOT, 'bin/fedostree.js'), 'vm', 'boot-test', '--repo', repo, '--ref', 'test/broken', '--image', join(work, 'broken.img'), '--timeout', '400', '--json'], { maxBuffer: 64 << 20 })
    .then(() => assert.fail('the boot test of a broken tree passed'), (e: { code?: number; stdout?: string }) => e);
  assert.equal(bt.code, 1);
  const rec = JSON.parse(await readFile(join(repo, 'boot-tests/refs/test/broken.json'), 'utf8')) as { passed: boolean; commit: string; consoleTail: string };
  assert.equal(rec.passed, false);
  assert.equal(rec.commit, broken);
  assert.match(rec.consoleTail, /broken-init-exits|Kernel panic/);
  assert.deepEqual(JSON.parse(await readFile(join(repo, `boot-tests/${broken}.json`), 'utf8')), rec);
});
