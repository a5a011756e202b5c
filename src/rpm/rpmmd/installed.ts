import { formatDep, readDeps, type DepKind } from '../deps.ts';
import { readRpmdb } from '../rpmdb.ts';
import { Tag } from '../tags.ts';
import type { InstalledPackage } from './resolve.ts';

/**
 * The installed set of an rpmdb directory (`rpmdb.sqlite`), as package specs for the solver:
 * NEVRA, dependencies and files. `gpg-pubkey` and other pseudo packages without an arch are skipped.
 */
export async function readInstalledSet(dbDir: string): Promise<InstalledPackage[]> {
  const out: InstalledPackage[] = [];
  for (const p of await readRpmdb(dbDir)) {
    if (!p.arch || p.name === 'gpg-pubkey') continue;
    const h = p.header;
    const deps = (kind: DepKind): string[] =>
      readDeps(h, kind)
        .filter((d) => !d.rpmlib)
        .map((d) => formatDep(d));
    const base = h.strings(Tag.BASENAMES) ?? [];
    const dirs = h.strings(Tag.DIRNAMES) ?? [];
    const idx = h.numbers(Tag.DIRINDEXES) ?? [];
    out.push({
      name: p.name,
      epoch: p.epoch ?? 0,
      version: p.version,
      release: p.release,
      arch: p.arch,
      provides: deps('provides'),
      requires: deps('requires'),
      conflicts: deps('conflicts'),
      obsoletes: deps('obsoletes'),
      files: base.map((b, i) => `${dirs[idx[i]] ?? ''}${b}`),
    });
  }
  return out;
}
