/**
 * `fedostree remote add|delete|list|show-url|gpg-import`: remotes in a repository's config.
 */
import type { Command } from 'commander';
import { action, collect, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';
import { addRemote, deleteRemote, listRemotes, getRemote, remoteGpgImport } from '../ostree/index.ts';
import { openRepo, type RepoOpt } from './_options.ts';

function parseSets(sets: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set '${s}': expected KEY=VALUE`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

export function register(program: Command): void {
  const remote = program.command('remote').description('manage remotes of a repository');
  const withRepo = (cmd: Command): Command => cmd.option('--repo <path>', 'repository path (default: $OSTREE_REPO)').option('--json', 'machine-readable output');

  withRepo(remote.command('add').description('add a remote')).argument('<name>').argument('<url>').argument('[branches...]')
    .option('--set <key=value>', 'set a config option', collect)
    .option('--no-gpg-verify', 'do not check OpenPGP signatures')
    .option('--gpg-import <file>', 'import OpenPGP keys from FILE', collect)
    .option('--sign-verify <spec>', 'ed25519=inline:KEY or ed25519=file:PATH', collect)
    .option('--if-not-exists', 'do nothing if the remote exists')
    .action(action(async (name: string, url: string, branches: string[], o: RepoOpt & { set?: string[]; gpgVerify: boolean; gpgImport?: string[]; signVerify?: string[]; ifNotExists?: boolean }) => {
      const set = parseSets(o.set);
      if (branches.length) set.branches = branches.map((b) => `${b};`).join('');
      await addRemote(await openRepo(o), name, url, { set, noGpgVerify: !o.gpgVerify, gpgImport: o.gpgImport, signVerify: o.signVerify, ifNotExists: o.ifNotExists });
    }));

  withRepo(remote.command('delete').description('delete a remote')).argument('<name>')
    .option('--if-exists', 'do nothing if the remote does not exist')
    .action(action(async (name: string, o: RepoOpt & { ifExists?: boolean }) => {
      await deleteRemote(await openRepo(o), name, { ifExists: o.ifExists });
    }));

  withRepo(remote.command('list').description('list remotes'))
    .option('-u, --show-urls', 'show URLs')
    .action(action(async (o: RepoOpt & { showUrls?: boolean }) => {
      const r = await openRepo(o);
      const names = listRemotes(r);
      if (o.json) {
        printJson(await Promise.all(names.map(async (n) => {
          const c = await getRemote(r, n);
          return { name: n, url: c.url, gpgVerify: c.gpgVerify, signVerify: c.signVerify, branches: c.branches };
        })));
        return;
      }
      for (const n of names) process.stdout.write(o.showUrls ? `${n.padEnd(12)}${(await getRemote(r, n)).url}\n` : `${n}\n`);
    }));

  withRepo(remote.command('show-url').description('print a remote\'s URL')).argument('<name>')
    .action(action(async (name: string, o: RepoOpt) => {
      const c = await getRemote(await openRepo(o), name);
      if (o.json) printJson({ name, url: c.url });
      else process.stdout.write(`${c.url}\n`);
    }));

  withRepo(remote.command('gpg-import').description('import OpenPGP keys for a remote')).argument('<name>')
    .option('-k, --keyring <file>', 'key file to import', collect)
    .action(action(async (name: string, o: RepoOpt & { keyring?: string[] }) => {
      if (!o.keyring?.length) throw new UsageError('remote gpg-import needs at least one --keyring=FILE');
      await remoteGpgImport(await openRepo(o), name, o.keyring);
    }));
}
