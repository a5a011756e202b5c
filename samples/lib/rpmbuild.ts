/**
 * Running the real `rpmbuild -bb` reproducibly: fixed SOURCE_DATE_EPOCH, clamped mtimes,
 * fixed build host, SHA-256 file digests, output written straight into one directory.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { FedostreeError } from '../../src/util/errors.ts';

const run = promisify(execFile);

/** SOURCE_DATE_EPOCH of every sample build (2026-01-01T00:00:00Z). */
export const SAMPLE_EPOCH = '1767225600';

/** Build `spec` in `topdir`, writing `<outDir>/<N>-<V>-<R>.<A>.rpm`; returns the new RPM paths. */
export async function rpmbuild(spec: string, topdir: string, outDir: string, defines: Record<string, string> = {}): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const before = new Set(await readdir(outDir));
  const all: Record<string, string> = {
    _topdir: topdir,
    // One temp dir per spec: rpm names its scriptlet temp files from a time-seeded random number,
    // so two rpmbuilds started in the same second in one directory collide ("File exists").
    _tmppath: join(topdir, 'tmp', basename(spec, '.spec')),
    _rpmdir: outDir,
    _rpmfilename: '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
    _buildhost: 'fedostree-samples',
    use_source_date_epoch_as_buildtime: '1',
    clamp_mtime_to_source_date_epoch: '1',
    _binary_filedigest_algorithm: '8',
    packager: 'Fedostree Samples <samples@example.org>',
    vendor: 'Fedostree',
    distribution: 'Fedostree Sample',
    ...defines,
  };
  const args: string[] = [];
  for (const [k, v] of Object.entries(all)) args.push('--define', `${k} ${v}`);
  await mkdir(join(topdir, 'tmp', basename(spec, '.spec')), { recursive: true });
  try {
    await run('rpmbuild', ['-bb', '--quiet', ...args, spec], {
      env: { ...process.env, SOURCE_DATE_EPOCH: SAMPLE_EPOCH, LC_ALL: 'C.UTF-8', TZ: 'UTC', HOME: topdir },
      maxBuffer: 256 << 20,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const msg = (e.stderr ?? e.message).trim().split('\n').slice(-15).join('\n');
    throw new FedostreeError('ERPMBUILD', `rpmbuild ${basename(spec)} failed: ${msg}`, { spec });
  }
  return (await readdir(outDir)).filter((f) => f.endsWith('.rpm') && !before.has(f)).map((f) => join(outDir, f));
}
