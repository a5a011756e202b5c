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
import { Vm } from '../../src/vm/index.ts';

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

void test('compose → image → boot → offline update → boot', { timeout: 40 * 60_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'fedostree-e2e-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const dir = await samples();
  const repo = join(work, 'repo');
  await run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
  const t1 = await trees(join(dir, 'trees'), join(work, 'trees-v1'));
  await cli(['compose', 'tree', '--repo', repo, '--cachedir', join(work, 'cache'), join(t1, 'base/minimal.yaml')]);
  const v1 = (await run('ostree', ['rev-parse', `--repo=${repo}`, REF])).stdout.trim();

  const disk = join(work, 'disk.img');
  let t0 = Date.now();
  await cli(['vm', 'image', '--repo', repo, '--ref', REF, '-o', disk, '--agent', '--remote', 'host=http://10.0.2.2:8080']);
  t.diagnostic(`vm image: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${(await stat(disk)).size >> 20} MiB sparse`);

  // First boot: v1
  let vm = await Vm.start({ image: disk, agent: true });
  try {
    assert.ok(await vm.waitFor(/Reached target .*Multi-User System/, 400_000), `no multi-user:\n${(await vm.console()).slice(-3000)}`);
    t.diagnostic(`boot to multi-user (${vm.accel}): ${((Date.now() - vm.started) / 1000).toFixed(1)} s`);
    assert.ok(await vm.waitAgent(120_000), 'the test agent did not answer');
    const osr = await guest(vm, 'cat /etc/os-release');
    assert.match(osr, /^VERSION=/m);
    const status = await guest(vm, 'ostree admin status');
    assert.match(status, new RegExp(`^\\* fedostree ${v1}\\.0`, 'm'), status);
    const ro = await vm.exec('touch /usr/fedostree-probe', 30_000);
    assert.notEqual(ro.rc, 0, '/usr must be read-only');
    assert.match(ro.out, /Read-only file system/);
    // base/minimal ships no rpm binary; the rpmdb the compose wrote must be there.
    assert.match(await guest(vm, 'ls /usr/lib/sysimage/rpm /usr/share/rpm 2>/dev/null; true'), /rpmdb|Packages/);
    await guest(vm, 'echo edited-by-e2e > /etc/e2e-marker && sync');
  } finally {
    await vm.stop(60_000);
  }

  // v2 composed, deployed offline into the same image
  const t2 = await trees(join(dir, 'trees-v2'), join(work, 'trees-v2'));
  await cli(['compose', 'tree', '--repo', repo, '--cachedir', join(work, 'cache'), join(t2, 'base/minimal.yaml')]);
  const v2 = (await run('ostree', ['rev-parse', `--repo=${repo}`, REF])).stdout.trim();
  assert.notEqual(v2, v1);
  t0 = Date.now();
  const up = await cli(['vm', 'update', disk, '--repo', repo]);
  t.diagnostic(`vm update: ${((Date.now() - t0) / 1000).toFixed(1)} s: ${up.trim()}`);
  assert.match(up, new RegExp(`deployed ${v2}`));

  vm = await Vm.start({ image: disk, agent: true });
  try {
    assert.ok(await vm.waitFor(/Reached target .*Multi-User System/, 400_000), `no multi-user after update:\n${(await vm.console()).slice(-3000)}`);
    assert.ok(await vm.waitAgent(120_000), 'the test agent did not answer after the update');
    const status = await guest(vm, 'ostree admin status');
    assert.match(status, new RegExp(`^\\* fedostree ${v2}\\.0`, 'm'), status);
    assert.match(status, new RegExp(`fedostree ${v1}\\.0 \\(rollback\\)`), status);
    assert.equal((await guest(vm, 'cat /etc/e2e-marker')).trim(), 'edited-by-e2e');
  } finally {
    await vm.stop(60_000);
  }
  const log = await readFile(`${disk}.console.log`, 'utf8');
  assert.ok(log.length > 0);
});
