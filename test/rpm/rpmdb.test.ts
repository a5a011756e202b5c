import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import { buildSpecs } from '../helpers/rpmbuild.ts';
import { openPackage } from '../../src/rpm/package.ts';
import { diffRpmdb, readRpmdb, writeRpmdb, RPMDB_FILE, type RpmdbInput } from '../../src/rpm/rpmdb.ts';
import { RPMDB_INDEXES } from '../../src/rpm/rpmdb-index.ts';
import { Tag, Type } from '../../src/rpm/tags.ts';
import { HeaderBuilder, RpmHeader } from '../../src/rpm/header.ts';

const RpmHeaderName = (blob: Uint8Array): string => RpmHeader.fromBlob(blob, 'rpmdb row').string(Tag.NAME) ?? '';
import { FormatError, NotFoundError } from '../../src/util/errors.ts';

const run = promisify(execFile);
const ENV = { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' };
const INSTALL_TIME = 1700000000;

let work: string;
/** package name → .rpm path: the shared fixtures plus this area's own (relocatable, two versions). */
let rpms: Map<string, string>;
/** the two versions of fx-db-ver */
let ver1: string;
let ver2: string;

async function rpmq(args: string[]): Promise<string> {
  const { stdout } = await run('rpm', args, { env: ENV, maxBuffer: 1 << 26 });
  return stdout;
}

async function inputs(paths: Iterable<string>): Promise<RpmdbInput[]> {
  const out: RpmdbInput[] = [];
  for (const p of paths) {
    const pkg = await openPackage(p);
    out.push({ header: pkg.header, signature: pkg.signature });
  }
  return out;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fedostree-rpmdb-test-'));
  const [shared, own] = await Promise.all([
    buildRpmFixtures(),
    buildSpecs(
      ['fx-db-reloc.spec', 'fx-db-ver-1.0.spec', 'fx-db-ver-2.0.spec'].map((s) => join(import.meta.dirname, '..', 'fixtures', 'rpmdb', s)),
      { topdir: join(work, 'build') },
    ),
  ]);
  rpms = new Map(shared);
  for (const p of own) {
    if (p.includes('fx-db-ver-1.0')) ver1 = p;
    else if (p.includes('fx-db-ver-2.0')) ver2 = p;
    else rpms.set('fx-db-reloc', p);
  }
  rpms.set('fx-db-ver', ver1);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

void test('same packages give the same bytes, whatever their order', async () => {
  const list = await inputs(rpms.values());
  const a = join(work, 'same-a');
  const b = join(work, 'same-b');
  await writeRpmdb(a, list, { installTime: INSTALL_TIME });
  await writeRpmdb(b, [...list].reverse(), { installTime: INSTALL_TIME });
  const [x, y] = await Promise.all([readFile(join(a, RPMDB_FILE)), readFile(join(b, RPMDB_FILE))]);
  assert.ok(x.equals(y), 'rpmdb.sqlite differs between two writes of the same packages');
  // rewriting in place replaces the file atomically and leaves no temporary files behind
  await writeRpmdb(a, list, { installTime: INSTALL_TIME });
  assert.ok((await readFile(join(a, RPMDB_FILE))).equals(x));
  assert.deepEqual((await readdir(a)).sort(), ['.rpm.lock', RPMDB_FILE]);
  // a different install time changes the bytes
  await writeRpmdb(b, list, { installTime: INSTALL_TIME + 1 });
  assert.ok(!(await readFile(join(b, RPMDB_FILE))).equals(x));
});

void test('the real rpm reads our rpmdb: -qa, -qi, -ql, deps, scripts, -qf, --whatprovides, --verifydb', async () => {
  const dir = join(work, 'query');
  await writeRpmdb(dir, await inputs(rpms.values()), { installTime: INSTALL_TIME });
  const db = ['--dbpath', dir];

  const qa = (await rpmq([...db, '-qa', '--qf', '%{NEVRA}\\n'])).trim().split('\n').sort();
  const expected: string[] = [];
  for (const p of rpms.values()) expected.push((await rpmq(['-qp', '--qf', '%{NEVRA}', p])).trim());
  assert.deepEqual(qa, expected.sort());

  const queries: string[][] = [
    ['-i'],
    ['-l'],
    ['--dump'],
    ['--requires'],
    ['--provides'],
    ['--conflicts'],
    ['--obsoletes'],
    ['--recommends', '--suggests', '--supplements', '--enhances'],
    ['--scripts'],
    ['--triggers'],
    ['--filetriggers'],
    ['--changelog'],
    ['--qf', '[%{FILENAMES} %{FILEMODES:perms} %{FILEDIGESTS} %{FILEFLAGS:fflags} %{FILESTATES:fstate}\\n]'],
  ];
  for (const [name, path] of rpms) {
    const [fromDb, fromFile] = await Promise.all([
      Promise.all(queries.map((q) => rpmq([...db, '-q', ...q, name]))),
      Promise.all(queries.map((q) => rpmq(['-qp', ...q, path]))),
    ]);
    for (let i = 0; i < queries.length; i++) {
      let want = fromFile[i];
      let got = fromDb[i];
      if (queries[i][0] === '-i') {
        // only the install date may differ between a package file and its installed header
        const installed = new Date(INSTALL_TIME * 1000);
        assert.match(got, /^Install Date: .*\d{4}$/m, `${name}: -qi shows an install date`);
        assert.match(want, /^Install Date: \(not installed\)$/m);
        got = got.replace(/^Install Date: .*$/m, '');
        want = want.replace(/^Install Date: .*$/m, '');
        assert.ok(installed.getUTCFullYear() === 2023);
      }
      if (queries[i][0] === '--qf') {
        // files in a package file have no state; installed ones are "normal"
        want = want.replace(/ \(none\)$/gm, ' normal');
        got = got.replace(/ \(none\)$/gm, ' normal');
      }
      assert.equal(got, want, `${name}: rpm -q ${queries[i].join(' ')} differs between the rpmdb and the package file`);
    }
    // every file maps back to its package
    const files = (await rpmq(['-qlp', path])).split('\n').filter((f) => f.startsWith('/'));
    if (files.length) {
      const owners = (await rpmq([...db, '-qf', '--qf', '%{NAME}\\n', ...files])).trim().split('\n');
      assert.deepEqual(owners, files.map(() => name), `${name}: rpm -qf`);
    }
  }

  // the indexes work: virtual provides, rich dependencies, relocations
  assert.equal((await rpmq([...db, '-q', '--whatprovides', 'fx-db-virtual', '--qf', '%{NAME}\\n'])).trim(), 'fx-db-ver');
  assert.equal((await rpmq([...db, '-q', '--whatrequires', 'fx-db-c', '--qf', '%{NAME}\\n'])).trim(), 'fx-db-ver');
  assert.equal((await rpmq([...db, '-q', '--whatrequires', 'fx-files', '--qf', '%{NAME}\\n'])).trim().split('\n').sort().join(' '), 'fx-deps fx-empty');
  assert.equal((await rpmq([...db, '-q', '--qf', '%{INSTPREFIXES}', 'fx-db-reloc'])).trim(), '/opt/fx-db');
  assert.equal((await rpmq([...db, '-q', '--qf', '%{INSTALLTID}', 'fx-files'])).trim(), String(INSTALL_TIME));

  const check = new DatabaseSync(join(dir, RPMDB_FILE), { readOnly: true });
  assert.deepEqual(check.prepare('PRAGMA integrity_check').all().map((r) => r.integrity_check), ['ok']);
  check.close();
  await rpmq([...db, '--verifydb']);
  const { stdout, stderr } = await run('rpmdb', [...db, '--verifydb'], { env: ENV });
  assert.equal(stdout + stderr, '');
});

/** Install `paths` with the real rpm (database only) into a fresh root; return the db path. */
async function realInstall(root: string, paths: string[]): Promise<string> {
  await mkdir(root, { recursive: true });
  await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--justdb', '--nodeps', '--noscripts', '--notriggers', '--ignorearch', ...paths], {
    env: { ...ENV, SOURCE_DATE_EPOCH: String(INSTALL_TIME) },
  });
  return join(root, 'var/lib/rpm');
}

