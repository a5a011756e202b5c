/**
 * Compose end to end on a fixture repository built by rpmbuild + createrepo_c: `compose all` of
 * four trees (one including another), checked with the real ostree and rpm; dedup and no-change
 * runs; an updated package; reproducibility; bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, lstat, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, makeFixture, run, updatePackage, type ComposeFixture } from './_fixture.ts';
import { OstreeRepo, traverseCommit } from '../../src/ostree/index.ts';

const ARCH = 'x86_64';
const REF = (p: string): string => `fedostree/20/${ARCH}/${p}`;
const EPOCH = '1767225600';

interface TreeJson {
  ref: string;
  commit: string | null;
  changed: boolean;
  version?: string;
  packages: string[];
  kernel?: string;
}
interface ResultJson {
  trees: TreeJson[];
  imported: number;
  cachedPackages: number;
}

let fx: ComposeFixture;
let repo: string;
let cache: string;
let first: ResultJson;

async function composeAll(env: Record<string, string> = {}): Promise<ResultJson> {
  const r = await cli(['compose', 'all', fx.trees, '--repo', repo, '--cachedir', cache, '--json'], { SOURCE_DATE_EPOCH: EPOCH, ...env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ResultJson;
}

async function ostreeFsck(path: string): Promise<void> {
  const r = await run('ostree', ['fsck', `--repo=${path}`]);
  assert.match(r.stdout + r.stderr, /no errors found/);
}

async function refOf(ref: string): Promise<string> {
  return (await run('ostree', ['rev-parse', `--repo=${repo}`, ref])).stdout.trim();
}

async function checkoutTree(ref: string): Promise<string> {
  const co = join(fx.dir, `co-${ref.replace(/\//g, '_')}-${Date.now()}`);
  await run('ostree', ['checkout', `--repo=${repo}`, ref, co]);
  return co;
}

before(async () => {
  fx = await makeFixture();
  repo = join(fx.dir, 'repo');
  cache = join(fx.dir, 'cache');
  await run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
});

after(async () => {
  await fx?.cleanup();
});

void describe('compose', () => {
  void it('--print-only prints the expanded treefile (includes merged, variables substituted, this arch only)', async () => {
    const r = await cli(['compose', 'tree', join(fx.trees, 'workstation/gnome-default.yaml'), '--repo', repo, '--print-only']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      releasever: '20',
      repos: ['fixture'],
      packages: ['@core', 'kernel', 'dracut', 'fgnome-core', 'fselinux-policy', 'fgnome-apps', 'fextra'],
      'automatic-version-prefix': '20',
      'mutate-os-release': '20',
      units: ['fdaemon.service'],
      'etc-group-members': ['wheel'],
      'boot-location': 'modules',
      'initramfs-args': ['--add', 'ostree'],
      'add-commit-metadata': { 'fedostree.fixture': 'compose-test' },
      ref: REF('workstation/gnome-default'),
      selinux: true,
      'default-target': 'graphical.target',
      'tmp-is-dir': true,
      variables: { flavor: 'default' },
    });
  });

  void it('compose all: four bootable trees that pass ostree fsck, with the resolved rpmdb and the OSTree layout', async () => {
    first = await composeAll();
    const refs = first.trees.map((t) => t.ref).sort();
    assert.deepEqual(refs, [REF('base/minimal'), REF('server/docker-io'), REF('workstation/gnome-core'), REF('workstation/gnome-default')]);
    assert.ok(first.trees.every((t) => t.changed && t.commit && t.version === '20'));
    assert.equal(first.imported, first.cachedPackages, 'every package imported once');
    await ostreeFsck(repo);
    const listed = (await run('ostree', ['refs', `--repo=${repo}`])).stdout;
    for (const r of refs) assert.ok(listed.includes(r), `ref ${r} listed`);

    for (const t of first.trees) {
      const co = await checkoutTree(t.ref);
      // rpmdb: exactly the resolved set, read by the real rpm
      const qa = (await run('rpm', ['--dbpath', join(co, 'usr/share/rpm'), '-qa', '--qf', '%{NEVRA}\\n'])).stdout.split('\n').filter((x) => x).sort();
      assert.deepEqual(qa, [...t.packages].sort(), `${t.ref}: rpm -qa`);
      // layout
      assert.equal(await readlink(join(co, 'var/lib/rpm')).catch(() => 'absent'), 'absent', '/var is empty in the commit');
      const varEntries = (await run('ls', ['-A', join(co, 'var')])).stdout.trim();
      assert.equal(varEntries, '', `${t.ref}: /var empty`);
      for (const [link, target] of [['home', 'var/home'], ['opt', 'var/opt'], ['srv', 'var/srv'], ['root', 'var/roothome'], ['mnt', 'var/mnt'], ['usr/local', '../var/usrlocal'], ['ostree', 'sysroot/ostree'], ['usr/lib/sysimage/rpm', '../../share/rpm']]) {
        assert.equal(await readlink(join(co, link)), target, `${t.ref}: /${link}`);
      }
      assert.ok((await lstat(join(co, 'sysroot'))).isDirectory());
      assert.equal((await lstat(join(co, 'etc')).catch(() => undefined)), undefined, 'no /etc at the top');
      assert.equal(await readFile(join(co, 'usr/etc/machine-id'), 'utf8'), '', 'empty machine-id');
      assert.equal(await readFile(join(co, 'usr/etc/fdaemon.conf'), 'utf8'), 'listen = 8080\n', '/etc config moved to /usr/etc');
      assert.equal(await readFile(join(co, 'usr/etc/fdaemon.posttrans'), 'utf8'), 'posttrans 1\n', '%posttrans ran with $1 = 1');
      assert.equal(await readFile(join(co, 'usr/lib/fdaemon-post.log'), 'utf8'), 'post 1\n', '%post ran');
      // users: the scriptlet's user moved to /usr/lib/passwd, /etc keeps root and wheel
      const libPasswd = await readFile(join(co, 'usr/lib/passwd'), 'utf8');
      assert.match(libPasswd, /^fdaemon:x:999:999:/m);
      assert.equal(await readFile(join(co, 'usr/etc/passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');
      assert.equal(await readFile(join(co, 'usr/etc/group'), 'utf8'), 'root:x:0:\nwheel:x:10:\n');
      assert.match(await readFile(join(co, 'usr/lib/group'), 'utf8'), /^fdaemon:x:999:$/m);
      assert.match(await readFile(join(co, 'usr/etc/nsswitch.conf'), 'utf8'), /^passwd: files altfiles$/m);
      // /var content as tmpfiles entries with owners from the package header
      const tmpfiles = await readFile(join(co, 'usr/lib/tmpfiles.d/fedostree-autovar.conf'), 'utf8');
      assert.match(tmpfiles, /^d \/var\/lib\/fdaemon 0750 fdaemon fdaemon - -$/m);
      assert.match(tmpfiles, /^C \/var\/lib\/fdaemon\/state 0640 fdaemon fdaemon - \/usr\/share\/factory\/var\/lib\/fdaemon\/state$/m);
      assert.match(tmpfiles, /^L \/var\/lib\/rpm - - - - \.\.\/\.\.\/usr\/share\/rpm$/m);
      assert.match(tmpfiles, /^d \/var\/roothome 0550 root root - -$/m);
      // units, os-release
      assert.equal(await readlink(join(co, 'usr/etc/systemd/system/multi-user.target.wants/fdaemon.service')), '/usr/lib/systemd/system/fdaemon.service');
      const osr = await readFile(join(co, 'usr/lib/os-release'), 'utf8');
      assert.match(osr, /^OSTREE_VERSION='20'$/m);
      // commit metadata
      const show = (key: string): Promise<string> => run('ostree', ['show', `--repo=${repo}`, t.ref, `--print-metadata-key=${key}`]).then((x) => x.stdout.trim());
      assert.equal(await show('version'), "'20'");
      assert.match(await show('rpmostree.inputhash'), /^'[0-9a-f]{64}'$/);
      assert.match(await show('rpmostree.rpmdb.pkglist'), /\('fdaemon', '0', '1\.0', '1', 'noarch'\)/);
      assert.match(await show('rpmostree.rpmmd-repos'), /'id': <'fixture'>/);
      assert.equal(await show('fedostree.fixture'), "'compose-test'");
      if (t.packages.some((p) => p.startsWith('kernel-'))) {
        const kver = `6.1.0-1.fc20.${ARCH}`;
        assert.equal(await show('ostree.bootable'), 'true');
        assert.equal(await show('ostree.linux'), `'${kver}'`);
        assert.equal((await lstat(join(co, `usr/lib/modules/${kver}/vmlinuz`))).size, 65536);
        assert.match(await readFile(join(co, `usr/lib/modules/${kver}/initramfs.img`), 'utf8'), new RegExp(`^fixture initramfs: --no-hostonly --add ostree -f /usr/lib/modules/${kver}/initramfs.img ${kver}`));
      }
      // rpm -V on a deployed-like root (/etc from /usr/etc): unmodified files verify
      await cp(join(co, 'usr/etc'), join(co, 'etc'), { recursive: true, verbatimSymlinks: true });
      const v = await run('rpm', ['--root', co, '--dbpath', '/usr/share/rpm', '-V', '--nomtime', '--nouser', '--nogroup', 'busybox-sh', 'fdaemon']).catch((e: { stdout: string }) => e);
      const bad = v.stdout.split('\n').filter((l) => l.trim() && !/\/var\/|\/etc\/(passwd|group|nsswitch\.conf|shadow|os-release)$|\/usr\/lib\/os-release$/.test(l));
      assert.deepEqual(bad, [], `${t.ref}: rpm -V`);
      await rm(co, { recursive: true, force: true });
    }
    // treefile-specific rules
    const server = await checkoutTree(REF('server/docker-io'));
    assert.equal(await readFile(join(server, 'usr/etc/motd'), 'utf8'), 'Welcome to the fixture\n', 'add-files');
    assert.equal(await lstat(join(server, 'usr/share/fdocker/data')).catch(() => undefined), undefined, 'remove-files');
    assert.equal(await readFile(join(server, 'usr/share/fedostree-postprocess'), 'utf8'), 'postprocessed\n', 'postprocess');
    assert.equal(await lstat(join(server, 'usr/share/locale/de/LC_MESSAGES/fextra.mo')).catch(() => undefined), undefined, 'install-langs');
    assert.equal(await readFile(join(server, 'usr/etc/ld.so.cache.fixture'), 'utf8'), '/usr/lib64/libfixture.so.2\n', 'transaction file trigger got the matching files');
    assert.equal(await readlink(join(server, 'tmp')), 'sysroot/tmp');
    const minimal = await checkoutTree(REF('base/minimal'));
    assert.equal(await lstat(join(minimal, 'usr/share/doc/fextra/README')).catch(() => undefined), undefined);
    const gdefault = await checkoutTree(REF('workstation/gnome-default'));
    assert.equal(await readFile(join(gdefault, 'usr/share/doc/fextra/README'), 'utf8'), 'read me\n', 'documentation kept by default');
    assert.ok((await lstat(join(gdefault, 'tmp'))).isDirectory(), 'tmp-is-dir');
    assert.equal(await readlink(join(gdefault, 'usr/etc/systemd/system/default.target')), '/usr/lib/systemd/system/graphical.target');
    for (const d of [server, minimal, gdefault]) await rm(d, { recursive: true, force: true });
    // selinux: labels from the tree's own file_contexts, /usr/etc labelled as /etc
    const lsX = async (ref: string, p: string): Promise<string> => (await run('ostree', ['ls', `--repo=${repo}`, '-X', ref, p])).stdout;
    assert.match(await lsX(REF('workstation/gnome-core'), '/usr/etc/passwd'), /passwd_file_t/);
    assert.match(await lsX(REF('workstation/gnome-core'), '/usr/bin/busybox'), /bin_t/);
    assert.match(await lsX(REF('workstation/gnome-core'), `/usr/lib/modules/6.1.0-1.fc20.${ARCH}/vmlinuz`), /modules_object_t/);
    assert.doesNotMatch(await lsX(REF('base/minimal'), '/usr/bin/busybox'), /selinux|_t:/, 'no labels without selinux: true');
  });

  void it('objects shared by trees are stored once; an unchanged second run commits and imports nothing', async () => {
    const r = await OstreeRepo.open(repo);
    const all = new Set<string>();
    let sum = 0;
    for (const t of first.trees) {
      const one = new Set<string>();
      await traverseCommit(r, t.commit as string, one, { depth: 0 });
      sum += one.size;
      for (const k of one) all.add(k);
    }
    process.stdout.write(`# dedup: ${all.size} objects stored for ${first.trees.length} trees, ${sum} if stored per tree (${(sum / all.size).toFixed(2)}x)\n`);
    assert.ok(all.size < sum, `objects of all trees (${all.size}) < sum per tree (${sum})`);
    const before2 = await Promise.all(first.trees.map((t) => refOf(t.ref)));
    const second = await composeAll();
    assert.equal(second.imported, 0, 'no package imported again');
    assert.ok(second.trees.every((t) => !t.changed));
    assert.deepEqual(await Promise.all(first.trees.map((t) => refOf(t.ref))), before2);
    const text = await cli(['compose', 'all', fx.trees, '--repo', repo, '--cachedir', cache], { SOURCE_DATE_EPOCH: EPOCH });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /base\/minimal: no changes/);
  });

  void it('an updated package gives a commit whose diff touches only that package, the rpmdb and generated files', async () => {
    const oldCommit = await refOf(REF('workstation/gnome-core'));
    await updatePackage(fx, 'fdaemon', { fdaemon_release: '2' });
    const res = await composeAll();
    assert.equal(res.imported, 1, 'only the updated package is imported');
    const t = res.trees.find((x) => x.ref === REF('workstation/gnome-core')) as TreeJson;
    assert.ok(t.changed);
    assert.equal(t.version, '20.1', 'automatic-version-prefix increments');
    assert.ok(t.packages.includes('fdaemon-1.0-2.noarch'));
    const newCommit = await refOf(t.ref);
    assert.equal((await run('ostree', ['rev-parse', `--repo=${repo}`, `${newCommit}^`])).stdout.trim(), oldCommit, 'parent is the previous commit');
    const d = await cli(['repo', 'diff', '--repo', repo, oldCommit, newCommit]);
    assert.equal(d.code, 0, d.stderr);
    const paths = d.stdout.split('\n').filter((l) => l).map((l) => l.replace(/^[MAD]\s+/, ''));
    const fdaemonFiles = (await run('rpm', ['-qpl', join(fx.repoDir, 'fdaemon-1.0-2.noarch.rpm')])).stdout.split('\n').filter((x) => x).map((p) => p.replace(/^\/etc\//, '/usr/etc/'));
    const generated = ['/usr/share/rpm/rpmdb.sqlite', '/usr/lib/os-release'];
    const unexpected = paths.filter((p) => !fdaemonFiles.includes(p) && !generated.includes(p));
    assert.deepEqual(unexpected, [], `diff:\n${d.stdout}`);
    assert.ok(paths.includes('/usr/bin/fdaemon'));
    await ostreeFsck(repo);
  });

  void it('uids and gids stay stable across composes (preserve-passwd); check-passwd catches a change', async () => {
    const dir = join(fx.trees, 'users');
    await mkdir(dir, { recursive: true });
    const ref = REF('base/minimal');
    const base = 'include: ../common.yaml\nref: fedostree/20/x86_64/base/minimal\npackages: [kernel, dracut, faaa]\n';
    await writeFile(join(dir, 'keep.yaml'), base);
    await writeFile(join(dir, 'nopreserve.yaml'), `${base}preserve-passwd: false\n`);
    // without the previous commit's ids, faaa (installed first) would take 999 from fdaemon
    const bad = await cli(['compose', 'tree', join(dir, 'nopreserve.yaml'), '--repo', repo, '--cachedir', cache], { SOURCE_DATE_EPOCH: EPOCH });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr.trim(), /^error: .*check-passwd: user 'fdaemon' has id 998, but the previous commit [0-9a-f]{12} has 999$/);
    const ok = await cli(['compose', 'tree', join(dir, 'keep.yaml'), '--repo', repo, '--cachedir', cache], { SOURCE_DATE_EPOCH: EPOCH });
    assert.equal(ok.code, 0, ok.stderr);
    const co = await checkoutTree(ref);
    const passwd = await readFile(join(co, 'usr/lib/passwd'), 'utf8');
    assert.match(passwd, /^fdaemon:x:999:999:/m);
    assert.match(passwd, /^aaauser:x:998:998:/m);
    await rm(co, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  void it('remove-from-packages, readonly-executables, postprocess-script, exclude-packages', async () => {
    const dir = join(fx.trees, 'extras');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'pp.sh'), '#!/bin/sh\necho "script ran" > /usr/share/pp-script\n', { mode: 0o755 });
    await writeFile(join(dir, 'extras.yaml'), [
      'include: ../common.yaml', 'ref: fedostree/20/x86_64/base/extras', 'packages: [fextra]',
      "remove-from-packages:\n  - [fextra, '/usr/share/fextra/.*']", 'readonly-executables: true', 'postprocess-script: pp.sh', '',
    ].join('\n'));
    const r = await cli(['compose', 'tree', join(dir, 'extras.yaml'), '--repo', repo, '--cachedir', cache], { SOURCE_DATE_EPOCH: EPOCH });
    assert.equal(r.code, 0, r.stderr);
    const co = await checkoutTree(REF('base/extras'));
    assert.equal(await lstat(join(co, 'usr/share/fextra/data.bin')).catch(() => undefined), undefined, 'remove-from-packages');
    assert.equal((await lstat(join(co, 'usr/bin/fextra'))).mode & 0o7777, 0o555, 'readonly-executables');
    assert.equal((await lstat(join(co, 'usr/etc/fdaemon.conf'))).mode & 0o7777, 0o644, 'non-executables keep their mode');
    assert.equal(await readFile(join(co, 'usr/share/pp-script'), 'utf8'), 'script ran\n', 'postprocess-script');
    await rm(co, { recursive: true, force: true });
    await writeFile(join(dir, 'excluded.yaml'), 'include: ../common.yaml\nref: fedostree/20/x86_64/base/extras\npackages: [fdocker]\nexclude-packages: [fdocker]\n');
    const x = await cli(['compose', 'tree', join(dir, 'excluded.yaml'), '--repo', repo, '--cachedir', cache]);
    assert.equal(x.code, 1);
    assert.match(x.stderr, /^error: .*package 'fdocker' is not in any repository/);
    await rm(dir, { recursive: true, force: true });
  });

  void it('two composes from scratch with the same SOURCE_DATE_EPOCH give the same commit', async () => {
    const commits: string[] = [];
    for (const i of [1, 2]) {
      const r2 = join(fx.dir, `repro-${i}`);
      await run('ostree', ['init', `--repo=${r2}`, '--mode=archive']);
      const out = await cli(['compose', 'tree', join(fx.trees, 'server/docker-io.yaml'), '--repo', r2, '--cachedir', join(fx.dir, `repro-cache-${i}`), '--json'], { SOURCE_DATE_EPOCH: EPOCH });
      assert.equal(out.code, 0, out.stderr);
      commits.push((JSON.parse(out.stdout) as ResultJson).trees[0].commit as string);
      await rm(join(fx.dir, `repro-cache-${i}`), { recursive: true, force: true });
    }
    assert.equal(commits[0], commits[1]);
  });

  void it('--sign-key signs each new commit before its ref moves, and the summary', async () => {
    const keys = join(fx.dir, 'keys');
    const gen = await cli(['repo', 'sign-keygen', '--secret-file', `${keys}.secret`, '--public-file', `${keys}.pub`]);
    assert.equal(gen.code, 0, gen.stderr);
    const r2 = join(fx.dir, 'signed');
    await run('ostree', ['init', `--repo=${r2}`, '--mode=archive']);
    const out = await cli(['compose', 'tree', join(fx.trees, 'base/minimal.yaml'), '--repo', r2, '--cachedir', cache, '--sign-key', `${keys}.secret`, '--json'], { SOURCE_DATE_EPOCH: EPOCH });
    assert.equal(out.code, 0, out.stderr);
    const commit = (JSON.parse(out.stdout) as ResultJson).trees[0].commit as string;
    const pub = (await readFile(`${keys}.pub`, 'utf8')).trim();
    const ok = await cli(['repo', 'sign', '--repo', r2, '--verify', commit, pub]);
    assert.equal(ok.code, 0, ok.stderr);
    const other = await cli(['repo', 'sign-keygen', '--public-file', `${keys}-other.pub`, '--secret-file', `${keys}-other.secret`]);
    assert.equal(other.code, 0, other.stderr);
    const wrong = await cli(['repo', 'sign', '--repo', r2, '--verify', commit, (await readFile(`${keys}-other.pub`, 'utf8')).trim()]);
    assert.notEqual(wrong.code, 0);
    const summary = await readFile(join(r2, 'summary'));
    const { verifySignatures } = await import('../../src/ostree/sign.ts');
    const res = await verifySignatures(summary, await readFile(join(r2, 'summary.sig')), { ed25519Keys: [pub] }, 'summary');
    assert.equal(res.ed25519.length, 1);
    await ostreeFsck(r2);
  });

  void it('bad input fails with one clear line; the ref does not move and fsck stays clean', async () => {
    const ref = REF('base/minimal');
    const before3 = await refOf(ref);
    const bad = join(fx.trees, 'bad');
    await mkdir(bad, { recursive: true });
    const cases: Array<[string, string, RegExp]> = [
      ['unknown-key', 'include: ../common.yaml\nref: fedostree/20/x86_64/base/minimal\npackagess: [kernel]\n', /unknown key 'packagess'.*bad\/unknown-key\.yaml|bad\/unknown-key\.yaml: unknown key 'packagess' \(did you mean 'packages'\?\)/],
      ['missing-package', 'include: ../common.yaml\nref: fedostree/20/x86_64/base/minimal\npackages: [no-such-package]\n', /package 'no-such-package' is not in any repository/],
      ['unsatisfiable', 'include: ../common.yaml\nref: fedostree/20/x86_64/base/minimal\npackages: [fbroken]\n', /cannot resolve the package set: .*no-such-capability/],
      ['failing-scriptlet', 'include: ../common.yaml\nref: fedostree/20/x86_64/base/minimal\npackages: [ffail]\n', /ffail-1\.0-1\.noarch: %post scriptlet failed with exit code 3/],
      ['add-files-outside', 'include: ../common.yaml\nref: fedostree/20/x86_64/base/minimal\nadd-files:\n  - [../files/motd, /opt/motd]\n', /add-files': destination '\/opt\/motd' must be under \/usr or \/etc/],
      ['loop-a', 'include: loop-b.yaml\nref: fedostree/20/x86_64/base/minimal\n', /include loop: .*loop-a\.yaml -> .*loop-b\.yaml -> .*loop-a\.yaml/],
    ];
    await writeFile(join(bad, 'loop-b.yaml'), 'include: loop-a.yaml\n');
    for (const [name, text] of cases) await writeFile(join(bad, `${name}.yaml`), text);
    for (const [name, , re] of cases) {
      const r = await cli(['compose', 'tree', join(bad, `${name}.yaml`), '--repo', repo, '--cachedir', cache], { SOURCE_DATE_EPOCH: EPOCH });
      assert.equal(r.code, 1, `${name}: exit code (stderr: ${r.stderr})`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line: ${r.stderr}`);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], re, name);
      assert.equal(await refOf(ref), before3, `${name}: ref unchanged`);
    }
    await rm(bad, { recursive: true, force: true });
    await ostreeFsck(repo);
  });
});
