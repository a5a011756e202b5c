/**
 * Both ways `extract` places files give the same tree as `rpm2cpio | cpio -idm`: a target it
 * creates (files created under their final names) and a pre-existing target (temp name + rename,
 * existing files replaced, no temp files left, symlinks in the way refused), also for a package
 * with many small files (created in batches by a worker thread) plus hardlinks and symlinks.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import { buildSpecs } from '../helpers/rpmbuild.ts';
import { extract, UnsafePathError } from '../../src/rpm/index.ts';

const run = promisify(execFile);
const fixtures = await buildRpmFixtures();
const work = await mkdtemp(join(tmpdir(), 'fedostree-rpm-extract-existing-'));
after(() => rm(work, { recursive: true, force: true }));

/** path -> type, mode, mtime (not for dirs: cpio sets theirs before filling them), content hash or link target. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = await lstat(p);
      if (st.isDirectory()) {
        out[r] = `dir ${st.mode.toString(8)}`;
        await walk(r);
      } else if (st.isSymbolicLink()) out[r] = `link ${await readlink(p)}`;
      else out[r] = `file ${st.mode.toString(8)} ${Math.floor(st.mtimeMs / 1000)} ${createHash('sha256').update(await readFile(p)).digest('hex')}`;
    }
  };
  await walk('');
  return out;
}

const file = fixtures.get('fx-files')!;

void test('fresh and pre-existing targets both equal rpm2cpio | cpio -idm; no temp files left', async () => {
  const theirs = join(work, 'cpio');
  await mkdir(theirs);
  await run('sh', ['-c', 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)', 'sh', file, theirs]);
  const want = await snapshot(theirs);

  const fresh = join(work, 'fresh');
  await extract(file, fresh);
  assert.deepEqual(await snapshot(fresh), want);

  // Pre-existing target with stale files in the way: they are replaced whole.
  const existing = join(work, 'existing');
  await mkdir(existing);
  await extract(file, existing);
  const regular = Object.keys(want).filter((p) => want[p].startsWith('file '));
  assert.ok(regular.length > 0);
  for (const p of regular) await writeFile(join(existing, p), 'stale');
  await extract(file, existing);
  assert.deepEqual(await snapshot(existing), want);
});

void test('a pre-existing target with a symlink in the way is refused and nothing lands outside', async () => {
  const outside = join(work, 'outside');
  await mkdir(outside);
  const target = join(work, 'planted');
  await mkdir(target);
  const top = Object.keys(await snapshot(join(work, 'fresh'))).find((p) => !p.includes('/'))!;
  await symlink(outside, join(target, top));
  await assert.rejects(extract(file, target), UnsafePathError);
  assert.deepEqual(await readdir(outside), []);
  assert.deepEqual((await readdir(target)).filter((n) => n.startsWith('.fedostree-tmp')), []);
});

void test('many small files, hardlinks and symlinks (worker-thread batches) equal cpio in a fresh target', async () => {
  const spec = join(work, 'many.spec');
  await writeFile(
    spec,
    'Name: fx-many\nVersion: 1\nRelease: 1\nSummary: many\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n%description\nmany\n%install\n' +
      'mkdir -p %{buildroot}/usr/share/many/a %{buildroot}/usr/share/many/b\n' +
      'for i in $(seq 1 400); do printf "file %s\\n" $i > %{buildroot}/usr/share/many/a/f$i; chmod 0$((600 + i % 2 * 155)) %{buildroot}/usr/share/many/a/f$i; done\n' +
      'head -c 300000 /dev/urandom > %{buildroot}/usr/share/many/b/big\n' +
      'ln %{buildroot}/usr/share/many/a/f399 %{buildroot}/usr/share/many/b/hard\n' +
      'ln -s ../a/f400 %{buildroot}/usr/share/many/b/soft\n' +
      'touch %{buildroot}/usr/share/many/b/empty\n' +
      '%files\n/usr/share/many\n',
  );
  const [rpm] = await buildSpecs([spec], { topdir: join(work, 'many-top') });
  const theirs = join(work, 'many-cpio');
  await mkdir(theirs);
  await run('sh', ['-c', 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)', 'sh', rpm, theirs]);
  const ours = join(work, 'many-ours');
  const r = await extract(rpm, ours);
  assert.ok(r.files > 400);
  assert.deepEqual(await snapshot(ours), await snapshot(theirs));
  const a = await lstat(join(ours, 'usr/share/many/a/f399'));
  const b = await lstat(join(ours, 'usr/share/many/b/hard'));
  assert.equal(a.ino, b.ino);
});