void test('Packages and every index table hold what rpm -i writes', async () => {
  const realDb = await realInstall(join(work, 'real-root'), [...rpms.values()]);
  const real = new DatabaseSync(join(realDb, RPMDB_FILE), { readOnly: true });
  try {
    // install in the order rpm chose, then compare row by row
    const order = (real.prepare('SELECT key FROM Name ORDER BY hnum').all() as Array<{ key: string }>).map((r) => rpms.get(r.key)!);
    const ours = join(work, 'ours-like-rpm');
    await writeRpmdb(ours, await inputs(order), { installTime: INSTALL_TIME, keepOrder: true });
    const mine = new DatabaseSync(join(ours, RPMDB_FILE), { readOnly: true });
    try {
      const dump = (d: DatabaseSync, sql: string): string[] =>
        d
          .prepare(sql)
          .all()
          .map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
      assert.deepEqual(dump(mine, 'SELECT hnum, blob FROM Packages ORDER BY hnum'), dump(real, 'SELECT hnum, blob FROM Packages ORDER BY hnum'));
      for (const ix of RPMDB_INDEXES) {
        const sql = `SELECT key, typeof(key) AS t, hnum, idx FROM '${ix.table}' ORDER BY rowid`;
        assert.deepEqual(dump(mine, sql), dump(real, sql), `index table ${ix.table}`);
      }
      // same tables and indexes with the same DDL (ours creates the indexes after loading the rows)
      const schema = (d: DatabaseSync): string[] => dump(d, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name");
      assert.deepEqual(schema(mine), schema(real));
    } finally {
      mine.close();
    }
  } finally {
    real.close();
  }
});

void test('signed packages: the installed header carries the signature as rpm merges it', async () => {
  const gnupg = join(work, 'gnupg');
  await mkdir(gnupg, { recursive: true, mode: 0o700 });
  const env = { ...ENV, GNUPGHOME: gnupg };
  const signed: string[] = [];
  try {
    // an EdDSA key (rpm stores it as DSAHEADER) and an RSA key (RSAHEADER)
    for (const [algo, pkgName] of [['ed25519', 'fx-empty'], ['rsa2048', 'fx-db-reloc']] as const) {
      const uid = `Fedostree ${algo} <${algo}@example.org>`;
      await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never'], { env });
      const copy = join(work, `signed-${algo}.rpm`);
      await copyFile(rpms.get(pkgName)!, copy);
      await run('rpmsign', ['--addsign', '--define', `_gpg_name ${uid}`, '--define', '__gpg /usr/bin/gpg', copy], { env });
      signed.push(copy);
    }
  } finally {
    await run('gpgconf', ['--kill', 'all'], { env }).catch(() => undefined);
  }
  const root = join(work, 'signed-root');
  await mkdir(root, { recursive: true });
  await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-i', '--justdb', '--nodeps', '--nosignature', ...signed], {
    env: { ...ENV, SOURCE_DATE_EPOCH: String(INSTALL_TIME) },
  });
  const real = new DatabaseSync(join(root, 'var/lib/rpm', RPMDB_FILE), { readOnly: true });
  const realRows = real.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all();
  real.close();
  const byName = new Map<string, string>();
  for (const p of signed) byName.set((await openPackage(p)).header.string(Tag.NAME)!, p);
  const order = realRows.map((r) => byName.get(RpmHeaderName(r.blob as Uint8Array))!);
  const ours = join(work, 'signed-ours');
  await writeRpmdb(ours, await inputs(order), { installTime: INSTALL_TIME, keepOrder: true });
  const mine = await readRpmdb(ours);
  assert.equal(mine.length, 2);
  mine.forEach((p, i) => assert.ok(p.header.blob.equals(Buffer.from(realRows[i].blob as Uint8Array)), `${p.name}: installed header differs from rpm's`));
  assert.ok(mine.some((p) => p.header.has(Tag.DSAHEADER)) && mine.some((p) => p.header.has(Tag.RSAHEADER)));
  for (const p of mine) {
    const sigLine = (s: string): string => /^Signature\s*:.*$/m.exec(s)?.[0] ?? '';
    const want = sigLine(await rpmq(['-qip', '--nosignature', byName.get(p.name)!]));
    assert.match(want, /Key ID/);
    assert.equal(sigLine(await rpmq(['--dbpath', ours, '-qi', p.name])), want);
  }
});

