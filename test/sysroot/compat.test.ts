/**
 * Must-show 1: for the same commits and kargs, the sysroot fedostree makes equals the one the real
 * `ostree admin` makes (file list, modes, link counts, links, BLS text, origins), and each tool
 * reads the other's sysroot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Sysroot, adminDeploy, initFs, osInit, setPinned, statusOf } from '../../src/sysroot/index.ts';
import { cli, layout, makeTree, ostreeCommit, removeTemp, run, tempDir } from './_helpers.ts';

async function bls(s: string): Promise<Record<string, string>> {
  const dir = join(s, 'boot/loader/entries');
  const out: Record<string, string> = {};
  for (const n of (await readdir(dir)).sort()) out[n] = await readFile(join(dir, n), 'utf8');
  return out;
}

async function origins(s: string, os: string): Promise<Record<string, string>> {
  const dir = join(s, 'ostree/deploy', os, 'deploy');
  const out: Record<string, string> = {};
  // Our own [fedostree] group (recorded /etc conflicts) is the one intended difference.
  for (const n of (await readdir(dir)).filter((x) => x.endsWith('.origin')).sort()) out[n] = (await readFile(join(dir, n), 'utf8')).replace(/\n\[fedostree\]\n[^[]*$/, '');
  return out;
}

async function localEtcEdits(s: string, os: string, c: string): Promise<void> {
  const etc = join(s, 'ostree/deploy', os, 'deploy', `${c}.0`, 'etc');
  await writeFile(join(etc, 'modify.conf'), 'b=LOCAL\n');
  await rm(join(etc, 'remove.conf'));
  await writeFile(join(etc, 'added.conf'), 'added=1\n');
}

void test('same commits and kargs: fedostree sysroot equals ostree admin sysroot; each reads the other', async () => {
  const w = await tempDir('compat');
  try {
    const real = join(w, 'real');
    const ours = join(w, 'ours');
    const t = join(w, 'tree');
    await run('mkdir', ['-p', real]);
    await run('ostree', ['admin', 'init-fs', real]);
    await run('ostree', ['admin', 'os-init', `--sysroot=${real}`, 'myos']);
    await initFs(ours);
    await osInit(ours, 'myos');
    assert.deepEqual(await layout(ours), await layout(real), 'init-fs + os-init');

    const etc1 = { 'keep.conf': 'a=1\n', 'modify.conf': 'b=1\n', 'remove.conf': 'c=1\n', 'hostname': 'hostname\n' };
    await makeTree(t, { version: '1', etc: etc1 });
    const c1 = await ostreeCommit(join(real, 'ostree/repo'), 'myos/stable', t, '1', 1);
    assert.equal(await ostreeCommit(join(ours, 'ostree/repo'), 'myos/stable', t, '1', 1), c1);

    await run('ostree', ['admin', 'deploy', `--sysroot=${real}`, '--os=myos', '--karg=root=LABEL=rootfs', '--karg=rw', 'myos/stable']);
    const s = await Sysroot.open(ours, { cmdline: '' });
    await adminDeploy(s, 'myos/stable', { stateroot: 'myos', kargs: ['root=LABEL=rootfs', 'rw'] });
    assert.deepEqual(await layout(ours), await layout(real), 'first deploy');
    assert.deepEqual(await bls(ours), await bls(real));
    assert.deepEqual(await origins(ours, 'myos'), await origins(real, 'myos'));
    const attr = await run('lsattr', ['-d', join(ours, 'ostree/deploy/myos/deploy', `${c1}.0`)]);
    assert.match(attr.stdout, /^\S*i\S* /, 'deployment root is immutable');

    // local /etc edits, then a second commit with new defaults and a new initramfs
    await localEtcEdits(real, 'myos', c1);
    await localEtcEdits(ours, 'myos', c1);
    await makeTree(t, { version: '2', initramfs: 'FAKE INITRAMFS 2\n', etc: { 'keep.conf': 'a=2\n', 'new.conf': 'new=1\n', 'modify.conf': 'b=2\n', 'remove.conf': 'c=2\n', 'hostname': 'hostname\n' } });
    const c2 = await ostreeCommit(join(real, 'ostree/repo'), 'myos/stable', t, '2', 2);
    assert.equal(await ostreeCommit(join(ours, 'ostree/repo'), 'myos/stable', t, '2', 2), c2);
    await run('ostree', ['admin', 'deploy', `--sysroot=${real}`, '--os=myos', 'myos/stable']);
    const r = await adminDeploy(s, 'myos/stable', { stateroot: 'myos' });
    assert.deepEqual(r.etc && { m: r.etc.modified, r: r.etc.removed, a: r.etc.added }, { m: ['modify.conf'], r: ['remove.conf'], a: ['added.conf'] });
    assert.deepEqual(r.etc?.conflicts, ['modify.conf'], 'changed here and upstream: local kept, reported');
    assert.deepEqual(await layout(ours), await layout(real), 'second deploy');
    assert.deepEqual(await bls(ours), await bls(real));
    assert.deepEqual(await origins(ours, 'myos'), await origins(real, 'myos'));

    // a second stateroot side by side
    await run('ostree', ['admin', 'os-init', `--sysroot=${real}`, 'other']);
    await osInit(ours, 'other');
    await run('ostree', ['admin', 'deploy', `--sysroot=${real}`, '--os=other', 'myos/stable']);
    await adminDeploy(s, 'myos/stable', { stateroot: 'other' });
    assert.deepEqual(await layout(ours), await layout(real), 'second stateroot');
    assert.deepEqual(await bls(ours), await bls(real));

    // the real tool reads our sysroot exactly like its own
    const realStatus = (await run('ostree', ['admin', 'status', `--sysroot=${real}`])).stdout;
    assert.equal((await run('ostree', ['admin', 'status', `--sysroot=${ours}`])).stdout, realStatus);
    // we read the real tool's sysroot like ours
    const sr = await Sysroot.open(real, { cmdline: '' });
    const noConflicts = (l: Awaited<ReturnType<typeof statusOf>>): unknown => l.map((d) => ({ ...d, etcConflicts: [] }));
    assert.deepEqual(noConflicts(await statusOf(sr)), noConflicts(await statusOf(await Sysroot.open(ours, { cmdline: '' }))));
    const ourText = await cli(['admin', 'status', '--sysroot', real]);
    assert.equal(ourText.code, 0, ourText.stderr);
    assert.equal(ourText.stdout, realStatus);

    // pin written by us is read by the real tool; pin by the real tool leaves the same origin text
    await setPinned(s, 2, true);
    assert.match((await run('ostree', ['admin', 'status', `--sysroot=${ours}`])).stdout, /Pinned: yes/);
    await run('ostree', ['admin', 'pin', `--sysroot=${real}`, '2']);
    assert.deepEqual(await origins(ours, 'myos'), await origins(real, 'myos'));
    await run('ostree', ['admin', 'pin', '--unpin', `--sysroot=${real}`, '2']);
    await setPinned(s, 2, false);
    assert.deepEqual(await origins(ours, 'myos'), await origins(real, 'myos'));

    // booted detection from the command line
    const entry = (await bls(ours))['ostree-2-myos.conf'];
    const ostreeArg = /ostree=(\S+)/.exec(entry)?.[1] ?? '';
    const booted = await Sysroot.open(ours, { cmdline: `root=x ostree=${ostreeArg} quiet` });
    assert.equal(booted.booted?.index, 1);
    const st = await cli(['status', '--sysroot', ours], { FEDOSTREE_CMDLINE: `ostree=${ostreeArg}` });
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /● myos\/stable/);
  } finally {
    await removeTemp(w);
  }
});

void test('status on a directory that is not a sysroot says so', async () => {
  const w = await tempDir('notsys');
  try {
    const r = await cli(['status', '--sysroot', w]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*is not an OSTree sysroot/);
  } finally {
    await removeTemp(w);
  }
});
