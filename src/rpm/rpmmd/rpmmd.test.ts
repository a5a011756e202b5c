import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from './xml.ts';
import { parseIni, parseMirrorlist, parseRepoFile, substituteVars } from './repofile.ts';
import { parseMetalink, parseRepomd, safeLocation } from './repomd.ts';
import { expandRequest, parseComps } from './comps.ts';
import { transactionLines } from './resolve.ts';
import { scanObsoletes, scanPrimary } from './primary.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, NotFoundError } from '../../util/errors.ts';

void test('xml: elements, attributes, entities, CDATA, comments, DOCTYPE skipped', () => {
  const doc = parseXml(
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY boom "aaaa">]><!-- c --><r a="1&amp;2" b=\'x\'><c>t &lt;&#65;&#x42;</c><d/><![CDATA[<raw>]]></r>',
    'test',
  );
  assert.equal(doc.name, 'r');
  assert.deepEqual({ ...doc.attrs }, { a: '1&2', b: 'x' });
  assert.equal(doc.children[0].text, 't <AB');
  assert.equal(doc.children[1].name, 'd');
  assert.equal(doc.text, '<raw>');
});

void test('xml: malformed input is a FormatError naming the document', () => {
  for (const bad of ['<a><b></a>', '<a>', '<a>&boom;</a>', 'text', '<a></a><b/>', '<a x="1" x="2"/>', '<a><<b/></a>']) {
    assert.throws(() => parseXml(bad, 'doc.xml'), (e: unknown) => e instanceof FormatError && e.message.startsWith('doc.xml: '), bad);
  }
  assert.throws(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100), 'deep'), /nested deeper/);
});

void test('repo file: sections, continuation, lists, variables, defaults', () => {
  const text = `[main]\ngpgcheck=1\n\n# comment\n[fedora]\nname=Fedora $releasever - $basearch\nbaseurl=http://a/$releasever/$basearch/\n  http://b/\\$x/\nenabled=1\npriority = 10\nexcludepkgs=foo*, bar\n\n[off]\nmirrorlist=http://m/list\nenabled=0\ncost=500\n`;
  const repos = parseRepoFile(text, 'x.repo', { releasever: '39', basearch: 'x86_64' });
  assert.equal(repos.length, 2);
  assert.equal(repos[0].name, 'Fedora 39 - x86_64');
  assert.deepEqual(repos[0].baseurls, ['http://a/39/x86_64/', 'http://b/\\$x/']);
  assert.equal(repos[0].priority, 10);
  assert.equal(repos[0].cost, 1000);
  assert.deepEqual(repos[0].excludepkgs, ['foo*', 'bar']);
  assert.equal(repos[1].enabled, false);
  assert.equal(repos[1].cost, 500);
  assert.equal(substituteVars('${arch}-$nope', { arch: 'aarch64' }), 'aarch64-$nope');
  assert.equal(parseIni('[a]\nk: v\n', 'f')[0].values.get('k')?.value, 'v');
});

void test('repo file: errors name file, line and key', () => {
  assert.throws(() => parseRepoFile('[r]\nname=x\n', 'f.repo'), /f\.repo:1: repository \[r\] has no baseurl/);
  assert.throws(() => parseRepoFile('[r]\nbaseurl=file:///x\nenabled=maybe\n', 'f.repo'), /f\.repo:3: \[r\] enabled: 'maybe' is not a boolean/);
  assert.throws(() => parseRepoFile('baseurl=x\n', 'f.repo'), /outside any \[section\]/);
  assert.throws(() => parseRepoFile('[r]\nbaseurl=ftp://x\n', 'f.repo'), /unsupported URL/);
  assert.deepEqual(parseMirrorlist('# c\nhttp://a/\n\nhttps://b/\n', 'm'), ['http://a/', 'https://b/']);
});

const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">${'a'.repeat(64)}</checksum>
    <open-checksum type="sha">${'b'.repeat(40)}</open-checksum>
    <location href="repodata/x-primary.xml.gz"/>
    <timestamp>1700000000</timestamp>
    <size>123</size>
    <open-size>456</open-size>
  </data>
</repomd>`;

void test('repomd: records with checksums and sizes', () => {
  const r = parseRepomd(REPOMD, 'repo t');
  assert.equal(r.revision, '1700000000');
  const p = r.records.get('primary')!;
  assert.equal(p.location, 'repodata/x-primary.xml.gz');
  assert.deepEqual(p.checksum, { type: 'sha256', value: 'a'.repeat(64) });
  assert.equal(p.openChecksum?.type, 'sha1');
  assert.equal(p.size, 123);
  assert.throws(() => parseRepomd(REPOMD.replace('x-primary', '../../etc/passwd'), 'repo t'), /unsafe location/);
  assert.throws(() => parseRepomd(REPOMD.replace('sha256', 'md5'), 'repo t'), /repo t: primary checksum: unsupported checksum type 'md5'/);
  assert.throws(() => parseRepomd(REPOMD.replace('a'.repeat(64), 'zz'), 'repo t'), /not a sha256 digest/);
  assert.throws(() => safeLocation('/abs', 'w'), /unsafe/);
  assert.throws(() => safeLocation('http://x/y', 'w'), /unsafe/);
});

void test('metalink: hashes and base URLs by preference', () => {
  const ml = parseMetalink(
    `<metalink version="3.0" xmlns="http://www.metalinker.org/"><files><file name="repomd.xml"><size>10</size><verification><hash type="md5">x</hash><hash type="sha256">${'c'.repeat(64)}</hash></verification><resources><url preference="50">http://slow/repodata/repomd.xml</url><url preference="100">https://fast/os/repodata/repomd.xml</url></resources></file></files></metalink>`,
    'ml',
  );
  assert.deepEqual(ml.baseurls, ['https://fast/os/', 'http://slow/']);
  assert.deepEqual(ml.hashes, [{ type: 'sha256', value: 'c'.repeat(64) }]);
});

