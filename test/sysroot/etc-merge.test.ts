/**
 * /etc three-way merge matrix: each local change of the old deployment against its usr/etc, with
 * the expected outcome in the new deployment written next to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, readFile, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Sysroot, adminDeploy, initFs, osInit, statusOf } from '../../src/sysroot/index.ts';
import { makeTree, ostreeCommit, removeTemp, run, tempDir } from './_helpers.ts';

void test('/etc merge: modified here/upstream/both, deleted, added, type changes, symlinks, modes, owners, xattrs', async () => {
  const w = await tempDir('etc');
  try {
    const s = join(w, 's');
    const t = join(w, 't');
    await initFs(s);
    await osInit(s, 'os');
    const repo = join(s, 'ostree/repo');
    const upstream1: Record<string, string> = {
      'untouched.conf': 'u=1\n', 'mod-here.conf': 'h=1\n', 'mod-upstream.conf': 'up=1\n', 'mod-both.conf': 'b=1\n',
      'del-here.conf': 'd=1\n', 'type-change': 't=1\n', 'perm.conf': 'p=1\n', 'own.conf': 'o=1\n', 'xattr.conf': 'x=1\n',
      'olddir/inner.conf': 'i=1\n', 'sub/keep.conf': 'k=1\n',
    };
    await makeTree(t, { version: '1', etc: upstream1 });
    await symlink('untouched.conf', join(t, 'usr/etc/link'));
    await ostreeCommit(repo, 'os/stable', t, '1', 1);
    const r1 = await adminDeploy(await Sysroot.open(s, { cmdline: '' }), 'os/stable', { stateroot: 'os' });
    const etc1 = join(r1.path, 'etc');

    // local changes
    await writeFile(join(etc1, 'mod-here.conf'), 'h=LOCAL\n');
    await writeFile(join(etc1, 'mod-both.conf'), 'b=LOCAL\n');
    await unlink(join(etc1, 'del-here.conf'));
    await writeFile(join(etc1, 'added-here.conf'), 'a=LOCAL\n');
    await mkdir(join(etc1, 'newdir'));
    await writeFile(join(etc1, 'newdir/file'), 'nd\n');
    await unlink(join(etc1, 'type-change'));
    await symlink('mod-here.conf', join(etc1, 'type-change'));
    await unlink(join(etc1, 'link'));
    await symlink('perm.conf', join(etc1, 'link'));
    await chmod(join(etc1, 'perm.conf'), 0o600);
    await chown(join(etc1, 'own.conf'), 1234, 4321);
    await run('setfattr', ['-n', 'user.fedostree', '-v', 'local', join(etc1, 'xattr.conf')]);
    await rm(join(etc1, 'olddir'), { recursive: true });
    await chmod(join(etc1, 'sub'), 0o700);

    // upstream changes
    const upstream2 = { ...upstream1, 'mod-upstream.conf': 'up=2\n', 'mod-both.conf': 'b=2\n', 'del-here.conf': 'd=2\n', 'new-upstream.conf': 'n=2\n', 'untouched.conf': 'u=2\n' };
    await makeTree(t, { version: '2', etc: upstream2 });
    await symlink('untouched.conf', join(t, 'usr/etc/link'));
    await ostreeCommit(repo, 'os/stable', t, '2', 2);
    const r2 = await adminDeploy(await Sysroot.open(s, { cmdline: '' }), 'os/stable', { stateroot: 'os' });
    const etc2 = join(r2.path, 'etc');
    const text = (p: string): Promise<string> => readFile(join(etc2, p), 'utf8');

    assert.equal(await text('untouched.conf'), 'u=2\n', 'untouched: new upstream version');
    assert.equal(await text('mod-upstream.conf'), 'up=2\n', 'modified upstream only: new upstream version');
    assert.equal(await text('mod-here.conf'), 'h=LOCAL\n', 'modified here only: local version');
    assert.equal(await text('mod-both.conf'), 'b=LOCAL\n', 'modified both: local version kept');
    assert.equal(await lstat(join(etc2, 'del-here.conf')).catch(() => null), null, 'deleted here: stays deleted although upstream changed it');
    assert.equal(await text('added-here.conf'), 'a=LOCAL\n', 'added here: carried over');
    assert.equal(await text('newdir/file'), 'nd\n', 'added directory: carried over with content');
    assert.equal(await text('new-upstream.conf'), 'n=2\n', 'added upstream: present');
    assert.equal(await readlink(join(etc2, 'type-change')), 'mod-here.conf', 'file → symlink type change kept');
    assert.equal(await readlink(join(etc2, 'link')), 'perm.conf', 'retargeted symlink kept');
    assert.equal((await lstat(join(etc2, 'perm.conf'))).mode & 0o7777, 0o600, 'mode change kept');
    const own = await lstat(join(etc2, 'own.conf'));
    assert.deepEqual([own.uid, own.gid], [1234, 4321], 'owner change kept');
    const x = await run('getfattr', ['-n', 'user.fedostree', '--only-values', join(etc2, 'xattr.conf')]);
    assert.equal(x.stdout, 'local', 'xattr change kept');
    assert.equal(await lstat(join(etc2, 'olddir')).catch(() => null), null, 'deleted directory stays deleted');
    assert.equal(await text('sub/keep.conf'), 'k=1\n');
    assert.equal((await lstat(join(etc2, 'sub'))).mode & 0o7777, 0o700, 'directory mode change kept, content merged');
    assert.ok(r2.etc);
    assert.deepEqual(r2.etc.conflicts, ['mod-both.conf']);
    assert.deepEqual(r2.etc.removed.sort(), ['del-here.conf', 'olddir']);
    assert.deepEqual(r2.etc.added.sort(), ['added-here.conf', 'newdir']);
    assert.deepEqual(r2.etc.modified.sort(), ['link', 'mod-both.conf', 'mod-here.conf', 'own.conf', 'perm.conf', 'sub', 'type-change', 'xattr.conf']);
    // the conflict is reported in status
    const st = await statusOf(await Sysroot.open(s, { cmdline: '' }));
    assert.deepEqual(st[0].etcConflicts, ['mod-both.conf']);
    // the vendor copy stays pristine
    assert.equal(await readFile(join(r2.path, 'usr/etc/mod-both.conf'), 'utf8'), 'b=2\n');
  } finally {
    await removeTemp(w);
  }
});
