/**
 * Must-show 2: upgrade, rebase, rollback, deploy-by-version, pin, cleanup and stateroots side by
 * side, each asserted on the resulting trees and boot entries. The "server" is an archive repo made
 * by the real ostree and pulled over file://.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, readlink, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { addRemote, OstreeRepo } from '../../src/ostree/index.ts';
import {
  Sysroot, adminDeploy, cleanup, deployVersion, initFs, osInit, rebase, rollback, setPinned, statusOf, upgrade, editDeploymentKargs,
} from '../../src/sysroot/index.ts';
import { cli, makeTree, ostreeCommit, removeTemp, run, tempDir } from './_helpers.ts';
import { buildSpecs } from '../helpers/rpmbuild.ts';

const SPEC = join(import.meta.dirname, '../fixtures/sysroot/fx-pkg.spec');

/** Build the file-less fixture packages NAME-VERSION with the real rpmbuild. */
async function buildPkgs(w: string, pkgs: Array<[string, string]>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, ver] of pkgs) {
    const [rpm] = await buildSpecs([SPEC], { topdir: join(w, `rpmbuild-${name}-${ver}`), define: { pname: name, pver: ver } });
    out.set(`${name}-${ver}`, rpm);
  }
  return out;
}

/** An rpmdb in TREE/usr/share/rpm made by the real rpm (--justdb). */
async function rpmdbInto(tree: string, rpms: string[]): Promise<void> {
  const db = join(tree, 'usr/share/rpm');
  await mkdir(db, { recursive: true });
  await run('rpm', ['--initdb', '--dbpath', db]);
  await run('rpm', ['-i', '--justdb', '--nodeps', '--noscripts', '--dbpath', db, ...rpms]);
}

