import type { Command } from 'commander';
import { action, collect, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';
import { diffRpmdb, locateRpmdb, readRpmdb, type InstalledPackage, type RpmdbChange } from '../rpm/rpmdb.ts';

/** JSON form of an installed package (the raw header left out). */
function pkgJson(p: InstalledPackage): Omit<InstalledPackage, 'header'> {
  const { header: _header, ...rest } = p;
  return rest;
}

/** `name-version-release.arch`, what `rpm -qa` prints. */
const nvra = (p: InstalledPackage): string => `${p.name}-${p.version}-${p.release}.${p.arch}`;
const evr = (p: InstalledPackage): string => `${p.epoch !== undefined ? `${p.epoch}:` : ''}${p.version}-${p.release}`;

/**
 * `fedostree rpm db …`: read the sqlite rpmdb a tree carries. Called by the `rpm` command group.
 */
export function registerRpmDb(rpmCommand: Command): void {
  const db = rpmCommand.command('db').description('list and compare the installed-package database (rpmdb.sqlite) of a tree');

  db.command('list')
    .description('list installed packages in database order, like rpm -qa')
    .option('--dbpath <dir>', 'directory holding rpmdb.sqlite (e.g. ROOT/usr/share/rpm)')
    .option('--root <dir>', 'a tree: use its rpmdb (usr/share/rpm, usr/lib/sysimage/rpm or var/lib/rpm)')
    .option('--json', 'print name, epoch, version, release, arch, summary, size, install time… as JSON')
    .action(
      action(async (o: { dbpath?: string; root?: string; json?: boolean }) => {
        if ((o.dbpath === undefined) === (o.root === undefined)) throw new UsageError('rpm db list: give one of --dbpath DIR or --root DIR');
        const pkgs = await readRpmdb(o.dbpath ?? (await locateRpmdb(o.root ?? '')));
        if (o.json) {
          printJson(pkgs.map(pkgJson));
          return;
        }
        process.stdout.write(pkgs.map((p) => `${nvra(p)}\n`).join(''));
      }),
    );

  db.command('diff')
    .description('show packages upgraded, downgraded, removed and added between two databases, like rpm-ostree db diff')
    .argument('[from]', 'old database directory')
    .argument('[to]', 'new database directory')
    .option('--dbpath <dir>', 'database directory (give twice: old, then new)', collect)
    .option('--root <dir>', 'a tree whose rpmdb to use (give twice: old, then new)', collect)
    .option('--json', 'print the difference as JSON')
    .action(
      action(async (from: string | undefined, to: string | undefined, o: { dbpath?: string[]; root?: string[]; json?: boolean }) => {
        const roots = await Promise.all((o.root ?? []).map((r) => locateRpmdb(r)));
        const dirs = [...(o.dbpath ?? []), ...roots, ...[from, to].filter((x): x is string => x !== undefined)];
        if (dirs.length !== 2) {
          throw new UsageError(`rpm db diff: need exactly two databases (got ${dirs.length}); use 'diff OLD NEW', '--dbpath OLD --dbpath NEW' or '--root OLD --root NEW'`);
        }
        const [a, b] = dirs as [string, string];
        const d = await diffRpmdb(a, b);
        if (o.json) {
          const ch = (c: RpmdbChange): unknown => ({ name: c.name, arch: c.arch, from: pkgJson(c.from), to: pkgJson(c.to) });
          printJson({ from: a, to: b, upgraded: d.upgraded.map(ch), downgraded: d.downgraded.map(ch), removed: d.removed.map(pkgJson), added: d.added.map(pkgJson) });
          return;
        }
        let s = `rpmdb diff from: ${a}\nrpmdb diff to:   ${b}\n`;
        if (d.upgraded.length) s += 'Upgraded:\n' + d.upgraded.map((c) => `  ${c.name} ${evr(c.from)} -> ${evr(c.to)}\n`).join('');
        if (d.downgraded.length) s += 'Downgraded:\n' + d.downgraded.map((c) => `  ${c.name} ${evr(c.from)} -> ${evr(c.to)}\n`).join('');
        if (d.removed.length) s += 'Removed:\n' + d.removed.map((p) => `  ${nvra(p)}\n`).join('');
        if (d.added.length) s += 'Added:\n' + d.added.map((p) => `  ${nvra(p)}\n`).join('');
        if (!d.upgraded.length && !d.downgraded.length && !d.removed.length && !d.added.length) s += 'No changes.\n';
        process.stdout.write(s);
      }),
    );
}
