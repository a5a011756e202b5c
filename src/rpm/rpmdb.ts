import { DatabaseSync } from 'node:sqlite';
import { chmod, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FedostreeError, FormatError, NotFoundError, withContext } from '../util/errors.ts';
import { fsyncDir, tempPathFor } from '../util/atomic.ts';
import { RpmHeader } from './header.ts';
import { Tag } from './tags.ts';
import { comparePackageEVR } from './version.ts';
import { installedHeader } from './rpmdb-header.ts';
import { RPMDB_INDEXES, indexRows } from './rpmdb-index.ts';

/**
 * The sqlite rpmdb (rpm ≥ 4.16, `rpmdb.sqlite`): a Packages table of installed headers keyed by
 * hnum, plus one index table per indexed tag with (key, hnum, idx) rows.
 */

/** File name of the database inside the db directory. */
export const RPMDB_FILE = 'rpmdb.sqlite';

/** A package to record as installed. */
export interface RpmdbInput {
  /**
   * The package's main header — or a header already in installed form (read from another rpmdb,
   * e.g. the base tree's when layering), which is kept byte for byte with its install time.
   */
  header: RpmHeader;
  /** The package's signature header (its digests and signatures are merged in, like rpm does). */
  signature?: RpmHeader | undefined;
  /** FILESTATES per file (default: all installed normally). */
  fileStates?: readonly number[] | undefined;
}

export interface WriteRpmdbOptions {
  /**
   * Install time (seconds since the epoch), e.g. SOURCE_DATE_EPOCH. The i-th newly installed
   * package (in hnum order) gets installTime + i, as rpm does.
   */
  installTime: number;
  /** Transaction id (default: installTime). */
  installTid?: number;
  /** Transaction color (default 3, what rpm uses on x86_64 and aarch64). */
  installColor?: number;
  /** Keep the given order instead of sorting by name, EVR and arch. */
  keepOrder?: boolean;
}

/** An installed package as listed from an rpmdb. */
export interface InstalledPackage {
  hnum: number;
  name: string;
  epoch: number | undefined;
  version: string;
  release: string;
  arch: string;
  /** name-[epoch:]version-release.arch */
  nevra: string;
  summary: string;
  size: number;
  installTime: number;
  buildTime: number;
  license: string;
  sourceRpm: string;
  sha1header: string | undefined;
  header: RpmHeader;
}

/** The exact DDL rpm issues (so the stored schema matches what rpm itself creates). */
function schema(): string[] {
  const out = ["CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)"];
  for (const ix of RPMDB_INDEXES) {
    out.push(
      `CREATE TABLE IF NOT EXISTS '${ix.table}' (key '${ix.keyType}' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))`,
    );
    if (ix.keyIndex) out.push(`CREATE INDEX IF NOT EXISTS '${ix.table}_key_idx' ON '${ix.table}'(key ASC)`);
    if (ix.hnumIndex) out.push(`CREATE INDEX IF NOT EXISTS '${ix.table}_hnum_idx' ON '${ix.table}'(hnum ASC)`);
  }
  return out;
}

const str = (h: RpmHeader, tag: number): string => (h.has(tag) ? (h.string(tag) ?? '') : '');

function nevraOf(h: RpmHeader): { name: string; epoch: number | undefined; version: string; release: string; arch: string; nevra: string } {
  const name = str(h, Tag.NAME);
  const epoch = h.has(Tag.EPOCH) ? h.number(Tag.EPOCH) : undefined;
  const version = str(h, Tag.VERSION);
  const release = str(h, Tag.RELEASE);
  // rpm shows source packages and arch-less headers with "(none)"
  const arch = h.has(Tag.ARCH) ? str(h, Tag.ARCH) : '(none)';
  const e = epoch !== undefined ? `${epoch}:` : '';
  return { name, epoch, version, release, arch, nevra: `${name}-${e}${version}-${release}.${arch}` };
}

function sortKey(a: RpmHeader, b: RpmHeader): number {
  const x = nevraOf(a);
  const y = nevraOf(b);
  if (x.name !== y.name) return x.name < y.name ? -1 : 1;
  const c = comparePackageEVR(x, y);
  if (c) return c;
  return x.arch < y.arch ? -1 : x.arch > y.arch ? 1 : 0;
}

/** Is `h` a header as an rpmdb stores it (install tags after the immutable region)? */
export function isInstalledHeader(h: RpmHeader): boolean {
  return h.region !== undefined && h.region.ril < h.entryList.length && h.has(Tag.INSTALLTID);
}

/**
 * Write `dbDir/rpmdb.sqlite` recording `packages` as installed. Reproducible: the same packages and
 * options give the same bytes. Atomic: the database is built under a temporary name and renamed
 * into place, so readers see the old database or the complete new one.
 */
