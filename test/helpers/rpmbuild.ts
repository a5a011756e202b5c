import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { promisify } from 'node:util';
import { cpuCount, mapLimit } from '../../src/util/concurrency.ts';

const run = promisify(execFile);

/** SOURCE_DATE_EPOCH used for every fixture build (2026-01-01T00:00:00Z). */
export const FIXTURE_EPOCH = '1767225600';

export interface BuildSpecsOptions {
  /** Extra `--define 'name value'` macros, applied after the reproducible defaults. */
  define?: Record<string, string>;
  /** Output top directory (default: a fresh temp dir). RPMs land in `<topdir>/RPMS/<arch>/`. */
  topdir?: string;
}

/** The macros that make rpmbuild output reproducible and independent of the build machine. */
export function reproducibleDefines(topdir: string): Record<string, string> {
  return {
    _topdir: topdir,
    _tmppath: join(topdir, 'tmp'),
    _buildhost: 'fedostree-fixtures',
    use_source_date_epoch_as_buildtime: '1',
    clamp_mtime_to_source_date_epoch: '1',
    _build_id_links: 'none',
    debug_package: '%{nil}',
    __os_install_post: '%{nil}',
    _binary_filedigest_algorithm: '8',
    packager: 'Fedostree Fixtures <fixtures@example.org>',
    vendor: 'Fedostree',
    distribution: 'Fedostree Test',
  };
}

/**
 * Build binary RPMs from spec files with the real `rpmbuild -bb` in a temp topdir
 * (reproducible: fixed SOURCE_DATE_EPOCH, clamped mtimes, fixed build host).
 * Returns the paths of every built .rpm, sorted.
 */
export async function buildSpecs(specPaths: string[], opts: BuildSpecsOptions = {}): Promise<string[]> {
  const topdir = opts.topdir ?? (await mkdtemp(join(tmpdir(), 'fedostree-rpmbuild-')));
  const defines = { ...reproducibleDefines(topdir), ...(opts.define ?? {}) };
  const args: string[] = [];
  for (const [k, v] of Object.entries(defines)) args.push('--define', `${k} ${v}`);
  await mapLimit(specPaths, cpuCount, async (spec) => {
    // One temp dir per spec: rpm names its scriptlet temp files from a time-seeded random number,
    // so parallel rpmbuilds sharing a directory can collide ("Unable to open temp file: File exists").
    const tmp = join(topdir, 'tmp', basename(spec, '.spec'));
    await mkdir(tmp, { recursive: true });
    try {
      await run('rpmbuild', ['-bb', '--quiet', ...args, '--define', `_tmppath ${tmp}`, spec], {
        env: { ...process.env, SOURCE_DATE_EPOCH: FIXTURE_EPOCH, LC_ALL: 'C.UTF-8', TZ: 'UTC', HOME: topdir },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`rpmbuild ${basename(spec)} failed: ${e.stderr ?? e.message}`, { cause: err });
    }
  });
  const out: string[] = [];
  const rpmsDir = join(topdir, 'RPMS');
  for (const arch of await readdir(rpmsDir).catch(() => [] as string[])) {
    for (const f of await readdir(join(rpmsDir, arch))) if (f.endsWith('.rpm')) out.push(join(rpmsDir, arch, f));
  }
  // Build trees are not needed once the RPMs exist.
  await rm(join(topdir, 'BUILD'), { recursive: true, force: true });
  await rm(join(topdir, 'BUILDROOT'), { recursive: true, force: true });
  return out.sort();
}