async function entries(s: string): Promise<string[]> {
  const dir = join(s, 'boot/loader/entries');
  const out: string[] = [];
  for (const n of (await readdir(dir)).sort().reverse()) out.push(await readFile(join(dir, n), 'utf8'));
  return out;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

void test('upgrade, deploy-by-version, rollback, pin, cleanup, rebase, kargs and several stateroots', async () => {
  const w = await tempDir('scen');
  try {
    const srv = join(w, 'srv');
    const t = join(w, 'tree');
    await run('ostree', ['init', `--repo=${srv}`, '--mode=archive']);
    const publish = async (ref: string, version: string, day: number, extra: Record<string, string> = {}): Promise<string> => {
      await makeTree(t, { version, initramfs: `INITRAMFS ${ref} ${version}\n`, etc: { 'keep.conf': `a=${version}\n`, 'hostname': 'hostname\n', ...extra } });
      await mkdir(join(t, 'usr/share/fedostree'), { recursive: true });
      await writeFile(join(t, 'usr/share/fedostree/tree'), `${ref} ${version}\n`);
      const c = await ostreeCommit(srv, ref, t, version, day);
      await run('ostree', ['summary', '-u', `--repo=${srv}`]);
      return c;
    };
    const v1 = await publish('base/minimal', '1', 1);
    const s = join(w, 'sysroot');
    await initFs(s);
    await osInit(s, 'fedora');
    await addRemote(await OstreeRepo.open(join(s, 'ostree/repo')), 'origin', `file://${srv}`, { noGpgVerify: true });
    const open = (): Promise<Sysroot> => Sysroot.open(s, { cmdline: '' });

    // first deployment straight from the remote
    await run('ostree', ['pull', `--repo=${join(s, 'ostree/repo')}`, 'origin', 'base/minimal']);
    await adminDeploy(await open(), 'origin:base/minimal', { stateroot: 'fedora', kargs: ['root=LABEL=root', 'rw'] });
    const dir = (c: string, serial = 0, os = 'fedora'): string => join(s, 'ostree/deploy', os, 'deploy', `${c}.${serial}`);
    assert.equal(await readFile(join(dir(v1), 'usr/share/fedostree/tree'), 'utf8'), 'base/minimal 1\n');
    // local state that must survive: an /etc edit and a file in /var
    await writeFile(join(dir(v1), 'etc/local.conf'), 'mine\n');
    await writeFile(join(s, 'ostree/deploy/fedora/var/lib/data'), 'persistent\n');

    // nothing new
    let up = await upgrade(await open(), { check: true });
    assert.equal(up.available, false);
    const noop = await cli(['upgrade', '--sysroot', s]);
    assert.equal(noop.code, 0, noop.stderr);
    assert.match(noop.stdout, /No upgrade available/);

    // v2: --check sees it, nothing deployed; then upgrade deploys it
    const v2 = await publish('base/minimal', '2', 2);
    up = await upgrade(await open(), { check: true });
    assert.deepEqual([up.available, up.to, up.deployed], [true, v2, null]);
    assert.equal((await open()).deployments.length, 1);
    up = await upgrade(await open());
    assert.equal(up.deployed?.commit, v2);
    let st = await statusOf(await open());
    assert.deepEqual(st.map((d) => [d.checksum, d.version, d.origin]), [[v2, '2', 'origin:base/minimal'], [v1, '1', 'origin:base/minimal']]);
    assert.equal(await readFile(join(dir(v2), 'etc/local.conf'), 'utf8'), 'mine\n');
    assert.equal(await readFile(join(dir(v2), 'etc/keep.conf'), 'utf8'), 'a=2\n');
    let e = await entries(s);
    assert.equal(e.length, 2);
    assert.match(e[0], /^title MyOS 2 \(ostree:0\)\nversion 2\noptions root=LABEL=root rw ostree=\/ostree\/boot\.0\/fedora\//);

    // v3 downloaded only
    const v3 = await publish('base/minimal', '3', 3);
    up = await upgrade(await open(), { downloadOnly: true });
    assert.deepEqual([up.available, up.deployed], [true, null]);
    assert.equal(await (await OstreeRepo.open(join(s, 'ostree/repo'))).resolveRev('origin:base/minimal'), v3);
    assert.equal((await open()).deployments[0].csum, v2);

    // deploy an older version from the ref's history
    const dv = await deployVersion(await open(), '1');
    assert.equal(dv.commit, v1);
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => `${d.version}.${d.serial}`), ['1.1', '2.0'], 'new deployment of v1 first, previous default kept as rollback');
    assert.equal(await readFile(join(dir(v1, 1), 'etc/local.conf'), 'utf8'), 'mine\n');

    // rollback: the previous default becomes the default again
    await rollback(await open());
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => `${d.version}.${d.serial}`), ['2.0', '1.1']);
    e = await entries(s);
    assert.match(e[0], /^title MyOS 2 \(ostree:0\)/);
    assert.match(e[1], /^title MyOS 1 \(ostree:1\)/);

    // upgrade to v3, pin the oldest, then cleanup keeps default, rollback and the pinned one
    await upgrade(await open());
    await deployVersion(await open(), '2');
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => `${d.version}.${d.serial}`), ['2.1', '3.0'], 'new + previous default; 2.0 was neither booted nor merge');
    await setPinned(await open(), 1, true);
    await upgrade(await open()); // v3 again → 3.1 first
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => `${d.version}.${d.serial}${d.pinned ? 'p' : ''}`), ['3.1', '2.1', '3.0p']);
    const cl = await cleanup(await open());
    assert.deepEqual(cl.removed, [], 'default, rollback and pinned stay');
    const cl2 = await cleanup(await open(), { rollback: true });
    assert.deepEqual(cl2.removed, [`fedora/${v2}.1`]);
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => `${d.version}.${d.serial}${d.pinned ? 'p' : ''}`), ['3.1', '3.0p']);
    assert.equal(await exists(dir(v2, 1)), false);
    assert.equal(await exists(dir(v2, 0)), false);
    assert.equal(await exists(dir(v3, 0)), true);
    assert.equal((await entries(s)).length, 2);
    assert.deepEqual(await readdir(join(s, 'boot/ostree')), [(await open()).deployments[0].stateroot + '-' + (await open()).deployments[0].bootcsum], 'one boot dir per kernel still in use');
    await setPinned(await open(), 1, false);

    // kernel arguments in place
    await editDeploymentKargs(await open(), 0, { append: ['quiet'], replace: ['root=LABEL=newroot'] });
    assert.deepEqual((await open()).deployments[0].kargs, ['root=LABEL=newroot', 'rw', 'quiet']);

    // rebase to another tree: /etc edits and /var kept, kargs inherited
    const g1 = await publish('workstation/gnome-core', '40', 4, { 'gdm.conf': 'x=1\n' });
    const rb = await rebase(await open(), 'origin:workstation/gnome-core');
    assert.equal(rb.commit, g1);
    assert.equal(await readFile(join(dir(g1), 'usr/share/fedostree/tree'), 'utf8'), 'workstation/gnome-core 40\n');
    assert.equal(await readFile(join(dir(g1), 'etc/local.conf'), 'utf8'), 'mine\n');
    assert.equal(await readFile(join(dir(g1), 'etc/gdm.conf'), 'utf8'), 'x=1\n');
    assert.equal(await readFile(join(s, 'ostree/deploy/fedora/var/lib/data'), 'utf8'), 'persistent\n');
    st = await statusOf(await open());
    assert.equal(st[0].origin, 'origin:workstation/gnome-core');
    assert.deepEqual(st[0].kargs, ['root=LABEL=newroot', 'rw', 'quiet']);

    // a second OS and a small recovery tree as their own stateroots, each with its own /var
    await osInit(s, 'rhel', { shareHome: true });
    await osInit(s, 'recovery');
    assert.equal(await readlink(join(s, 'ostree/deploy/rhel/var/home')), '/sysroot/home', 'rhel shares the physical /home');
    await adminDeploy(await open(), 'origin:base/minimal', { stateroot: 'rhel', kargs: ['root=LABEL=rhel'] });
    await adminDeploy(await open(), 'origin:base/minimal', { stateroot: 'recovery', kargs: ['root=LABEL=recovery', 'single'], notAsDefault: true });
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => d.stateroot), ['rhel', 'recovery', 'fedora', 'fedora']);
    assert.equal(await exists(join(s, 'ostree/deploy/rhel/var/lib/data')), false, '/var is per stateroot');
    e = await entries(s);
    assert.match(e[0], /^title MyOS 3 \(ostree:rhel:0\)\nversion 4\noptions root=LABEL=rhel ostree=/);
    assert.match(e[1], /\(ostree:recovery:1\)\nversion 3\noptions root=LABEL=recovery single ostree=/);
    // upgrading fedora keeps the other stateroots' deployments
    const v4 = await publish('workstation/gnome-core', '41', 5);
    await upgrade(await open(), { stateroot: 'fedora' });
    st = await statusOf(await open());
    assert.deepEqual(st.map((d) => `${d.stateroot}:${d.version}`), ['fedora:41', 'rhel:3', 'recovery:3', 'fedora:40']);
    assert.equal(st[0].checksum, v4);
    // the real ostree agrees
    const real = await run('ostree', ['admin', 'status', `--sysroot=${s}`]);
    assert.equal(real.stdout.split('\n').filter((l) => /^\S? ?\s*\S+ [0-9a-f]{64}\.\d+/.test(l)).length, 4);
    const fsck = await run('ostree', ['fsck', `--repo=${join(s, 'ostree/repo')}`]);
    assert.match(fsck.stdout, /Validating/);
  } finally {
    await removeTemp(w);
  }
});