export async function writeRpmdb(dbDir: string, packages: readonly RpmdbInput[], opts: WriteRpmdbOptions): Promise<void> {
  const { installTime } = opts;
  if (!Number.isInteger(installTime) || installTime < 0 || installTime > 0xffffffff) {
    throw new FedostreeError('EINVAL', `rpmdb ${dbDir}: install time ${installTime} is not a valid 32-bit timestamp`);
  }
  const list = opts.keepOrder ? [...packages] : [...packages].sort((a, b) => sortKey(a.header, b.header));
  let fresh = 0;
  const headers = list.map((p) =>
    isInstalledHeader(p.header)
      ? p.header
      : installedHeader(p.header, p.signature, {
          installTime: installTime + fresh++,
          installTid: opts.installTid ?? installTime,
          installColor: opts.installColor ?? 3,
          fileStates: p.fileStates,
        }),
  );

  await mkdir(dbDir, { recursive: true });
  const final = join(dbDir, RPMDB_FILE);
  const build = tempPathFor(final);
  try {
    const db = new DatabaseSync(build);
    try {
      db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA page_size = 4096; PRAGMA encoding = 'UTF-8'");
      db.exec('BEGIN');
      const ddl = schema();
      for (const sql of ddl) if (!sql.startsWith('CREATE INDEX')) db.exec(sql);
      const putPkg = db.prepare('INSERT INTO Packages (hnum, blob) VALUES (?, ?)');
      // Rows go in per table in batches of multi-row INSERTs (same row order as one at a time,
      // far fewer statement runs for trees with hundreds of thousands of files).
      const BATCH = 256;
      const batchSql = (table: string, n: number): string => `INSERT INTO '${table}' VALUES ${new Array(n).fill('(?, ?, ?)').join(', ')}`;
      const full = RPMDB_INDEXES.map((ix) => db.prepare(batchSql(ix.table, BATCH)));
      const pending: Array<Array<string | Uint8Array | number>> = RPMDB_INDEXES.map(() => []);
      const flush = (k: number, force: boolean): void => {
        const p = pending[k];
        while (p.length >= BATCH * 3 || (force && p.length > 0)) {
          const n = Math.min(BATCH, p.length / 3);
          const args = p.splice(0, n * 3);
          (n === BATCH ? full[k] : db.prepare(batchSql(RPMDB_INDEXES[k].table, n))).run(...args);
        }
      };
      headers.forEach((h, i) => {
        const hnum = i + 1;
        putPkg.run(hnum, h.blob);
        RPMDB_INDEXES.forEach((ix, k) => {
          for (const row of indexRows(ix, h)) pending[k].push(row.key, hnum, row.idx);
          flush(k, false);
        });
      });
      RPMDB_INDEXES.forEach((_ix, k) => flush(k, true));
      // indexes built once over the loaded tables (a sorted build, much faster than row by row)
      for (const sql of ddl) if (sql.startsWith('CREATE INDEX')) db.exec(sql);
      db.exec('COMMIT');
    } finally {
      db.close();
    }
    // One fresh file built by one fixed sequence of statements: same input, same pages. It is in
    // rollback-journal mode, so it can be read from read-only media without -wal/-shm files.
    const fh = await open(build, 'r+');
    try {
      await fh.chmod(0o644);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(build, final);
    await fsyncDir(dbDir);
    // rpm takes its lock on this file; create it so read-only trees do not need to.
    const lock = join(dbDir, '.rpm.lock');
    if (!(await stat(lock).catch(() => undefined))) {
      await writeFile(lock, '', { mode: 0o644 });
      await chmod(lock, 0o644);
    }
  } catch (err) {
    withContext(`writing rpmdb ${final}`, err);
  } finally {
    await rm(build, { force: true });
    await rm(`${build}-journal`, { force: true });
  }
}

/** Where a tree keeps its rpmdb, in the order rpm-based systems look (OSTree trees use usr/share/rpm). */
export const RPMDB_LOCATIONS: readonly string[] = ['usr/share/rpm', 'usr/lib/sysimage/rpm', 'var/lib/rpm'];

/** The rpmdb directory of the tree at `root` (the first of RPMDB_LOCATIONS holding rpmdb.sqlite). */
export async function locateRpmdb(root: string): Promise<string> {
  for (const rel of RPMDB_LOCATIONS) {
    const dir = join(root, rel);
    if ((await stat(join(dir, RPMDB_FILE)).catch(() => undefined))?.isFile()) return dir;
  }
  throw new NotFoundError(`no rpmdb under ${root} (looked in ${RPMDB_LOCATIONS.join(', ')})`, { root });
}

/** Read the installed packages from `dbDir/rpmdb.sqlite`, in hnum order. */
export async function readRpmdb(dbDir: string): Promise<InstalledPackage[]> {
  const file = join(dbDir, RPMDB_FILE);
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new NotFoundError(`no rpmdb at ${file}`, { path: file });
  let rows: Array<Record<string, unknown>>;
  try {
    rows = selectPackages(file);
  } catch {
    // A db in WAL mode on read-only media has no -shm to open; read it as immutable instead.
    const url = pathToFileURL(file);
    url.searchParams.set('immutable', '1');
    try {
      rows = selectPackages(url);
    } catch (err) {
      throw new FormatError(`rpmdb ${file}: not a readable rpm sqlite database: ${(err as Error).message}`, { path: file });
    }
  }
  return rows.map((r) => {
    const hnum = Number(r.hnum);
    if (!(r.blob instanceof Uint8Array)) throw new FormatError(`rpmdb ${file}: package ${hnum}: blob is not binary`, { hnum });
    const h = RpmHeader.fromBlob(r.blob, `rpmdb ${file}: package ${hnum}`);
    return toInstalled(hnum, h);
  });
}

function selectPackages(file: string | URL): Array<Record<string, unknown>> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all();
  } finally {
    db.close();
  }
}

