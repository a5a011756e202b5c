/**
 * `fedostree repo <verb>`: the repository verbs with ostree's option names.
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { action, collect, intOption, printJson } from './_action.ts';
import { registerRepoDelivery } from './repo-delivery.ts';
import { UsageError, FedostreeError } from '../util/errors.ts';
import {
  OstreeRepo, REPO_MODES, MutableTree, writeDirectoryToMtree, commitTree, mtreeFromRev, checkout, fsck, prune,
  diffCommits, formatDiff, lookupPath, parseMetadataArg, parseMetadataStringArg, formatMetaValue, metaGet,
  S_IFMT, S_IFLNK, type RepoMode, type MetaEntry, type Commit,
} from '../ostree/index.ts';
import { openRepo, type RepoOpt } from './_options.ts';

function parseTimestamp(s: string): bigint {
  if (/^\d+$/.test(s)) return BigInt(s);
  if (/^@\d+$/.test(s)) return BigInt(s.slice(1));
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new UsageError(`--timestamp: cannot parse '${s}' as a date`);
  return BigInt(Math.floor(ms / 1000));
}

function formatDate(ts: bigint): string {
  const d = new Date(Number(ts) * 1000);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
}

function contentChecksumOf(c: Commit): string {
  return createHash('sha256').update(Buffer.from(c.rootTree, 'hex')).update(Buffer.from(c.rootMeta, 'hex')).digest('hex');
}

function formatCommit(checksum: string, c: Commit): string {
  let s = `commit ${checksum}\n`;
  if (c.parent) s += `Parent:  ${c.parent}\n`;
  s += `ContentChecksum:  ${contentChecksumOf(c)}\n`;
  s += `Date:  ${formatDate(c.timestamp)}\n`;
  const v = metaGet(c.metadata, 'version');
  if (v && v.type === 's') s += `Version: ${v.data.subarray(0, v.data.length - 1).toString()}\n`;
  s += `\n    ${c.subject}\n\n`;
  if (c.body) s += c.body.split('\n').map((l) => `    ${l}`).join('\n') + '\n\n';
  return s;
}

function commitJson(checksum: string, c: Commit): Record<string, unknown> {
  const metadata: Record<string, string> = {};
  for (const e of c.metadata) metadata[e.key] = formatMetaValue(e);
  return { checksum, parent: c.parent, subject: c.subject, body: c.body, timestamp: Number(c.timestamp), rootTree: c.rootTree, rootMeta: c.rootMeta, metadata };
}

export function register(program: Command): void {
  const repo = program.command('repo').description('OSTree repository operations (ostree-compatible options)');
  registerRepoDelivery(repo);
  const withRepo = (cmd: Command): Command => cmd.option('--repo <path>', 'repository path (default: $OSTREE_REPO)').option('--json', 'machine-readable output');

  withRepo(repo.command('init').description('create a repository'))
    .option('--mode <mode>', `repository mode: ${REPO_MODES.join(', ')}`, 'bare')
    .option('--collection-id <id>', 'collection ID')
    .action(action(async (o: RepoOpt & { mode: string; collectionId?: string }) => {
      const path = o.repo ?? process.env.OSTREE_REPO;
      if (!path) throw new UsageError('--repo=PATH is required');
      const mode = o.mode === 'archive-z2' ? 'archive' : o.mode;
      if (!(REPO_MODES as readonly string[]).includes(mode)) throw new UsageError(`--mode: invalid mode '${o.mode}' (expected ${REPO_MODES.join(', ')})`);
      const r = await OstreeRepo.init(path, mode as RepoMode, { collectionId: o.collectionId });
      if (o.json) printJson({ path: r.path, mode: r.mode });
    }));

  withRepo(repo.command('commit').description('commit a directory (or trees) to a branch'))
    .argument('[path]', 'directory to commit')
    .option('-b, --branch <ref>', 'branch to move')
    .option('-s, --subject <text>', 'one-line subject', '')
    .option('-m, --body <text>', 'full description', '')
    .option('--parent <rev>', "parent commit ('none' for none)")
    .option('--tree <spec>', 'dir=PATH or ref=REF (repeatable, later on top)', collect)
    .option('--timestamp <date>', 'commit time (default: SOURCE_DATE_EPOCH or now)')
    .option('--add-metadata-string <key=value>', 'add a string metadata key', collect)
    .option('--add-metadata <key=value>', 'add a metadata key with a GVariant text value', collect)
    .option('--owner-uid <uid>', 'set file ownership uid', intOption('--owner-uid'))
    .option('--owner-gid <gid>', 'set file ownership gid', intOption('--owner-gid'))
    .option('--no-xattrs', 'do not import extended attributes')
    .option('--no-bindings', 'do not add ostree.ref-binding metadata')
    .option('--orphan', 'create a commit without a branch')
    .option('--link-checkout-speedup', 'reuse checksums of hardlinked objects (always on)')
    .action(action(async (path: string | undefined, o: RepoOpt & {
      branch?: string; subject: string; body: string; parent?: string; tree?: string[]; timestamp?: string;
      addMetadataString?: string[]; addMetadata?: string[]; ownerUid?: number; ownerGid?: number; xattrs: boolean; bindings: boolean; orphan?: boolean;
    }) => {
      const r = await openRepo(o);
      if (!o.branch && !o.orphan) throw new UsageError('commit: a branch is required (-b BRANCH), or --orphan');
      const trees = [...(o.tree ?? []), ...(path ? [`dir=${path}`] : [])];
      if (trees.length === 0) throw new UsageError('commit: nothing to commit (give a PATH or --tree=dir=PATH)');
      // Metadata in command-line order, like ostree: strings first as given, then typed ones.
      const metadata: MetaEntry[] = [];
      const argv = process.argv;
      const ordered: Array<[number, MetaEntry]> = [];
      const positions = (flag: string): number[] => argv.flatMap((a, i) => (a === flag || a.startsWith(flag + '=') ? [i] : []));
      const ps = positions('--add-metadata-string');
      const pm = positions('--add-metadata');
      (o.addMetadataString ?? []).forEach((m, i) => ordered.push([ps[i] ?? i, parseMetadataStringArg(m)]));
      (o.addMetadata ?? []).forEach((m, i) => ordered.push([pm[i] ?? 1e9 + i, parseMetadataArg(m)]));
      ordered.sort((a, b) => a[0] - b[0]);
      for (const [, e] of ordered) {
        const at = metadata.findIndex((x) => x.key === e.key);
        if (at >= 0) metadata[at] = e;
        else metadata.push(e);
      }
      const lock = await r.lock(false);
      try {
        let mtree = new MutableTree();
        for (const spec of trees) {
          const eq = spec.indexOf('=');
          const kind = spec.slice(0, eq);
          const val = spec.slice(eq + 1);
          if (kind === 'dir') await writeDirectoryToMtree(r, val, mtree, { ownerUid: o.ownerUid, ownerGid: o.ownerGid, noXattrs: !o.xattrs });
          else if (kind === 'ref') {
            if (mtree.files.size || mtree.dirs.size) throw new UsageError('--tree=ref= must come first');
            mtree = await mtreeFromRev(r, val);
          } else throw new UsageError(`--tree: invalid '${spec}' (expected dir=PATH or ref=REF)`);
        }
        const checksum = await commitTree(r, mtree, {
          branch: o.branch, orphan: o.orphan, subject: o.subject, body: o.body,
          parent: o.parent === undefined ? undefined : o.parent === 'none' ? null : await r.resolveRev(o.parent),
          timestamp: o.timestamp ? parseTimestamp(o.timestamp) : undefined,
          metadata, noBindings: !o.bindings,
        });
        if (o.json) printJson({ commit: checksum, branch: o.branch ?? null });
        else process.stdout.write(`${checksum}\n`);
      } finally {
        await lock.release();
      }
    }));

  withRepo(repo.command('checkout').description('check out a commit into a directory'))
    .argument('<rev>').argument('<dest>')
    .option('-U, --user-mode', 'do not change file ownership or set xattrs')
    .option('-H, --require-hardlinks', 'fail unless hardlinks can be used')
    .option('-C, --force-copy', 'never hardlink')
    .option('--union', 'keep existing directory, overwrite existing files')
    .option('--subpath <path>', 'check out this subdirectory only')
    .action(action(async (rev: string, dest: string, o: RepoOpt & { userMode?: boolean; requireHardlinks?: boolean; forceCopy?: boolean; union?: boolean; subpath?: string }) => {
      const r = await openRepo(o);
      const c = await checkout(r, rev, dest, {
        userMode: o.userMode, union: o.union, subpath: o.subpath,
        hardlinks: o.forceCopy ? false : o.requireHardlinks ? true : 'auto',
      });
      if (o.json) printJson({ commit: c, dest });
    }));

  withRepo(repo.command('log').description('show the history of a ref')).argument('<rev>')
    .action(action(async (rev: string, o: RepoOpt) => {
      const r = await openRepo(o);
      let cur: string | null = await r.resolveRev(rev);
      const out: Array<Record<string, unknown>> = [];
      while (cur) {
        if (!(await r.hasObject(cur, 'commit'))) {
          if (!o.json) process.stdout.write(`<< History beyond this commit not fetched >>\n`);
          break;
        }
        const c = await r.readCommit(cur);
        if (o.json) out.push(commitJson(cur, c));
        else process.stdout.write(formatCommit(cur, c));
        cur = c.parent;
      }
      if (o.json) printJson(out);
    }));

  withRepo(repo.command('show').description('show a commit')).argument('<rev>')
    .option('--print-metadata-key <key>', 'print one metadata value')
    .option('--raw', 'print the commit variant as GVariant text')
    .action(action(async (rev: string, o: RepoOpt & { printMetadataKey?: string; raw?: boolean }) => {
      const r = await openRepo(o);
      const cs = (await r.resolveRev(rev)) ?? '';
      const c = await r.readCommit(cs);
      if (o.printMetadataKey) {
        const e = metaGet(c.metadata, o.printMetadataKey);
        if (!e) throw new FedostreeError('ENOTFOUND', `commit ${cs}: no metadata key '${o.printMetadataKey}'`);
        process.stdout.write(`${formatMetaValue(e)}\n`);
      } else if (o.json) printJson(commitJson(cs, c));
      else process.stdout.write(formatCommit(cs, c));
    }));

  withRepo(repo.command('ls').description('list a commit\'s files')).argument('<rev>').argument('[paths...]')
    .option('-R, --recursive', 'recurse into directories')
    .option('-C, --checksum', 'print checksums')
    .option('-d, --dironly', 'list the directory itself only')
    .action(action(async (rev: string, paths: string[], o: RepoOpt & { recursive?: boolean; checksum?: boolean; dironly?: boolean }) => {
      const r = await openRepo(o);
      const c = await r.readCommit((await r.resolveRev(rev)) ?? '');
      const lines: string[] = [];
      const json: Array<Record<string, unknown>> = [];
      const line = async (type: string, mode: number, uid: number, gid: number, size: number, path: string, sums: string, target?: string): Promise<void> => {
        json.push({ type, mode, uid, gid, size, path, checksum: sums || undefined, target });
        const m = `${type}0${(mode & 0o7777).toString(8).padStart(4, '0')}`;
        lines.push(`${m} ${uid} ${gid} ${String(size).padStart(6)} ${sums ? sums + ' ' : ''}${path}${target !== undefined ? ` -> ${target}` : ''}`);
      };
      const showFile = async (path: string, checksum: string): Promise<void> => {
        const { header, size } = await r.readFileHeader(checksum);
        const link = (header.mode & S_IFMT) === S_IFLNK;
        await line(link ? 'l' : '-', header.mode, header.uid, header.gid, size, path, o.checksum ? checksum : '', link ? header.symlinkTarget : undefined);
      };
      const showDir = async (path: string, tree: string, meta: string, recurse: boolean, top: boolean): Promise<void> => {
        const m = await r.readDirMeta(meta);
        await line('d', m.mode, m.uid, m.gid, 0, path, o.checksum ? `${tree} ${meta}` : '');
        if (!(top || recurse) || o.dironly) return;
        const dt = await r.readDirTree(tree);
        const base = path === '/' ? '' : path;
        for (const f of dt.files) await showFile(`${base}/${f.name}`, f.checksum);
        for (const d of dt.dirs) {
          if (recurse) await showDir(`${base}/${d.name}`, d.tree, d.meta, true, false);
          else {
            const dm = await r.readDirMeta(d.meta);
            await line('d', dm.mode, dm.uid, dm.gid, 0, `${base}/${d.name}`, o.checksum ? `${d.tree} ${d.meta}` : '');
          }
        }
      };
      for (const p of paths.length ? paths : ['/']) {
        const e = await lookupPath(r, c.rootTree, c.rootMeta, p);
        const abs = '/' + e.path;
        if (e.kind === 'dir') await showDir(abs, e.tree, e.meta, o.recursive ?? false, true);
        else await showFile(abs, e.checksum);
      }
      if (o.json) printJson(json);
      else process.stdout.write(lines.map((l) => l + '\n').join(''));
    }));

  withRepo(repo.command('cat').description('print a file of a commit')).argument('<rev>').argument('<paths...>')
    .action(action(async (rev: string, paths: string[], o: RepoOpt) => {
      const r = await openRepo(o);
      const c = await r.readCommit((await r.resolveRev(rev)) ?? '');
      for (const p0 of paths) {
        let p = p0;
        for (let hops = 0; ; hops++) {
          const e = await lookupPath(r, c.rootTree, c.rootMeta, p);
          if (e.kind === 'dir') throw new UsageError(`cat: ${p0} is a directory`);
          const f = await r.loadFile(e.checksum);
          if ((f.header.mode & S_IFMT) === S_IFLNK) {
            if (hops > 40) throw new FedostreeError('ELOOP', `cat: ${p0}: too many levels of symbolic links`);
            const t = f.header.symlinkTarget;
            p = t.startsWith('/') ? t : `${p.split('/').slice(0, -1).join('/')}/${t}`;
            continue;
          }
          for await (const chunk of f.open()) process.stdout.write(chunk as Buffer);
          break;
        }
      }
    }));

  withRepo(repo.command('refs').description('list, create or delete refs')).argument('[prefixes...]')
    .option('--create <ref>', 'create REF pointing at the given existing rev')
    .option('--delete', 'delete the given refs')
    .action(action(async (args: string[], o: RepoOpt & { create?: string; delete?: boolean }) => {
      const r = await openRepo(o);
      if (o.create) {
        if (args.length !== 1) throw new UsageError('refs --create=REF needs exactly one existing rev');
        await r.setRef(o.create, (await r.resolveRev(args[0])) ?? '');
        return;
      }
      if (o.delete) {
        if (args.length === 0) throw new UsageError('refs --delete needs at least one ref');
        for (const a of args) {
          await r.resolveRev(a);
          await r.setRef(a, null);
        }
        return;
      }
      const refs = await r.listRefs(args[0]);
      if (o.json) printJson(Object.fromEntries(refs));
      else process.stdout.write([...refs.keys()].map((k) => k + '\n').join(''));
    }));

  withRepo(repo.command('rev-parse').description('print the checksum of a rev')).argument('<rev>')
    .action(action(async (rev: string, o: RepoOpt) => {
      const r = await openRepo(o);
      process.stdout.write(`${await r.resolveRev(rev)}\n`);
    }));

  withRepo(repo.command('diff').description('compare two commits')).argument('<a>').argument('<b>')
    .action(action(async (a: string, b: string, o: RepoOpt) => {
      const r = await openRepo(o);
      const d = await diffCommits(r, a, b);
      if (o.json) printJson(d);
      else process.stdout.write(formatDiff(d));
    }));

  withRepo(repo.command('fsck').description('check every object and reachability'))
    .option('--delete', 'delete corrupt objects')
    .option('-q, --quiet', 'only print errors')
    .action(action(async (o: RepoOpt & { delete?: boolean; quiet?: boolean }) => {
      const r = await openRepo(o);
      const res = await fsck(r, { delete: o.delete });
      if (o.json) printJson(res);
      else {
        for (const p of res.problems) process.stderr.write(`error: ${p.type} ${p.checksum}: ${p.message}\n`);
        if (!o.quiet) process.stdout.write(`Validated ${res.objects} objects in ${res.commits} commits; ${res.problems.length} problems${o.delete ? `, ${res.deleted} deleted` : ''}\n`);
      }
      if (res.problems.length) process.exitCode = 1;
    }));

  withRepo(repo.command('prune').description('delete unreachable objects'))
    .option('--refs-only', 'only refs are roots')
    .option('--depth <n>', 'history depth to keep (-1 = all)', intOption('--depth'))
    .option('--keep-younger-than <date>', 'delete history older than this date')
    .option('--delete-commit <rev>', 'delete this commit', collect)
    .option('--no-prune', 'only report what would be deleted')
    .action(action(async (o: RepoOpt & { refsOnly?: boolean; depth?: number; keepYoungerThan?: string; deleteCommit?: string[]; prune: boolean }) => {
      const r = await openRepo(o);
      const deleteCommits: string[] = [];
      for (const d of o.deleteCommit ?? []) deleteCommits.push((await r.resolveRev(d)) ?? '');
      const res = await prune(r, {
        refsOnly: o.refsOnly, depth: o.depth, deleteCommits, dryRun: !o.prune,
        keepYoungerThan: o.keepYoungerThan ? parseTimestamp(o.keepYoungerThan) : undefined,
      });
      if (o.json) printJson(res);
      else process.stdout.write(`Total objects: ${res.total}\n${res.pruned ? `Deleted ${res.pruned} objects, ${res.bytesFreed} bytes freed` : 'No unreachable objects'}\n`);
    }));
}
