import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { mapLimit } from '../../util/concurrency.ts';
import { UsageError, withContext } from '../../util/errors.ts';
import type { ProgressListener } from '../../util/progress.ts';
import { mergeComps, type Comps } from './comps.ts';
import { Fetcher } from './fetch.ts';
import { loadRepo, readComps, type LoadedRepo } from './repo.ts';
import { parseRepoFile, repoFromUrl, type RepoConfig } from './repofile.ts';

/** The machine architecture as RPM names it. */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

/** `$basearch` for an architecture (the package manager's mapping for the common ones). */
export function basearchOf(arch: string): string {
  if (/^i[3-6]86$|^athlon$|^geode$/.test(arch)) return 'i386';
  if (/^armv7/.test(arch)) return 'armhfp';
  if (arch === 'ppc64p7') return 'ppc64';
  return arch;
}

/** The default metadata cache: /var/cache/fedostree/rpmmd for root, else under XDG_CACHE_HOME. */
export function defaultCachedir(): string {
  if (process.getuid?.() === 0) return '/var/cache/fedostree/rpmmd';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fedostree', 'rpmmd');
}

export interface RepoSetOptions {
  repoFiles?: string[];
  repoUrls?: string[];
  releasever?: string;
  arch?: string;
  cachedir?: string;
  /** Only these repo ids (after parsing); overrides `enabled=`. */
  enable?: string[];
  filelists?: boolean;
  onProgress?: ProgressListener;
  fetcher?: Fetcher;
}

function repoIdentity(c: RepoConfig): string {
  const { source: _source, ...rest } = c;
  return JSON.stringify(rest);
}

/** Read `.repo` files and `--repo` URLs into configurations with variables substituted. */
export async function readRepoConfigs(opts: RepoSetOptions): Promise<RepoConfig[]> {
  const arch = opts.arch ?? hostArch();
  const vars: Record<string, string> = { arch, basearch: basearchOf(arch) };
  if (opts.releasever !== undefined) vars.releasever = opts.releasever;
  const configs: RepoConfig[] = [];
  for (const f of opts.repoFiles ?? []) {
    const text = await readFile(f, 'utf8').catch((err: unknown) => withContext(`reading repo file ${f}`, err));
    configs.push(...parseRepoFile(text, f, vars));
  }
  // A relative path is a local repository relative to the working directory.
  (opts.repoUrls ?? []).forEach((u, i) => configs.push(repoFromUrl(/^[a-z][a-z0-9+.-]*:/i.test(u) ? u : resolve(u), i)));
  // The same repository may be defined by several .repo files (one beside each treefile of a
  // compose): identical definitions are one repository; differing ones are an error.
  const byId = new Map<string, RepoConfig>();
  const unique: RepoConfig[] = [];
  for (const c of configs) {
    const first = byId.get(c.id);
    if (!first) {
      byId.set(c.id, c);
      unique.push(c);
    } else if (repoIdentity(first) !== repoIdentity(c)) {
      throw new UsageError(`repository id '${c.id}' is defined twice, differently (${first.source} and ${c.source})`);
    }
  }
  configs.splice(0, configs.length, ...unique);
  const seen = new Set(byId.keys());
  for (const c of configs) {
    if ([...c.baseurls, c.mirrorlist ?? '', c.metalink ?? ''].some((u) => u.includes('$releasever'))) {
      throw new UsageError(`repository ${c.id} (${c.source}) uses $releasever: pass --releasever`);
    }
  }
  if (opts.enable) {
    for (const id of opts.enable) if (!seen.has(id)) throw new UsageError(`no repository '${id}' is defined`);
    return configs.filter((c) => opts.enable!.includes(c.id));
  }
  return configs.filter((c) => c.enabled);
}

/** Enabled repositories with their metadata in the cache, plus their merged comps. */
export interface RepoSet {
  repos: LoadedRepo[];
  comps: Comps;
  arch: string;
}

/** Load every enabled repository (in parallel) and their comps. */
export async function loadRepoSet(opts: RepoSetOptions): Promise<RepoSet> {
  const configs = await readRepoConfigs(opts);
  if (configs.length === 0) throw new UsageError('no enabled repositories (give --repo-file or --repo)');
  const fetcher = opts.fetcher ?? new Fetcher();
  try {
    const cachedir = opts.cachedir ?? defaultCachedir();
    const repos = await mapLimit(configs, 4, (cfg) => loadRepo(cfg, { cachedir, fetcher, filelists: opts.filelists, onProgress: opts.onProgress }));
    const comps = mergeComps(await Promise.all(repos.map(readComps)));
    return { repos, comps, arch: opts.arch ?? hostArch() };
  } finally {
    if (!opts.fetcher) await fetcher.close();
  }
}