void test('upgrade --preview lists the package changes between the deployed and the new commit', async () => {
  const w = await tempDir('preview');
  try {
    const pk = await buildPkgs(w, [['fx-a', '1.0'], ['fx-a', '2.0'], ['fx-b', '1.0'], ['fx-c', '1.0']]);
    const srv = join(w, 'srv');
    const t = join(w, 'tree');
    await run('ostree', ['init', `--repo=${srv}`, '--mode=archive']);
    const publish = async (version: string, day: number, rpms: string[]): Promise<string> => {
      await makeTree(t, { version });
      await rpmdbInto(t, rpms);
      const c = await ostreeCommit(srv, 'base/minimal', t, version, day);
      await run('ostree', ['summary', '-u', `--repo=${srv}`]);
      return c;
    };
    await publish('1', 1, [pk.get('fx-a-1.0') as string, pk.get('fx-b-1.0') as string]);
    const s = join(w, 'sysroot');
    await initFs(s);
    await osInit(s, 'fedora');
    await addRemote(await OstreeRepo.open(join(s, 'ostree/repo')), 'origin', `file://${srv}`, { noGpgVerify: true });
    await run('ostree', ['pull', `--repo=${join(s, 'ostree/repo')}`, 'origin', 'base/minimal']);
    await adminDeploy(await Sysroot.open(s, { cmdline: '' }), 'origin:base/minimal', { stateroot: 'fedora' });
    const v2 = await publish('2', 2, [pk.get('fx-a-2.0') as string, pk.get('fx-c-1.0') as string]);
    const r = await cli(['upgrade', '--preview', '--sysroot', s]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Upgrade available: ${v2}`));
    assert.match(r.stdout, /Upgraded: fx-a 1\.0-1 -> 2\.0-1/);
    assert.match(r.stdout, /Added: fx-c-1\.0-1\.noarch/);
    assert.match(r.stdout, /Removed: fx-b-1\.0-1\.noarch/);
    const j = await cli(['upgrade', '--preview', '--json', '--sysroot', s]);
    const parsed = JSON.parse(j.stdout) as { packages: { upgraded: Array<{ name: string; from: string; to: string }>; added: string[]; removed: string[] } };
    assert.deepEqual(parsed.packages, {
      upgraded: [{ name: 'fx-a', arch: 'noarch', from: 'fx-a-1.0-1.noarch', to: 'fx-a-2.0-1.noarch' }], downgraded: [],
      added: ['fx-c-1.0-1.noarch'], removed: ['fx-b-1.0-1.noarch'],
    });
    assert.equal((await Sysroot.open(s, { cmdline: '' })).deployments.length, 1, 'preview deploys nothing');
  } finally {
    await removeTemp(w);
  }
});