void test('installed headers from an existing rpmdb are kept as they are, next to new packages', async () => {
  // the base: a db written by the real rpm
  const baseDb = await realInstall(join(work, 'layer-root'), [rpms.get('fx-files')!, rpms.get('fx-empty')!]);
  const base = await readRpmdb(baseDb);
  const layered = join(work, 'layered');
  await writeRpmdb(layered, [...base.map((p) => ({ header: p.header })), ...(await inputs([rpms.get('fx-deps')!]))], { installTime: INSTALL_TIME + 100 });
  const after = await readRpmdb(layered);
  assert.deepEqual(after.map((p) => p.name), ['fx-deps', 'fx-empty', 'fx-files']);
  for (const p of base) assert.ok(after.find((q) => q.name === p.name)!.header.blob.equals(p.header.blob), `${p.name} kept byte for byte`);
  assert.equal(after[0].installTime, INSTALL_TIME + 100);
  assert.deepEqual((await rpmq(['--dbpath', layered, '-qa', '--qf', '%{NAME} %{INSTALLTID}\\n'])).trim().split('\n').sort(), [
    `fx-deps ${INSTALL_TIME + 100}`,
    `fx-empty ${INSTALL_TIME}`,
    `fx-files ${INSTALL_TIME}`,
  ]);
  assert.equal((await rpmq(['--dbpath', layered, '-qf', '--qf', '%{NAME}', '/usr/bin/fx-deps-tool'])).trim(), 'fx-deps');
});