function toInstalled(hnum: number, h: RpmHeader): InstalledPackage {
  const n = nevraOf(h);
  const num = (tag: number): number => (h.has(tag) ? (h.number(tag) ?? 0) : 0);
  const size = h.has(Tag.LONGSIZE) ? Number(h.bigints(Tag.LONGSIZE)?.[0] ?? 0n) : num(Tag.SIZE);
  return {
    hnum,
    ...n,
    summary: str(h, Tag.SUMMARY),
    size,
    installTime: num(Tag.INSTALLTIME),
    buildTime: num(Tag.BUILDTIME),
    license: str(h, Tag.LICENSE),
    sourceRpm: str(h, Tag.SOURCERPM),
    sha1header: h.has(Tag.SHA1HEADER) ? h.string(Tag.SHA1HEADER) : undefined,
    header: h,
  };
}

/** A package whose version changed between two rpmdbs. */
export interface RpmdbChange {
  name: string;
  arch: string;
  from: InstalledPackage;
  to: InstalledPackage;
}

export interface RpmdbDiff {
  added: InstalledPackage[];
  removed: InstalledPackage[];
  upgraded: RpmdbChange[];
  downgraded: RpmdbChange[];
}

/**
 * Compare two package sets (or two db directories): packages are paired by name and arch (by
 * name alone when each side has exactly one package of that name, so an arch change is an
 * upgrade rather than a remove plus an add). Lists are sorted by name.
 */
export async function diffRpmdb(a: string | readonly InstalledPackage[], b: string | readonly InstalledPackage[]): Promise<RpmdbDiff> {
  const old = typeof a === 'string' ? await readRpmdb(a) : a;
  const neu = typeof b === 'string' ? await readRpmdb(b) : b;
  return diffPackages(old, neu);
}

/** Pure form of diffRpmdb over two package lists. */
export function diffPackages(old: readonly InstalledPackage[], neu: readonly InstalledPackage[]): RpmdbDiff {
  const byName = (l: readonly InstalledPackage[]): Map<string, InstalledPackage[]> => {
    const m = new Map<string, InstalledPackage[]>();
    for (const p of l) m.set(p.name, [...(m.get(p.name) ?? []), p]);
    return m;
  };
  const A = byName(old);
  const B = byName(neu);
  const diff: RpmdbDiff = { added: [], removed: [], upgraded: [], downgraded: [] };
  const pair = (x: InstalledPackage, y: InstalledPackage): void => {
    const c = comparePackageEVR(x, y);
    if (c < 0) diff.upgraded.push({ name: y.name, arch: y.arch, from: x, to: y });
    else if (c > 0) diff.downgraded.push({ name: y.name, arch: y.arch, from: x, to: y });
  };
  for (const name of new Set([...A.keys(), ...B.keys()])) {
    let xs = A.get(name) ?? [];
    let ys = B.get(name) ?? [];
    // identical packages on both sides are unchanged (matters for multi-version installs like kernels)
    const same = new Set(xs.map((x) => x.nevra).filter((n) => ys.some((y) => y.nevra === n)));
    xs = xs.filter((x) => !same.has(x.nevra));
    ys = ys.filter((y) => !same.has(y.nevra));
    if (xs.length === 1 && ys.length === 1) {
      pair(xs[0], ys[0]);
      continue;
    }
    const rest = [...ys];
    for (const x of xs) {
      const k = rest.findIndex((y) => y.arch === x.arch);
      if (k < 0) {
        diff.removed.push(x);
        continue;
      }
      pair(x, rest[k]);
      rest.splice(k, 1);
    }
    diff.added.push(...rest);
  }
  const byNevra = (p: InstalledPackage, q: InstalledPackage): number => (p.nevra < q.nevra ? -1 : p.nevra > q.nevra ? 1 : 0);
  diff.added.sort(byNevra);
  diff.removed.sort(byNevra);
  diff.upgraded.sort((p, q) => byNevra(p.to, q.to));
  diff.downgraded.sort((p, q) => byNevra(p.to, q.to));
  return diff;
}
