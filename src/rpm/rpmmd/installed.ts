import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { FormatError, NotFoundError } from '../../util/errors.ts';
import { RpmHeader } from '../header.ts';
import { formatDep, readDeps, type DepKind } from '../deps.ts';
import { Tag } from '../tags.ts';
import type { InstalledPackage } from './resolve.ts';

/**
 * The installed set of an rpmdb directory (sqlite backend: `rpmdb.sqlite`, table `Packages`),
 * as package specs for the solver: NEVRA, dependencies and files. `gpg-pubkey` entries are skipped.
 */
export async function readInstalledSet(dbDir: string): Promise<InstalledPackage[]> {
  const dbPath = join(dbDir, 'rpmdb.sqlite');
  if (!existsSync(dbPath)) throw new NotFoundError(`${dbDir}: no rpmdb.sqlite (only the sqlite rpmdb is supported)`);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(dbPath, { readOnly: true });
  } catch (err) {
    throw new FormatError(`${dbPath}: cannot open: ${(err as Error).message}`);
  }
  try {
    const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all() as Array<{ hnum: number; blob: Uint8Array }>;
    const out: InstalledPackage[] = [];
    for (const row of rows) {
      const h = RpmHeader.fromBlob(row.blob, `${dbPath}: package #${row.hnum}`);
      const name = h.string(Tag.NAME);
      const arch = h.string(Tag.ARCH);
      if (!name || !arch) continue; // gpg-pubkey and other pseudo packages
      const deps = (kind: DepKind): string[] =>
        readDeps(h, kind)
          .filter((d) => !d.rpmlib)
          .map((d) => formatDep(d));
      const base = h.strings(Tag.BASENAMES) ?? [];
      const dirs = h.strings(Tag.DIRNAMES) ?? [];
      const idx = h.numbers(Tag.DIRINDEXES) ?? [];
      const files = base.map((b, i) => `${dirs[idx[i]] ?? ''}${b}`);
      out.push({
        name,
        epoch: h.number(Tag.EPOCH) ?? 0,
        version: h.string(Tag.VERSION) ?? '',
        release: h.string(Tag.RELEASE) ?? '',
        arch,
        provides: deps('provides'),
        requires: deps('requires'),
        conflicts: deps('conflicts'),
        obsoletes: deps('obsoletes'),
        files,
      });
    }
    return out;
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(`${dbPath}: cannot read the Packages table: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}