void test('the real rpm can change our rpmdb: erase (index rows found and removed), rebuilddb', async () => {
  const dir = join(work, 'rw');
  await writeRpmdb(dir, await inputs([rpms.get('fx-files')!, rpms.get('fx-empty')!, rpms.get('fx-deps')!]), { installTime: INSTALL_TIME });
  await run('rpm', ['--dbpath', dir, '-e', '--justdb', '--nodeps', '--noscripts', 'fx-files'], { env: ENV });
  assert.deepEqual((await rpmq(['--dbpath', dir, '-qa', '--qf', '%{NAME}\\n'])).trim().split('\n').sort(), ['fx-deps', 'fx-empty']);
  await assert.rejects(rpmq(['--dbpath', dir, '-qf', '/usr/bin/fx-hello']), (err: { stdout?: string; stderr?: string }) =>
    // rpm looks the path up in Basenames first; with no owner it falls back to the (absent) host file
    /not owned by any package|No such file/.test(`${err.stdout ?? ''}${err.stderr ?? ''}`),
  );
  await run('rpmdb', ['--dbpath', dir, '--rebuilddb'], { env: ENV });
  assert.deepEqual((await readRpmdb(dir)).map((p) => p.name).sort(), ['fx-deps', 'fx-empty']);
  assert.equal((await rpmq(['--dbpath', dir, '-q', '--whatrequires', 'fx-files', '--qf', '%{NAME}\\n'])).trim().split('\n').sort().join(' '), 'fx-deps fx-empty');
});

void test('our reader lists an rpmdb written by the real rpm', async () => {
  const realDb = await realInstall(join(work, 'real-root-2'), [rpms.get('fx-files')!, rpms.get('fx-deps')!]);
  const pkgs = await readRpmdb(realDb);
  assert.deepEqual(pkgs.map((p) => p.nevra).sort(), ['fx-deps-3:1.0~rc1^git20260101-2.noarch', 'fx-files-1.2.3-4.fx.x86_64']);
  for (const p of pkgs) {
    assert.equal(p.installTime >= INSTALL_TIME, true);
    assert.equal(p.summary, (await rpmq(['--dbpath', realDb, '-q', '--qf', '%{SUMMARY}', p.name])).trim());
    assert.equal(p.size, Number((await rpmq(['--dbpath', realDb, '-q', '--qf', '%{LONGSIZE}', p.name])).trim()));
    assert.equal(p.header.string(Tag.SHA1HEADER), p.sha1header);
  }
});

