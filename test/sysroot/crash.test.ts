/**
 * Must-show 3: every mutating command is SIGKILLed at random points (≥ 100 in total). After each
 * kill: every boot entry points at a kernel, initramfs and deployment that exist, the previous
 * default is still listed and bootable, both our status and the real `ostree admin status` work,
 * and re-running the command completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readFile, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Sysroot, adminDeploy, cleanup, editDeploymentKargs, initFs, osInit, rebase, rollback, setDefault, setPinned, statusOf, undeploy,
} from '../../src/sysroot/index.ts';
import { CLI, makeTree, ostreeCommit, removeTemp, run, tempDir } from './_helpers.ts';

interface Cmd {
  name: string;
  args: () => string[];
  /** The same operation through the library (the re-run). */
  again: (s: Sysroot) => Promise<unknown>;
  /** Whether it applies to the current state. */
  ok: (s: Sysroot) => boolean;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

async function checkInvariants(path: string, prevDefault: string | null, what: string, realTool = true): Promise<void> {
  const s = await Sysroot.open(path, { cmdline: '' });
  const dir = join(path, 'boot/loader/entries');
  const names = await readdir(dir);
  assert.equal(names.length, s.deployments.length, `${what}: one entry per deployment`);
  for (const n of names) {
    const text = await readFile(join(dir, n), 'utf8');
    for (const key of ['linux', 'initrd']) {
      const rel = new RegExp(`^${key} (\\S+)$`, 'm').exec(text)?.[1];
      assert.ok(rel && (await exists(join(path, 'boot', rel))), `${what}: ${n}: ${key} ${rel} exists`);
    }
    const arg = /ostree=(\S+)/.exec(text)?.[1] ?? '';
    const target = await realpath(join(path, arg));
    assert.ok(await exists(join(target, 'usr/lib/os-release')), `${what}: ${n}: ostree=${arg} reaches a complete deployment`);
    assert.ok(await exists(join(target, 'etc/keep.conf')), `${what}: ${n}: its /etc is complete`);
  }
  if (prevDefault) assert.ok(s.deployments.some((d) => `${d.csum}.${d.serial}` === prevDefault), `${what}: previous default ${prevDefault} is still listed`);
  await statusOf(s);
  if (realTool) await run('ostree', ['admin', 'status', `--sysroot=${path}`]);
}

function spawnKill(args: string[], delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
    let done = false;
    const timer = setTimeout(() => {
      if (!done) child.kill('SIGKILL');
    }, delayMs);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      done = true;
      clearTimeout(timer);
      resolve(signal === 'SIGKILL');
    });
  });
}