const COMPS = `<comps><group><id>core</id><name>Core</name><name xml:lang="de">Kern</name><uservisible>false</uservisible>
<packagelist><packagereq type="mandatory">bash</packagereq><packagereq>filesystem</packagereq><packagereq type="default">vim</packagereq>
<packagereq type="optional">zsh</packagereq><packagereq type="conditional" requires="bash">bash-completion</packagereq></packagelist></group>
<group><id>gui</id><name>Desktop &amp; Web</name><packagelist><packagereq>gnome</packagereq></packagelist></group>
<environment><id>ws</id><name>Workstation</name><grouplist><groupid>core</groupid><groupid>gui</groupid></grouplist></environment></comps>`;

void test('comps: groups, types, conditionals, environments, expansion', () => {
  const c = parseComps(COMPS, 'repo t: comps');
  assert.equal(c.groups[0].name, 'Core');
  assert.equal(c.groups[0].uservisible, false);
  assert.equal(c.groups[1].name, 'Desktop & Web');
  assert.equal(c.groups[1].uservisible, true);
  const e = expandRequest(['@core', 'extra'], c);
  assert.deepEqual(e.groupPackages, ['bash', 'filesystem', 'vim']);
  assert.deepEqual(e.conditionals, [{ name: 'bash-completion', requires: 'bash', group: 'core' }]);
  assert.deepEqual(e.packages, ['extra']);
  assert.deepEqual(expandRequest(['@desktop & web'], c).groupPackages, ['gnome']);
  assert.deepEqual(expandRequest(['@^ws'], c).groups, ['core', 'gui']);
  assert.deepEqual(expandRequest(['@core'], c, { withOptional: true }).groupPackages, ['bash', 'filesystem', 'vim', 'zsh']);
  assert.throws(() => expandRequest(['@nope'], c), (err: unknown) => err instanceof NotFoundError && /group 'nope'.*known groups: core, gui/.test(err.message));
  assert.throws(() => parseComps('<comps><group><id>x</id><packagelist><packagereq type="conditional">a</packagereq></packagelist></group></comps>', 'c'), /without requires/);
});

void test('transaction lines: sorted, epoch only when non-zero, obsoleted as erase', () => {
  const p = (name: string, epoch: number, v: string): { name: string; epoch: number; version: string; release: string; arch: string; nevra: string; repo: string } => ({
    name, epoch, version: v, release: '1', arch: 'noarch', nevra: `${name}-${epoch ? `${epoch}:` : ''}${v}-1.noarch`, repo: 'r',
  });
  const lines = transactionLines({
    install: [p('zz', 0, '1'), p('aa', 2, '1')],
    upgrade: [[p('bash', 0, '4'), p('bash', 0, '5')]],
    downgrade: [],
    erase: [],
    reinstall: [],
    obsoleted: [[p('old', 0, '1'), p('zz', 0, '1')]],
  });
  assert.deepEqual(lines, ['erase old-1-1.noarch', 'install aa-2:1-1.noarch', 'install zz-1-1.noarch', 'upgrade bash-4-1.noarch bash-5-1.noarch']);
});

void test('primary scan: fields, entities, obsoletes; hostile locations are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-primary-'));
  try {
    const pkg = (name: string, href: string, extra = ''): string =>
      `<package type="rpm"><name>${name}</name><arch>noarch</arch><version epoch="2" ver="1.0" rel="3"/><checksum type="sha256" pkgid="YES">${'ab'.repeat(32)}</checksum>` +
      `<summary>a &amp; b</summary><size package="42" installed="1" archive="1"/><location href="${href}"/><format>${extra}</format></package>\n`;
    const good = join(dir, 'primary.xml');
    await writeFile(good, `<?xml version="1.0"?><metadata packages="2">${pkg('a', 'Packages/a.rpm')}${pkg('b', 'b.rpm', '<rpm:obsoletes><rpm:entry name="old" flags="LT" epoch="0" ver="2"/></rpm:obsoletes>')}</metadata>`);
    const got = [];
    for await (const p of scanPrimary(good, 'p')) got.push(p);
    assert.deepEqual(got.map((p) => [p.nevra, p.location, p.size, p.summary]), [['a-2:1.0-3.noarch', 'Packages/a.rpm', 42, 'a & b'], ['b-2:1.0-3.noarch', 'b.rpm', 42, 'a & b']]);
    const obs = [];
    for await (const p of scanObsoletes(good, 'p')) obs.push(p);
    assert.deepEqual(obs, [{ name: 'b', nevra: 'b-2:1.0-3.noarch', obsoletes: [{ name: 'old', flags: 'LT', epoch: '0', ver: '2', rel: undefined }] }]);
    const bad = join(dir, 'bad.xml');
    await writeFile(bad, `<metadata>${pkg('evil', '../../../etc/shadow')}</metadata>`);
    await assert.rejects(async () => {
      for await (const _ of scanPrimary(bad, 'repo x: primary')) void _;
    }, /repo x: primary: package evil: unsafe location '\.\.\/\.\.\/\.\.\/etc\/shadow'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
