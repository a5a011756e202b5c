import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, mkdirSync, cpSync } from 'node:fs';
import { join } from 'node:path';

/** Build the RPMs of `spec` into `<topdir>/RPMS` with the real rpmbuild; return the .rpm paths. */
export function rpmbuild(spec: string, topdir: string, target = 'x86_64'): string[] {
  execFileSync('rpmbuild', [
    '-bb', '--quiet', '--target', target,
    '--define', `_topdir ${topdir}`,
    '--define', '_build_id_links none',
    '--define', 'debug_package %{nil}',
    '--define', '__os_install_post %{nil}',
    spec,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.rpm')) out.push(p);
    }
  };
  walk(join(topdir, 'RPMS'));
  return out.sort();
}

/** Copy RPMs into `dir` and run the real createrepo_c there; return the paths of primary and filelists. */
export function createrepo(rpmDir: string, dir: string, compress: 'gz' | 'xz' | 'zstd' = 'gz'): { primary: string; filelists: string } {
  mkdirSync(dir, { recursive: true });
  cpSync(rpmDir, dir, { recursive: true });
  execFileSync('createrepo_c', ['-q', '--no-database', `--general-compress-type=${compress}`, dir]);
  const files = readdirSync(join(dir, 'repodata'));
  const find = (kind: string): string => {
    const f = files.find((x) => x.includes(`-${kind}.xml`));
    if (!f) throw new Error(`createrepo_c wrote no ${kind}.xml in ${dir}`);
    return join(dir, 'repodata', f);
  };
  return { primary: find('primary'), filelists: find('filelists') };
}