void test('diff: upgraded, downgraded, removed, added (library and CLI)', async () => {
  const a = join(work, 'diff-a');
  const b = join(work, 'diff-b');
  await writeRpmdb(a, await inputs([ver1, rpms.get('fx-empty')!, rpms.get('fx-files')!]), { installTime: INSTALL_TIME });
  await writeRpmdb(b, await inputs([ver2, rpms.get('fx-files')!, rpms.get('fx-deps')!]), { installTime: INSTALL_TIME });
  const d = await diffRpmdb(a, b);
  assert.deepEqual(
    d.upgraded.map((c) => `${c.name} ${c.from.version} ${c.to.version}`),
    ['fx-db-ver 1.0 2.0'],
  );
  assert.deepEqual(d.downgraded, []);
  assert.deepEqual(d.removed.map((p) => p.name), ['fx-empty']);
  assert.deepEqual(d.added.map((p) => p.name), ['fx-deps']);
  const back = await diffRpmdb(b, a);
  assert.deepEqual(back.downgraded.map((c) => c.name), ['fx-db-ver']);
  assert.deepEqual(back.added.map((p) => p.name), ['fx-empty']);

  // the real command line: fedostree rpm db …
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'fedostree.js');
  const cli = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, 'rpm', 'db', ...args], { env: ENV });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
  // the invocations are independent: run them side by side
  const [out, back2, jsonOut, list, listJsonOut, missing, usage, qa] = await Promise.all([
    cli('diff', '--dbpath', a, '--dbpath', b),
    cli('diff', b, a),
    cli('diff', a, b, '--json'),
    cli('list', '--dbpath', a),
    cli('list', '--dbpath', a, '--json'),
    cli('list', '--dbpath', join(work, 'nope')),
    cli('diff', a),
    rpmq(['--dbpath', a, '-qa']),
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    out.stdout,
    `rpmdb diff from: ${a}\nrpmdb diff to:   ${b}\nUpgraded:\n  fx-db-ver 1.0-1 -> 2.0-1\nRemoved:\n  fx-empty-0.1-1.noarch\nAdded:\n  fx-deps-1.0~rc1^git20260101-2.noarch\n`,
  );
  assert.equal(back2.stdout.includes('Downgraded:\n  fx-db-ver 2.0-1 -> 1.0-1\n'), true);
  const json = JSON.parse(jsonOut.stdout) as { upgraded: Array<{ name: string }> };
  assert.equal(json.upgraded[0]?.name, 'fx-db-ver');
  assert.equal(list.stdout, qa.split('\n').sort().join('\n').trimStart() + '\n');
  const listJson = JSON.parse(listJsonOut.stdout) as Array<{ name: string; installTime: number }>;
  assert.deepEqual(listJson.map((p) => p.name), ['fx-db-ver', 'fx-empty', 'fx-files']);
  assert.deepEqual(listJson.map((p) => p.installTime), [INSTALL_TIME, INSTALL_TIME + 1, INSTALL_TIME + 2]);

  // a tree root: its rpmdb is found under usr/share/rpm (OSTree) or var/lib/rpm
  const treeA = join(work, 'tree-a');
  await writeRpmdb(join(treeA, 'usr/share/rpm'), await inputs([ver1]), { installTime: INSTALL_TIME });
  const treeB = join(work, 'tree-b');
  await writeRpmdb(join(treeB, 'var/lib/rpm'), await inputs([ver2]), { installTime: INSTALL_TIME });
  const [rootList, rootDiff, noDb] = await Promise.all([cli('list', '--root', treeA), cli('diff', '--root', treeA, '--root', treeB), cli('list', '--root', work)]);
  assert.equal(rootList.stdout, 'fx-db-ver-1.0-1.noarch\n');
  assert.match(rootDiff.stdout, /Upgraded:\n {2}fx-db-ver 1\.0-1 -> 2\.0-1\n$/);
  assert.equal(noDb.code, 1);
  assert.match(noDb.stderr, /^error: no rpmdb under .* \(looked in usr\/share\/rpm, usr\/lib\/sysimage\/rpm, var\/lib\/rpm\)\n$/);

  // user errors: message, exit 1 (2 for usage), no stack
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: no rpmdb at .*nope\/rpmdb\.sqlite\n$/);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^error: rpm db diff: need exactly two databases/);
});

void test('bad databases are reported, not crashed on', async () => {
  await assert.rejects(readRpmdb(join(work, 'absent')), NotFoundError);
  const garbage = join(work, 'garbage');
  await mkdir(garbage, { recursive: true });
  await writeFile(join(garbage, RPMDB_FILE), 'this is not sqlite at all, just text long enough to look like a file');
  await assert.rejects(readRpmdb(garbage), (err: unknown) => err instanceof FormatError && err.message.includes(garbage));
  // a valid sqlite file whose header blob is corrupt
  const bad = join(work, 'bad-blob');
  await writeRpmdb(bad, await inputs([rpms.get('fx-empty')!]), { installTime: INSTALL_TIME });
  const db = new DatabaseSync(join(bad, RPMDB_FILE));
  db.prepare('UPDATE Packages SET blob = ? WHERE hnum = 1').run(Buffer.from([0, 0, 0, 9, 0, 0, 0, 1, 1, 2, 3]));
  db.close();
  await assert.rejects(readRpmdb(bad), (err: unknown) => err instanceof FormatError && /package 1: header blob/.test(err.message));
  // a header without its immutable region cannot be installed
  const legacy = new HeaderBuilder().add(Tag.NAME, Type.STRING, 'legacy').toHeader('legacy.rpm');
  await assert.rejects(writeRpmdb(join(work, 'legacy'), [{ header: legacy }], { installTime: INSTALL_TIME }), /legacy\.rpm: no immutable header region/);
});
