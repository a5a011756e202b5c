import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { buildSpecs } from './rpmbuild.ts';

const run = promisify(execFile);

/** Directory with the fixture spec files (one package per spec, named like the spec). */
export const RPM_FIXTURE_SPECS = join(import.meta.dirname, '..', 'fixtures', 'rpm');

let cached: Promise<Map<string, string>> | undefined;

/**
 * Build every spec under test/fixtures/rpm with the real rpmbuild and return package name → .rpm path.
 * Built once per process, and cached across processes in a temp dir keyed by the hash of the specs
 * and the build helpers (so parallel test files share one build; a lock avoids building twice).
 *
 * Fixtures: fx-files (gzip, x86_64: every file kind), fx-scripts (xz: scriptlets, triggers, file
 * triggers), fx-deps (zstd: rich/weak/ordering deps, epoch, ~ and ^), fx-large (zstd: a sparse
 * file > 4 GiB, stripped cpio), fx-empty (bzip2, no files).
 */
export function buildRpmFixtures(): Promise<Map<string, string>> {
  cached ??= buildOnce();
  return cached;
}

async function buildOnce(): Promise<Map<string, string>> {
  const specs = (await readdir(RPM_FIXTURE_SPECS)).filter((f) => f.endsWith('.spec')).sort();
  const h = createHash('sha256');
  for (const f of specs) h.update(f).update(await readFile(join(RPM_FIXTURE_SPECS, f)));
  for (const f of ['rpmbuild.ts', 'rpm-fixtures.ts']) h.update(await readFile(join(import.meta.dirname, f)));
  const final = join(tmpdir(), `fedostree-rpm-fixtures-${h.digest('hex').slice(0, 16)}`);
  const manifest = join(final, 'manifest.json');

  const load = async (): Promise<Map<string, string> | undefined> => {
    try {
      const m = JSON.parse(await readFile(manifest, 'utf8')) as Record<string, string>;
      return new Map(Object.entries(m).map(([k, v]) => [k, join(final, v)]));
    } catch {
      return undefined;
    }
  };
  const lock = `${final}.lock`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    const have = await load();
    if (have) return have;
    try {
      await mkdir(lock);
      break;
    } catch {
      // Another process is building; a lock older than 5 minutes is stale.
      const st = await stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 300_000) {
        await rmdir(lock).catch(() => undefined);
      } else if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${lock}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    const ready = await load();
    if (ready) return ready;
    const top = await mkdtemp(join(tmpdir(), 'fedostree-rpm-fixtures-build-'));
    const rpms = await buildSpecs(specs.map((s) => join(RPM_FIXTURE_SPECS, s)), { topdir: top });
    const m: Record<string, string> = {};
    for (const p of rpms) {
      const { stdout } = await run('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}', p]);
      m[stdout] = relative(top, p);
    }
    await rm(join(top, 'tmp'), { recursive: true, force: true });
    await rm(join(top, 'SPECS'), { recursive: true, force: true });
    await writeFile(join(top, 'manifest.json'), JSON.stringify(m, null, 1));
    await rm(final, { recursive: true, force: true });
    await rename(top, final);
    const built = await load();
    if (!built) throw new Error(`fixture manifest missing in ${final}`);
    return built;
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

/** Path of one fixture by package name (throws if it does not exist). */
export async function rpmFixture(name: string): Promise<string> {
  const m = await buildRpmFixtures();
  const p = m.get(name);
  if (!p) throw new Error(`no RPM fixture named ${name} (have: ${[...m.keys()].join(', ')})`);
  return p;
}

