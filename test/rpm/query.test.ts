/**
 * Differential tests against the real rpm 4.18: every field fedostree reports for the fixture
 * packages equals what `rpm -qp` prints (--qf, --requires & co, --scripts, --triggers,
 * --filetriggers, --dump).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import {
  DEP_KINDS, describePackage, dumpLine, formatDep, formatFileTriggers, formatRichDep, formatScripts, formatTriggers,
  openPackage, packageInfo, parseRichDep, readDeps, readFiles, readFileTriggers, readScriptlets, readTriggers, Tag, type DepKind,
} from '../../src/rpm/index.ts';

const run = promisify(execFile);
const fixtures = await buildRpmFixtures();

async function rpmq(file: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('rpm', ['-qp', '--nosignature', ...args, file], { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' } });
  return stdout;
}

const SEP = '\x1f';
const INFO_TAGS = ['NAME', 'EPOCH', 'VERSION', 'RELEASE', 'ARCH', 'SUMMARY', 'DESCRIPTION', 'LICENSE', 'URL', 'VENDOR', 'PACKAGER', 'GROUP', 'BUILDTIME', 'BUILDHOST', 'SOURCERPM', 'OS', 'LONGSIZE', 'PAYLOADFORMAT', 'PAYLOADCOMPRESSOR', 'PAYLOADFLAGS', 'LONGARCHIVESIZE', 'NEVRA'];

for (const [name, file] of fixtures) {
  void test(`${name}: package fields equal rpm -qp --qf`, async () => {
    const out = (await rpmq(file, '--qf', INFO_TAGS.map((t) => `%{${t}}`).join(SEP))).split(SEP);
    const rpm = Object.fromEntries(INFO_TAGS.map((t, i) => [t, out[i]]));
    const info = packageInfo(await openPackage(file));
    const none = (v: string | number | undefined): string => (v === undefined ? '(none)' : String(v));
    assert.deepEqual(
      {
        NAME: info.name, EPOCH: none(info.epoch), VERSION: info.version, RELEASE: info.release, ARCH: info.arch, SUMMARY: info.summary,
        DESCRIPTION: info.description, LICENSE: info.license, URL: none(info.url), VENDOR: none(info.vendor), PACKAGER: none(info.packager),
        GROUP: none(info.group), BUILDTIME: String(info.buildtime), BUILDHOST: none(info.buildhost), SOURCERPM: none(info.sourcerpm), OS: none(info.os),
        LONGSIZE: String(info.size), PAYLOADFORMAT: info.payloadFormat, PAYLOADCOMPRESSOR: info.payloadCompressor, PAYLOADFLAGS: none(info.payloadFlags),
        LONGARCHIVESIZE: none(info.archiveSize), NEVRA: info.nevra,
      },
      rpm,
    );
  });

  void test(`${name}: dependencies equal rpm -qp --requires/--provides/…`, async () => {
    const pkg = await openPackage(file);
    for (const kind of ['requires', 'provides', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as DepKind[]) {
      const ours = readDeps(pkg.header, kind).map((d) => `${formatDep(d)}\n`).join('');
      assert.equal(ours, await rpmq(file, `--${kind}`), `--${kind}`);
    }
    // Flags (pre/post/interp phases…) equal the raw numbers rpm reports.
    for (const kind of Object.keys(DEP_KINDS) as DepKind[]) {
      const tag = DEP_KINDS[kind].flags;
      const tname = Object.entries(Tag).find(([k, v]) => v === tag && !k.startsWith('SIG_'))![0];
      const rpmFlags = (await rpmq(file, '--qf', `[%{${tname}}\n]`)).split('\n').filter(Boolean).map(Number);
      assert.deepEqual(readDeps(pkg.header, kind).map((d) => d.flags), rpmFlags, kind);
    }
    // Rich dependencies parse and print back exactly.
    for (const kind of Object.keys(DEP_KINDS) as DepKind[]) {
      for (const d of readDeps(pkg.header, kind)) if (d.rich) assert.equal(formatRichDep(parseRichDep(d.name)), d.name);
    }
  });

  void test(`${name}: scriptlets and triggers equal rpm -qp --scripts/--triggers/--filetriggers`, async () => {
    const h = (await openPackage(file)).header;
    assert.equal(formatScripts(readScriptlets(h)), await rpmq(file, '--scripts'));
    assert.equal(formatTriggers(readTriggers(h)), await rpmq(file, '--triggers'));
    assert.equal(formatFileTriggers(readFileTriggers(h)), await rpmq(file, '--filetriggers'));
    const flagTags = ['PRETRANSFLAGS', 'PREINFLAGS', 'POSTINFLAGS', 'PREUNFLAGS', 'POSTUNFLAGS', 'POSTTRANSFLAGS', 'VERIFYSCRIPTFLAGS'];
    const rpmFlags = (await rpmq(file, '--qf', flagTags.map((t) => `%{${t}}`).join(SEP))).split(SEP);
    const kinds = ['pretrans', 'pre', 'post', 'preun', 'postun', 'posttrans', 'verify'];
    const ours = readScriptlets(h);
    kinds.forEach((k, i) => {
      const s = ours.find((x) => x.kind === k);
      assert.equal(s && h.has(Tag[flagTags[i] as keyof typeof Tag]) ? String(s.flags) : '(none)', rpmFlags[i], flagTags[i]);
    });
    const prios = (await rpmq(file, '--qf', '[%{FILETRIGGERPRIORITIES}\n][%{TRANSFILETRIGGERPRIORITIES}\n]')).split('\n').filter(Boolean).map(Number);
    assert.deepEqual(readFileTriggers(h).map((t) => t.priority), prios);
  });

  void test(`${name}: file list equals rpm -qp --dump and per-file tags`, async () => {
    const pkg = await openPackage(file);
    const { files, digestAlgo } = readFiles(pkg.header);
    const dump = files.map((f) => `${dumpLine(f, digestAlgo)}\n`).join('');
    assert.equal(dump || '(contains no files)\n', await rpmq(file, '--dump'));
    if (files.length) assert.equal(String(digestAlgo), await rpmq(file, '--qf', '%{FILEDIGESTALGO}'));
    const hasCaps = pkg.header.has(Tag.FILECAPS);
    const tags = ['FILECAPS', 'FILEFLAGS', 'FILEINODES', 'FILEDEVICES', 'FILEVERIFYFLAGS', 'FILELANGS', 'FILECOLORS', 'FILENLINKS'];
    const lines = (await rpmq(file, '--qf', `[${tags.map((t) => (t === 'FILECAPS' && !hasCaps ? '' : `%{${t}}`)).join(SEP)}\n]`)).split('\n').filter(Boolean);
    assert.equal(lines.length, files.length);
    lines.forEach((line, i) => {
      const f = files[i];
      const [caps, flags, inode, device, vflags, lang, color, nlink] = line.split(SEP);
      assert.deepEqual(
        { caps, flags: Number(flags), inode: Number(inode), device: Number(device), vflags: Number(vflags), lang, color: Number(color), nlink: Number(nlink) },
        { caps: f.caps, flags: f.flags, inode: f.inode, device: f.device, vflags: f.verifyFlags, lang: f.lang, color: f.color, nlink: f.nlink },
        f.path,
      );
    });
  });

  void test(`${name}: describePackage checks header digests rpm -K accepts`, async () => {
    const { stdout } = await run('rpm', ['-K', '--nosignature', file]);
    assert.match(stdout, /digests OK/);
    const d = describePackage(await openPackage(file));
    assert.equal(d.digests.sha256, 'ok');
    assert.equal(d.digests.size, 'ok');
    assert.equal(d.signature, undefined);
    assert.equal((await rpmq(file, '--qf', '%{RSAHEADER:pgpsig}')).trim(), '(none)');
  });
}

void test('fixtures cover the promised features', async () => {
  const deps = (await openPackage(fixtures.get('fx-deps')!)).header;
  const req = readDeps(deps, 'requires');
  assert.ok(req.some((d) => d.phases.includes('pre')) && req.some((d) => d.phases.includes('post')) && req.some((d) => d.phases.includes('interp')));
  const kinds = new Set<string>();
  const walk = (r: NonNullable<(typeof req)[number]['rich']>): void => {
    kinds.add(r.type);
    if (r.type === 'and' || r.type === 'or' || r.type === 'with' || r.type === 'without') r.args.forEach(walk);
    if (r.type === 'if' || r.type === 'unless') [r.then, r.cond, r.else].forEach((x) => x && walk(x));
  };
  for (const k of Object.keys(DEP_KINDS) as DepKind[]) for (const d of readDeps(deps, k)) if (d.rich) walk(d.rich);
  assert.deepEqual([...kinds].sort(), ['and', 'dep', 'if', 'or', 'unless', 'with', 'without']);
  const scripts = (await openPackage(fixtures.get('fx-scripts')!)).header;
  assert.ok(readScriptlets(scripts).some((s) => s.lua));
  assert.equal(readFileTriggers(scripts).filter((t) => t.transaction).length, 3);
  const compressors = await Promise.all([...fixtures.values()].map(async (f) => packageInfo(await openPackage(f)).payloadCompressor));
  assert.deepEqual([...new Set(compressors)].sort(), ['bzip2', 'gzip', 'xz', 'zstd']);
});
