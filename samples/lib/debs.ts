/**
 * The Debian side: resolve the dependency closure of the input list with the real apt
 * (simulated install against an empty dpkg status, so the host's installed set plays no part)
 * and download the exact versions with `apt-get download` into a cache directory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FedostreeError } from '../../src/util/errors.ts';

const run = promisify(execFile);

/** One resolved Debian package. */
export interface DebRef {
  name: string;
  version: string;
  arch: string;
}

/** The file name `apt-get download` gives a package (epoch colon escaped as %3a). */
export function debFileName(d: DebRef): string {
  return `${d.name}_${d.version.replace(':', '%3a')}_${d.arch}.deb`;
}

/** Parse the `Inst name (version suite [arch])` lines of `apt-get -s install`. */
export function parseAptSimulation(out: string): DebRef[] {
  const refs: DebRef[] = [];
  for (const line of out.split('\n')) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([a-z0-9]+)\]\)/.exec(line);
    if (m) refs.push({ name: m[1], version: m[2], arch: m[3] });
  }
  return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Resolve `names` (without Recommends) to the full closure apt would install on an empty system. */
export async function resolveClosure(names: string[]): Promise<DebRef[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-aptsim-'));
  try {
    await writeFile(join(dir, 'status'), '');
    const { stdout } = await run(
      'apt-get',
      ['-s', '-q', '-o', `Dir::State::status=${join(dir, 'status')}`, '-o', 'APT::Install-Recommends=false', '-o', 'Debug::NoLocking=1', 'install', ...names],
      { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } },
    ).catch((err: { stderr?: string; message: string }) => {
      throw new FedostreeError('EAPT', `resolving the Debian package closure with apt-get: ${err.stderr?.trim() || err.message}`);
    });
    const refs = parseAptSimulation(stdout);
    if (refs.length === 0) throw new FedostreeError('EAPT', 'apt-get resolved no packages (is `apt-get update` done?)');
    return refs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Download every missing .deb into `dir` (one apt-get call); returns the paths in input order. */
export async function downloadDebs(refs: DebRef[], dir: string): Promise<string[]> {
  const have = new Set(await readdir(dir));
  const missing = refs.filter((r) => !have.has(debFileName(r)));
  // apt-get downloads into the current directory; batches keep argv short.
  for (let i = 0; i < missing.length; i += 100) {
    const batch = missing.slice(i, i + 100).map((r) => `${r.name}=${r.version}`);
    await run('apt-get', ['download', '-q', ...batch], { cwd: dir, maxBuffer: 64 << 20 }).catch((err: { stderr?: string; message: string }) => {
      throw new FedostreeError('EAPT', `downloading Debian packages into ${dir}: ${err.stderr?.trim() || err.message}`);
    });
  }
  const now = new Set(await readdir(dir));
  const paths = refs.map((r) => {
    if (!now.has(debFileName(r))) throw new FedostreeError('EAPT', `apt-get download did not produce ${debFileName(r)} in ${dir}`);
    return join(dir, debFileName(r));
  });
  return paths;
}
