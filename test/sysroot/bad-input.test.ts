/**
 * Must-show 4: bad input gives a clear `error: …` (exit 1) and leaves the sysroot exactly as it was:
 * unknown ref, corrupt origin, a /boot too full for the kernel, a deployment directory removed by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Sysroot, adminDeploy, initFs, osInit } from '../../src/sysroot/index.ts';
import { cli, layout, makeTree, ostreeCommit, removeTemp, run, tempDir } from './_helpers.ts';

async function setup(w: string): Promise<{ s: string; c1: string; c2: string }> {
  const s = join(w, 's');
  const t = join(w, 't');
  await initFs(s);
  await osInit(s, 'os');
  await makeTree(t, { version: '1' });
  const c1 = await ostreeCommit(join(s, 'ostree/repo'), 'os/stable', t, '1', 1);
  await adminDeploy(await Sysroot.open(s, { cmdline: '' }), 'os/stable', { stateroot: 'os' });
  await makeTree(t, { version: '2', initramfs: 'INITRAMFS 2 '.repeat(20000) });
  const c2 = await ostreeCommit(join(s, 'ostree/repo'), 'os/stable', t, '2', 2);
  return { s, c1, c2 };
}

async function expectError(args: string[], pattern: RegExp, s: string): Promise<void> {
  const before = await layout(s, { withObjects: true });
  const r = await cli(args);
  assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /^error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stderr, pattern);
  assert.deepEqual(await layout(s, { withObjects: true }), before, `${args.join(' ')}: nothing written`);
}

void test('unknown ref, unknown remote, corrupt origin, bad index: clear errors, nothing written', async () => {
  const w = await tempDir('bad');
  try {
    const { s, c1 } = await setup(w);
    await expectError(['admin', 'deploy', '--sysroot', s, '--os', 'os', 'no/such-ref'], /ref 'no\/such-ref' not found/, s);
    await expectError(['admin', 'deploy', '--sysroot', s, '--os', 'nope', 'os/stable'], /stateroot 'nope' does not exist/, s);
    await expectError(['rebase', '--sysroot', s, 'elsewhere:os/stable'], /remote 'elsewhere' is not configured/, s);
    await expectError(['deploy', '--sysroot', s, '99'], /version '99' is not in the history of os\/stable \(known: 2, 1\)/, s);
    await expectError(['admin', 'undeploy', '--sysroot', s, '7'], /no deployment with index 7/, s);
    // corrupt origin
    const origin = join(s, 'ostree/deploy/os/deploy', `${c1}.0.origin`);
    await writeFile(origin, 'this is not a key file\n');
    await expectError(['upgrade', '--sysroot', s], new RegExp(`${origin.replace(/[.]/g, '\\.')}.*line 1`), s);
    const st = await cli(['status', '--sysroot', s]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /Error: .*line 1: expected 'key=value'/);
    await writeFile(origin, '[origin]\nnothing=here\n');
    await expectError(['upgrade', '--sysroot', s], /no 'refspec' key in group \[origin\]/, s);
  } finally {
    await removeTemp(w);
  }
});

void test('a /boot too small for the new kernel: pre-flight error, nothing half-written', async () => {
  const w = await tempDir('fullboot');
  const boot = join(w, 's/boot');
  let mounted = false;
  try {
    const s = join(w, 's');
    await mkdir(boot, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', boot]);
    mounted = true;
    const { c2 } = await setup(w);
    // fill /boot until the 240 kB initramfs of the new tree no longer fits
    await writeFile(join(boot, 'filler'), Buffer.alloc(280 * 1024));
    await expectError(['admin', 'deploy', '--sysroot', s, '--os', 'os', 'os/stable'], /not enough free space in .*\/boot: need \d+ bytes/, s);
    // freeing space lets the same command complete
    await rm(join(boot, 'filler'));
    const r = await cli(['admin', 'deploy', '--sysroot', s, '--os', 'os', 'os/stable']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await Sysroot.open(s, { cmdline: '' })).deployments[0].csum, c2);
  } finally {
    if (mounted) {
      await run('chattr', ['-R', '-i', w]).catch(() => undefined);
      await run('umount', [boot]);
    }
    await removeTemp(w);
  }
});

void test('a deployment directory removed by hand: status says so, deploy refuses, undeploy repairs', async () => {
  const w = await tempDir('gone');
  try {
    const { s, c1, c2 } = await setup(w);
    const dir = join(s, 'ostree/deploy/os/deploy', `${c1}.0`);
    await run('chattr', ['-i', dir]);
    await rm(dir, { recursive: true });
    const st = await cli(['admin', 'status', '--sysroot', s]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /\(directory missing\)/);
    await expectError(['admin', 'deploy', '--sysroot', s, '--os', 'os', 'os/stable'], /has no directory .*fedostree admin undeploy 0/, s);
    const u = await cli(['admin', 'undeploy', '--sysroot', s, '0']);
    assert.equal(u.code, 0, u.stderr);
    const d = await cli(['admin', 'deploy', '--sysroot', s, '--os', 'os', 'os/stable']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal((await Sysroot.open(s, { cmdline: '' })).deployments[0].csum, c2);
  } finally {
    await removeTemp(w);
  }
});
