import type { Command } from 'commander';
import { action, collect, printJson } from './_action.ts';
import { NotFoundError } from '../util/errors.ts';
import type { DownloadItem } from '../rpm/rpmmd/download.ts';
import type { PrimaryPackage } from '../rpm/rpmmd/primary.ts';
import type { RepoSet, RepoSetOptions } from '../rpm/rpmmd/reposet.ts';
import type { LoadedRepo } from '../rpm/rpmmd/repo.ts';

/** Load the enabled repositories (modules imported on use, so startup stays light). */
async function loadRepoSet(opts: RepoSetOptions): Promise<RepoSet> {
  return (await import('../rpm/rpmmd/reposet.ts')).loadRepoSet(opts);
}

/** Options shared by every command that reads rpm-md repositories. */
export interface RepoCliOptions {
  repoFile?: string[];
  repo?: string[];
  releasever?: string;
  arch?: string;
  cachedir?: string;
  enablerepo?: string[];
  json?: boolean;
}

/** Add the repository selection options (dnf spellings) to a command. */
export function addRepoOptions(cmd: Command): Command {
  return cmd
    .option('--repo-file <file>', 'read repositories from a .repo file (repeatable)', collect)
    .option('--repo <url>', 'a repository base URL or path (repeatable)', collect)
    .option('--releasever <ver>', 'value of $releasever')
    .option('--arch <arch>', 'target architecture (default: this machine)')
    .option('--cachedir <dir>', 'metadata cache directory')
    .option('--enablerepo <id>', 'use only these repository ids, enabled or not (repeatable)', collect)
    .option('--json', 'print JSON');
}

/** Translate CLI options into library options. */
export function repoSetOptions(o: RepoCliOptions, extra: Partial<RepoSetOptions> = {}): RepoSetOptions {
  return { repoFiles: o.repoFile, repoUrls: o.repo, releasever: o.releasever, arch: o.arch, cachedir: o.cachedir, enable: o.enablerepo, ...extra };
}

function globRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

async function allPackages(repos: LoadedRepo[]): Promise<Array<PrimaryPackage & { repo: LoadedRepo }>> {
  const { scanPrimary } = await import('../rpm/rpmmd/primary.ts');
  const out: Array<PrimaryPackage & { repo: LoadedRepo }> = [];
  for (const r of repos) for await (const p of scanPrimary(r.primary, `repo ${r.config.id}: ${r.primary}`)) out.push({ ...p, repo: r });
  return out;
}

