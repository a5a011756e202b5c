// End to end (`npm run test:e2e`, the last part of `npm test`): the sample distribution composed by
// fedostree, put on a disk image, booted in qemu (TCG unless KVM proves to work), checked from inside
// the guest through the test agent: upgrade over HTTP, reboot, rollback, rebase, then the same
// upgrade offline with `vm update`. Beside it (the other core), a UEFI boot through systemd-boot and
// the boot test of a tree that cannot boot.
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
const DEBUG_REF = 'fedostree/sample/x86_64/server/standard-debug';

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

// Generous: a rebase pulls a few thousand objects over user-mode networking under TCG (~90 s here).
async function guest(vm: Vm, cmd: string): Promise<string> {
  const r = await vm.exec(cmd, 600_000);
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

/** The booted checksum, once the real `ostree admin status` and `fedostree status` agree on the list. */
async function booted(vm: Vm): Promise<string> {
  const row = (await statusAgrees(vm)).find((r) => r.booted);
  assert.ok(row, 'no booted deployment');
  return row.id.replace(/^[^/]+\//, '').replace(/\.\d+$/, '');
}

/** One deployment as both tools list it: stateroot, checksum.serial, booted, and its marker. */
type Row = { id: string; booted: boolean; mark: string };

/** `ostree admin status` (the real tool) and `fedostree status --json` must list the same deployments. */
async function statusAgrees(vm: Vm): Promise<Row[]> {
  const ost = await guest(vm, 'ostree admin status');
  const real: Row[] = [];
  for (const m of ost.matchAll(/^([* ]) (\S+) ([0-9a-f]{64}\.\d+)(?: \((pending|rollback)\))?$/gm)) {
    real.push({ id: `${m[2]}/${m[3]}`, booted: m[1] === '*', mark: m[4] ?? '' });
  }
  const ours = JSON.parse(await guest(vm, 'fedostree status --json')) as { deployments: Array<{ stateroot: string; checksum: string; serial: number; booted: boolean; default: boolean; rollback: boolean }> };
  const bootedIndex = ours.deployments.findIndex((d) => d.booted);
  const mine: Row[] = ours.deployments.map((d, i) => ({
    id: `${d.stateroot}/${d.checksum}.${d.serial}`,
    booted: d.booted,
    // ostree marks entries above the booted one "pending" and below it "rollback".
    mark: d.booted ? '' : i < bootedIndex ? 'pending' : 'rollback',
  }));
  assert.ok(real.length > 0, `no deployments in ostree admin status:\n${ost}`);
  assert.deepEqual(mine, real, `fedostree status --json and ostree admin status disagree:\n${ost}`);
  return real;
}

const secs = (t0: number): string => ((Date.now() - t0) / 1000).toFixed(1);

void test('compose → image → boot → guest upgrade over HTTP → reboot → rollback → rebase → offline update; UEFI; a broken tree', { timeout: 60 * 60_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'fedostree-e2e-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const dir = await samples();
  const repo = join(work, 'repo');
  const cache = join(work, 'cache');
  const key = join(work, 'secret.key');
  await run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
  const pub = (await cli(['repo', 'sign-keygen', '--secret-file', key])).trim();

  // 0. The three sample trees (v1), signed as they are committed.
  const t1 = await trees(join(dir, 'trees'), join(work, 'trees-v1'));
  let t0 = Date.now();
  const composed = JSON.parse(await cli(['compose', 'all', t1, '--repo', repo, '--cachedir', cache, '--sign-key', key, '--json'])) as {
    trees: Array<{ ref: string; commit: string; packages: string[]; kernel?: string }>;
  };
  t.diagnostic(`compose all v1 (3 trees): ${secs(t0)} s`);
  assert.deepEqual(composed.trees.map((x) => x.ref).sort(), [REF, 'fedostree/sample/x86_64/server/standard', DEBUG_REF]);
  const fsck = await run('ostree', ['fsck', `--repo=${repo}`], { maxBuffer: 16 << 20 });
  assert.match(fsck.stdout + fsck.stderr, /no errors found/i);
  for (const c of composed.trees) {
    assert.ok(c.kernel, `${c.ref}: no kernel`);
    const ls = (await run('ostree', ['ls', `--repo=${repo}`, c.ref, `/usr/lib/modules/${c.kernel}`], { maxBuffer: 16 << 20 })).stdout;
    assert.match(ls, /vmlinuz$/m, `${c.ref}: no vmlinuz`);
    assert.match(ls, /initramfs\.img$/m, `${c.ref}: no initramfs from dracut`);
    const co = join(work, `rpmdb-${c.ref.replaceAll('/', '_')}`);
    await run('ostree', ['checkout', `--repo=${repo}`, '--subpath=/usr/share/rpm', c.ref, co]);
    const qa = (await run('rpm', ['--dbpath', co, '-qa', '--qf', '%{NAME}\\n'], { maxBuffer: 16 << 20 })).stdout.trim().split('\n');
    assert.equal(qa.length, c.packages.length, `${c.ref}: rpmdb lists ${qa.length}, resolved ${c.packages.length}`);
    for (const need of ['fedostree', 'attr', 'ostree', 'systemd']) assert.ok(qa.includes(need), `${c.ref}: ${need} not installed`);
  }
  const debugTree = composed.trees.find((x) => x.ref === DEBUG_REF);
  assert.ok(debugTree, 'no standard-debug tree');
  assert.ok(debugTree.packages.some((p) => p.startsWith('strace-')), 'standard-debug has no strace');
  const v1 = composed.trees.find((x) => x.ref === REF)?.commit as string;
  const server = await serve(repo);
  t.after(() => server.stop());

  const disk = join(work, 'disk.img');
  t0 = Date.now();
  await cli(['vm', 'image', '--repo', repo, '--ref', REF, '-o', disk, '--agent', '--remote', `host=http://10.0.2.2:${server.port}`, '--remote-sign-verify', `ed25519=inline:${pub}`]);
  t.diagnostic(`vm image: ${secs(t0)} s, ${Math.round((await stat(disk)).size / 1048576)} MiB (sparse)`);

  // 1. v1 boots: os-release, booted deployment, read-only /usr, rpmdb; edit /etc
  let vm = await boot(t, disk, 'boot v1');
  let side: Promise<void> | null = null;
  try {
    assert.match(await guest(vm, 'cat /etc/os-release'), /^VERSION=/m);
    assert.equal(await booted(vm), v1);
    const ro = await vm.exec('touch /usr/fedostree-probe', 30_000);
    assert.notEqual(ro.rc, 0, '/usr must be read-only');
    assert.match(ro.out, /Read-only file system/);
    // base/minimal ships no rpm binary; the rpmdb the compose wrote must be there.
    assert.match(await guest(vm, 'ls /usr/lib/sysimage/rpm/'), /rpmdb\.sqlite/);
    await guest(vm, 'echo edited-by-e2e > /etc/e2e-marker && sync');

    // 2. v2 composed and signed on the host (while v1 runs); a tree with a broken init beside it
    const t2 = await trees(join(dir, 'trees-v2'), join(work, 'trees-v2'));
    t0 = Date.now();
    await cli(['compose', 'tree', '--repo', repo, '--cachedir', cache, '--sign-key', key, join(t2, 'base/minimal.yaml')]);
    t.diagnostic(`compose v2: ${secs(t0)} s`);
    const v2 = (await run('ostree', ['rev-parse', `--repo=${repo}`, REF])).stdout.trim();
    assert.notEqual(v2, v1);
    const overlay = join(work, 'broken-overlay');
    await run('mkdir', ['-p', join(overlay, 'usr/lib/systemd')]);
    await run('sh', ['-c', `printf '#!/bin/sh\\necho broken-init-exits\\nexit 1\\n' > ${overlay}/usr/lib/systemd/systemd && chmod 755 ${overlay}/usr/lib/systemd/systemd`]);
    await run('ostree', ['commit', `--repo=${repo}`, '-b', 'test/broken', `--tree=ref=${REF}`, `--tree=dir=${overlay}`, '--owner-uid=0', '--owner-gid=0', '--no-xattrs', '-s', 'broken init']);
    await cli(['repo', 'summary', '-u', '--repo', repo, '--keys-file', key]);

    // The other core boots the UEFI image and the broken tree while this one runs the guest story.
    side = sideStory(t, work, repo, v2);

    t0 = Date.now();
    const up = await guest(vm, 'fedostree upgrade');
    t.diagnostic(`guest upgrade: ${secs(t0)} s`);
    assert.match(await guest(vm, 'ostree admin status'), new RegExp(`^  fedostree ${v2}\\.0 \\(pending\\)`, 'm'), up);
    await statusAgrees(vm);
    await guest(vm, 'sync');
    await vm.stop(60_000);

    vm = await boot(t, disk, 'boot v2');
    assert.equal(await booted(vm), v2);
    assert.equal((await guest(vm, 'cat /etc/e2e-marker')).trim(), 'edited-by-e2e');
    const rows = await statusAgrees(vm);
    assert.deepEqual(rows.map((r) => [r.id, r.mark]), [[`fedostree/${v2}.0`, ''], [`fedostree/${v1}.0`, 'rollback']]);
    assert.match(await guest(vm, 'fedostree status'), /\(rollback\)/);
    await guest(vm, 'fedostree rollback && sync');
    await vm.stop(60_000);

    vm = await boot(t, disk, 'boot after rollback');
    assert.equal(await booted(vm), v1);

    // 3. rebase to another tree over HTTP; after the reboot its tools are there, rpm reads the rpmdb
    t0 = Date.now();
    await guest(vm, `fedostree rebase host:${DEBUG_REF} && sync`);
    t.diagnostic(`guest rebase: ${secs(t0)} s`);
    await vm.stop(60_000);
    vm = await boot(t, disk, 'boot standard-debug');
    assert.equal(await booted(vm), debugTree.commit);
    assert.match(await guest(vm, 'strace -V'), /strace -- version/);
    assert.match(await guest(vm, 'strace -f -e trace=execve -o /dev/null true && echo traced'), /traced/);
    const qa = (await guest(vm, "rpm -qa --qf '%{NAME}\\n'")).trim().split('\n').sort();
    assert.deepEqual(qa, debugTree.packages.map((p) => p.replace(/-[^-]+-[^-]+$/, '')).sort());
    assert.match(await guest(vm, 'rpm -qf /usr/bin/strace'), /^strace-/);
    assert.equal((await guest(vm, 'cat /etc/e2e-marker')).trim(), 'edited-by-e2e');
    await vm.stop(60_000);

    // 4. the base/minimal upgrade done offline: vm update deploys v2 into the image
    t0 = Date.now();
    const off = await cli(['vm', 'update', disk, '--repo', repo, '--ref', REF]);
    t.diagnostic(`vm update: ${secs(t0)} s: ${off.trim()}`);
    assert.match(off, new RegExp(`deployed ${v2}`));
    const status = await withMountedImage(disk, async (sys) => (await run('ostree', ['admin', 'status', `--sysroot=${sys}`])).stdout);
    assert.match(status.split('\n')[0], new RegExp(`fedostree ${v2}\\.\\d`), status);
  } finally {
    await vm.stop();
    await side?.catch(() => undefined);
  }
  assert.ok((await readFile(`${disk}.console.log`, 'utf8')).length > 0);
  await side;
});

/**
 * UEFI through the real boot loader, and a tree that cannot boot; runs beside the main story.
 */
async function sideStory(t: { diagnostic: (s: string) => void }, work: string, repo: string, v2: string): Promise<void> {
  // A UEFI image of v1, updated offline to v2 (two entries on the ESP), booted by OVMF + systemd-boot:
  // the loader's default entry must be the v2 tree.
  const uefi = join(work, 'uefi.img');
  await cli(['vm', 'image', '--repo', repo, '--ref', `${REF}^`, '-o', uefi, '--boot', 'uefi', '--agent']);
  const upd = await cli(['vm', 'update', uefi, '--repo', repo, '--ref', REF]);
  assert.match(upd, new RegExp(`deployed ${v2}`));
  const uvm = await Vm.start({ image: uefi, agent: true, boot: 'uefi' });
  try {
    assert.ok(await uvm.waitMultiUser(480_000), `uefi boot: no multi-user:\n${(await uvm.console()).slice(-3000)}`);
    t.diagnostic(`uefi boot: multi-user after ${secs(uvm.started)} s`);
    assert.ok(await uvm.waitAgent(120_000));
    assert.equal(await booted(uvm), v2);
    assert.equal((await uvm.exec('test -d /sys/firmware/efi')).rc, 0, 'booted through UEFI');
  } finally {
    await uvm.stop();
  }

  // A tree whose init exits: the boot test fails with the console tail, and the ref's record says so.
  const broken = (await run('ostree', ['rev-parse', `--repo=${repo}`, 'test/broken'])).stdout.trim();
  const t0 = Date.now();
  const bt = await run(process.execPath, [join(ROOT, 'bin/fedostree.js'), 'vm', 'boot-test', '--repo', repo, '--ref', 'test/broken', '--image', join(work, 'broken.img'), '--timeout', '400', '--json'], { maxBuffer: 64 << 20 })
    .then(() => assert.fail('the boot test of a broken tree passed'), (e: { code?: number; stdout?: string }) => e);
  t.diagnostic(`boot test of the broken tree: failed as it should after ${secs(t0)} s`);
  assert.equal(bt.code, 1);
  const rec = JSON.parse(await readFile(join(repo, 'boot-tests/refs/test/broken.json'), 'utf8')) as { passed: boolean; commit: string; consoleTail: string };
  assert.equal(rec.passed, false);
  assert.equal(rec.commit, broken);
  assert.match(rec.consoleTail, /broken-init-exits|Kernel panic/);
  assert.deepEqual(JSON.parse(await readFile(join(repo, `boot-tests/${broken}.json`), 'utf8')), rec);
}
