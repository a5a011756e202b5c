import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closestKey, expandTreefile, mergeTreefiles, parseTreefileText, substitute, TreefileError } from './treefile.ts';
import { escapeRefPart, pkgCacheRef, unescapeRefPart } from './pkgcache.ts';
import { nextVersion } from './compose.ts';
import { deployedPath, parseFileContexts } from './selinux.ts';
import { parseDb, checkIds } from './postprocess.ts';

void describe('treefile', () => {
  void it('parses YAML and JSON, splitting whitespace in package entries', () => {
    const y = parseTreefileText('ref: a/b\npackages:\n  - "bash coreutils"\n  - kernel\nrecommends: false\n', 't.yaml');
    assert.deepEqual(y, { ref: 'a/b', packages: ['bash', 'coreutils', 'kernel'], recommends: false });
    const j = parseTreefileText('{"ref": "a/b", "include": "base.json", "releasever": 39}', 't.json');
    assert.deepEqual(j, { ref: 'a/b', include: ['base.json'], releasever: '39' });
  });

  void it('rejects unknown keys naming the file and the closest key', () => {
    assert.throws(() => parseTreefileText('ref: x\npackagess: [a]\n', '/t/x.yaml'), (e: unknown) => e instanceof TreefileError && e.message === "/t/x.yaml: unknown key 'packagess' (did you mean 'packages'?)");
    assert.equal(closestKey('etc_group_members'), 'etc-group-members');
    assert.equal(closestKey('documentaion'), 'documentation');
  });

  void it('rejects values of the wrong shape naming the key', () => {
    assert.throws(() => parseTreefileText('packages: bash\n', 'f'), /f: key 'packages': expected a list of strings, got a string/);
    assert.throws(() => parseTreefileText('selinux: "yes"\n', 'f'), /key 'selinux': expected true or false/);
    assert.throws(() => parseTreefileText('add-files: [[a]]\n', 'f'), /key 'add-files': expected a list of \[source, destination\] pairs/);
    assert.throws(() => parseTreefileText('boot-location: new\n', 'f'), /only 'modules' is supported/);
    assert.throws(() => parseTreefileText('- a\n', 'f'), /a treefile must be a mapping/);
    assert.throws(() => parseTreefileText('a: [\n', 'f'), /f: not valid YAML\/JSON/);
  });

  void it('merges includes: lists concatenate, mappings merge, scalars of the child win', () => {
    const parent = { ref: 'p', packages: ['a'], variables: { x: '1', y: '2' }, selinux: true };
    const child = { include: ['p.yaml'], ref: 'c', packages: ['b'], variables: { y: '3' }, selinux: false };
    assert.deepEqual(mergeTreefiles(parent, child), { ref: 'c', packages: ['a', 'b'], variables: { x: '1', y: '3' }, selinux: false });
  });

  void it('expands variables and packages-$basearch', () => {
    const t = expandTreefile({
      ref: 'os/${releasever}/${basearch}/${flavor}', releasever: '20', variables: { flavor: 'min' }, packages: ['a'], 'packages-x86_64': ['b'], 'packages-aarch64': ['c'],
      postprocess: ['echo ${HOME}'],
    }, 'x86_64', 'f');
    assert.deepEqual(t, { ref: 'os/20/x86_64/min', releasever: '20', variables: { flavor: 'min' }, packages: ['a', 'b'], postprocess: ['echo ${HOME}'] });
    assert.throws(() => substitute('${nope}', { a: '1' }, "f: key 'ref'"), /f: key 'ref': unknown variable '\$\{nope\}' \(known: a\)/);
  });
});

void describe('package cache refs', () => {
  void it('escapes characters that refs do not allow and round-trips', () => {
    assert.equal(escapeRefPart('gcc-c++'), 'gcc-c_2B_2B');
    assert.equal(escapeRefPart('1:2.0_rc1-3'), '1_3A2.0__rc1-3');
    for (const s of ['gcc-c++', '1:2.0_rc1-3', 'perl(Foo::Bar)', 'ü~x']) assert.equal(unescapeRefPart(escapeRefPart(s)), s);
    assert.equal(pkgCacheRef({ name: 'glibc', epoch: 0, version: '2.38', release: '1.fc39', arch: 'x86_64' }), 'rpmostree/pkg/glibc/2.38-1.fc39.x86__64');
    assert.equal(pkgCacheRef({ name: 'bind', epoch: 32, version: '9.18', release: '1', arch: 'noarch' }), 'rpmostree/pkg/bind/32_3A9.18-1.noarch');
  });
});

void describe('compose helpers', () => {
  void it('automatic-version-prefix increments', () => {
    assert.equal(nextVersion('20', undefined), '20');
    assert.equal(nextVersion('20', '20'), '20.1');
    assert.equal(nextVersion('20', '20.4'), '20.5');
    assert.equal(nextVersion('21', '20.4'), '21');
  });

  void it('file_contexts: exact paths beat regexes, later entries beat earlier ones, file types filter', () => {
    const fc = parseFileContexts('/.*\tu:r:default_t\n/etc(/.*)?\tu:r:etc_t\n/etc/passwd\t--\tu:r:passwd_t\n/etc/x\t-d\t<<none>>\n/usr/bin(/.*)?\tu:r:bin_t\n', 'fc');
    assert.equal(fc.label('/etc/passwd', 0o100644), 'u:r:passwd_t');
    assert.equal(fc.label('/etc/passwd', 0o040755), 'u:r:etc_t');
    assert.equal(fc.label('/etc/x', 0o040755), undefined);
    assert.equal(fc.label('/usr/bin/sh', 0o120777), 'u:r:bin_t');
    assert.equal(fc.label('/var', 0o040755), 'u:r:default_t');
    assert.equal(deployedPath('/usr/etc/passwd'), '/etc/passwd');
    assert.equal(deployedPath('/usr/etcetera'), '/usr/etcetera');
    assert.throws(() => parseFileContexts('/a -x ctx\n', 'fc'), /fc: line 1: unknown file type '-x'/);
  });

  void it('check-passwd names the entry whose id changed', () => {
    const now = parseDb('root:x:0:0::/root:/bin/sh\nfoo:x:998:998::/:/sbin/nologin\n');
    assert.doesNotThrow(() => checkIds('passwd', now, new Map([['foo', 998], ['gone', 5]]), 'prev'));
    assert.throws(() => checkIds('passwd', now, new Map([['foo', 999]]), 'the previous commit'), /check-passwd: user 'foo' has id 998, but the previous commit has 999/);
  });
});