void test('SIGKILL at ≥ 100 random points across the mutating commands leaves a bootable, readable sysroot', async (t0ctx) => {
  const w = await tempDir('crash');
  try {
    const s = join(w, 's');
    const t = join(w, 't');
    await initFs(s);
    await osInit(s, 'os');
    const repo = join(s, 'ostree/repo');
    const refs: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await makeTree(t, { version: String(i), initramfs: `INITRAMFS ${i}\n`, etc: { 'keep.conf': `a=${i}\n` } });
      await ostreeCommit(repo, `os/v${i}`, t, String(i), i);
      refs.push(`os/v${i}`);
    }
    await adminDeploy(await Sysroot.open(s, { cmdline: '' }), 'os/v1', { stateroot: 'os', kargs: ['root=LABEL=root'] });
    let n = 0;
    const sys = ['--sysroot', s];
    const cmds: Cmd[] = [
      { name: 'deploy', args: () => ['admin', 'deploy', ...sys, '--os', 'os', refs[n % 3]], again: (x) => adminDeploy(x, refs[n % 3], { stateroot: 'os' }), ok: () => true },
      { name: 'rebase', args: () => ['rebase', ...sys, refs[(n + 1) % 3]], again: (x) => rebase(x, refs[(n + 1) % 3]), ok: () => true },
      { name: 'rollback', args: () => ['rollback', ...sys], again: (x) => rollback(x), ok: (x) => x.deployments.length > 1 },
      { name: 'set-default', args: () => ['admin', 'set-default', ...sys, '1'], again: (x) => setDefault(x, 1), ok: (x) => x.deployments.length > 1 },
      { name: 'pin', args: () => ['admin', 'pin', ...sys, '0'], again: (x) => setPinned(x, 0, true), ok: () => true },
      { name: 'unpin', args: () => ['admin', 'pin', '--unpin', ...sys, '0'], again: (x) => setPinned(x, 0, false), ok: () => true },
      { name: 'kargs', args: () => ['admin', 'kargs', ...sys, '--append', `k${n}=1`], again: (x) => editDeploymentKargs(x, 0, { append: [`k${n}=1`] }), ok: () => true },
      { name: 'cleanup', args: () => ['cleanup', ...sys], again: (x) => cleanup(x), ok: () => true },
      { name: 'undeploy', args: () => ['admin', 'undeploy', ...sys, '1'], again: (x) => undeploy(x, 1), ok: (x) => x.deployments.length > 1 },
    ];
    // how long each command takes when it runs to the end
    const duration = new Map<string, number>();
    for (const c of cmds) {
      const cur = await Sysroot.open(s, { cmdline: '' });
      if (!c.ok(cur)) await adminDeploy(cur, refs[1], { stateroot: 'os', retain: 'all' });
      const t0 = performance.now();
      await spawnKill(c.args(), 60_000);
      duration.set(c.name, performance.now() - t0);
      await checkInvariants(s, null, `${c.name} (complete run)`);
    }
    let kills = 0;
    const perCmd = new Map<string, number>();
    const started = performance.now();
    let iter = 0;
    while (kills < 100 && performance.now() - started < 240_000) {
      n++;
      const cur = await Sysroot.open(s, { cmdline: '' });
      // keep a few deployments around so undeploy/rollback have work
      if (cur.deployments.length < 2) await adminDeploy(cur, refs[(n + 1) % 3], { stateroot: 'os', retain: 'all' });
      const before = await Sysroot.open(s, { cmdline: '' });
      const c = cmds[iter++ % cmds.length];
      if (!c.ok(before)) continue;
      const prev = before.deployments[0] ? `${before.deployments[0].csum}.${before.deployments[0].serial}` : null;
      const dur = duration.get(c.name) ?? 1000;
      const delay = 100 + Math.random() * Math.max(50, 0.85 * dur - 100);
      const killed = await spawnKill(c.args(), delay);
      if (killed) {
        kills++;
        perCmd.set(c.name, (perCmd.get(c.name) ?? 0) + 1);
      }
      const what = `${c.name} killed after ${delay.toFixed(0)} ms`;
      // undeploy/cleanup may legitimately have removed non-default deployments; the default stays.
      await checkInvariants(s, c.name === 'rollback' || c.name === 'set-default' ? null : prev, what);
      // re-running completes
      const again = await Sysroot.open(s, { cmdline: '' });
      if (c.ok(again)) await c.again(again);
      await checkInvariants(s, null, `${what}, then re-run`, false);
    }
    t0ctx.diagnostic(`kills ${kills} in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(perCmd))}; full-run ms: ${JSON.stringify(Object.fromEntries([...duration].map(([k, v]) => [k, Math.round(v)])))}`);
    assert.ok(kills >= 100, `only ${kills} kills landed (${JSON.stringify(Object.fromEntries(perCmd))})`);
    assert.ok(perCmd.size >= 7, `kills spread over commands: ${JSON.stringify(Object.fromEntries(perCmd))}`);
    const fsck = await run('ostree', ['fsck', `--repo=${repo}`]);
    assert.match(fsck.stdout, /Validating/);
  } finally {
    await removeTemp(w);
  }
});