export function register(program: Command): void {
  const group = program.command('rpm-md').description('inspect rpm-md repositories: metadata, groups, packages, downloads');

  addRepoOptions(group.command('info').description('repository id, URL, revision and package count')).action(
    action(async (o: RepoCliOptions) => {
      const set = await loadRepoSet(repoSetOptions(o, { filelists: false }));
      const { primaryPackageCount } = await import('../rpm/rpmmd/primary.ts');
      const { readComps } = await import('../rpm/rpmmd/repo.ts');
      const rows = [];
      for (const r of set.repos) {
        rows.push({
          id: r.config.id,
          name: r.config.name,
          url: r.baseurl,
          revision: r.repomd.revision,
          packages: await primaryPackageCount(r.primary, `repo ${r.config.id}: primary`),
          groups: (await readComps(r)).groups.length,
          repomdSha256: r.repomdSha256,
          metadata: [...r.repomd.records.keys()].sort(),
        });
      }
      if (o.json) return printJson(rows);
      for (const r of rows) {
        process.stdout.write(`id:        ${r.id}\nname:      ${r.name}\nurl:       ${r.url}\nrevision:  ${r.revision}\npackages:  ${r.packages}\ngroups:    ${r.groups}\nrepomd:    sha256:${r.repomdSha256}\nmetadata:  ${r.metadata.join(' ')}\n\n`);
      }
    }),
  );

  addRepoOptions(group.command('groups').description('comps groups: ids, names and package lists').argument('[group...]', 'show only these groups (id or name)')).action(
    action(async (names: string[], o: RepoCliOptions) => {
      const set = await loadRepoSet(repoSetOptions(o, { filelists: false }));
      const { findGroup } = await import('../rpm/rpmmd/comps.ts');
      let groups = set.comps.groups;
      if (names.length) {
        groups = names.map((n) => {
          const g = findGroup(set.comps, n);
          if (!g) throw new NotFoundError(`group '${n}' is not defined by any enabled repository`);
          return g;
        });
      } else {
        groups = [...groups].sort((a, b) => (a.id < b.id ? -1 : 1));
      }
      if (o.json) return printJson({ groups, environments: set.comps.environments });
      for (const g of groups) {
        process.stdout.write(`${g.id}\t${g.name}${g.uservisible ? '' : '\t(hidden)'}\n`);
        for (const p of g.packages) process.stdout.write(`  ${p.type}\t${p.name}${p.requires ? `\t(if ${p.requires})` : ''}\n`);
      }
      for (const e of names.length ? [] : set.comps.environments) process.stdout.write(`^${e.id}\t${e.name}\n  groups\t${e.groups.join(' ')}\n`);
    }),
  );

  addRepoOptions(group.command('list').description('package NEVRAs, optionally matching name globs').argument('[glob...]', 'package name globs')).action(
    action(async (globs: string[], o: RepoCliOptions) => {
      const set = await loadRepoSet(repoSetOptions(o, { filelists: false }));
      const res = globs.map(globRe);
      const pkgs = (await allPackages(set.repos)).filter((p) => res.length === 0 || res.some((re) => re.test(p.name) || re.test(p.nevra)));
      const rows = pkgs.map((p) => ({ nevra: p.nevra, repo: p.repo.config.id })).sort((a, b) => (a.nevra < b.nevra ? -1 : a.nevra > b.nevra ? 1 : a.repo < b.repo ? -1 : 1));
      if (o.json) return printJson(rows);
      for (const r of rows) process.stdout.write(`${r.nevra}\t${r.repo}\n`);
    }),
  );

  addRepoOptions(
    group
      .command('download')
      .description('download packages (best version of each name, or exact NEVRAs) with checksum checks and resume')
      .argument('<pkg...>', 'package names, globs or NEVRAs')
      .requiredOption('-d, --destdir <dir>', 'directory to download into')
      .option('--parallel <n>', 'parallel transfers', '4'),
  ).action(
    action(async (specs: string[], o: RepoCliOptions & { destdir: string; parallel: string }) => {
      const set = await loadRepoSet(repoSetOptions(o, { filelists: false }));
      const pkgs = await allPackages(set.repos);
      const { comparePackageEVR } = await import('../rpm/version.ts');
      const { downloadPackages } = await import('../rpm/rpmmd/download.ts');
      const chosen: Array<PrimaryPackage & { repo: LoadedRepo }> = [];
      for (const spec of specs) {
        const re = globRe(spec);
        const exact = pkgs.filter((p) => p.nevra === spec);
        const matching = exact.length ? exact : pkgs.filter((p) => re.test(p.name));
        if (matching.length === 0) throw new NotFoundError(`no package matches '${spec}' in the enabled repositories`);
        const byName = new Map<string, PrimaryPackage & { repo: LoadedRepo }>();
        for (const p of matching) {
          const have = byName.get(p.name);
          const better =
            !have ||
            p.repo.config.priority < have.repo.config.priority ||
            (p.repo.config.priority === have.repo.config.priority && comparePackageEVR(p, have) > 0);
          if (better) byName.set(p.name, p);
        }
        for (const p of byName.values()) if (!chosen.includes(p)) chosen.push(p);
      }
      const items: DownloadItem[] = chosen.map((p) => ({
        nevra: p.nevra,
        baseurls: p.repo.baseurls,
        location: p.location,
        checksum: p.checksum,
        size: p.size,
        repo: p.repo.config.id,
      }));
      const tty = process.stderr.isTTY;
      const paths = await downloadPackages(items, {
        destdir: o.destdir,
        concurrency: Math.max(1, Number(o.parallel) || 4),
        onProgress: tty
          ? (e) => process.stderr.write(`\r\x1b[Kdownloading: ${(e.done / 1e6).toFixed(1)}${e.total ? `/${(e.total / 1e6).toFixed(1)}` : ''} MB, ${e.message ?? ''}`)
          : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (o.json) return printJson(paths);
      for (const p of paths) process.stdout.write(`${p}\n`);
    }),
  );
}
