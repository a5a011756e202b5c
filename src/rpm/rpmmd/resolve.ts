import { readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.ts';
import { NotFoundError } from '../../util/errors.ts';
import { compareEVR } from '../version.ts';
import { scanObsoletes, type DepEntry } from './primary.ts';
import { expandRequest, type Comps } from './comps.ts';
import type { LoadedRepo } from './repo.ts';

/*
 * Resolution of a package/group request over loaded repositories. The solver is passed in
 * (this layer does not import it); these structural types are the part of its API used here.
 */

/** A package as the solver reports it. */
export interface ResolvedPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  nevra: string;
  repo: string;
  location?: string;
  checksum?: { type: string; value: string };
  downloadSize?: number;
}

export interface ResolveTransaction {
  install: ResolvedPackage[];
  upgrade: Array<[ResolvedPackage, ResolvedPackage]>;
  downgrade: Array<[ResolvedPackage, ResolvedPackage]>;
  erase: ResolvedPackage[];
  reinstall: ResolvedPackage[];
  obsoleted: Array<[ResolvedPackage, ResolvedPackage]>;
}

export interface ResolveProblem {
  summary: string;
  details: string[];
  solutions?: string[];
}

export type ResolveOutcome = { ok: true; transaction: ResolveTransaction } | { ok: false; problems: ResolveProblem[] };

export interface InstalledPackage {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch: string;
  provides?: string[];
  requires?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  files?: string[];
}

export interface SolveFlagsLike {
  best?: boolean;
  allowErasing?: boolean;
  noWeakDeps?: boolean;
}

/** An install job: a spec, or one package out of a set ("name-evr.arch@repo" keys). */
export type ResolveJob = { op: 'install'; spec: string; weak?: boolean } | { op: 'install'; select: { oneOf: string[] }; flags?: Array<'forcebest'> };

/** The solver pool operations this module needs. */
export interface PoolLike {
  addRpmmdRepo(src: { id: string; primary: string; filelists?: string; priority?: number; cost?: number; excludeNames?: string[] }): void;
  addSolvRepo(src: { id: string; path: string; priority?: number; cost?: number }): void;
  writeSolv(repoId: string, path: string): void;
  addPackages(repoId: string, pkgs: InstalledPackage[]): void;
  setInstalled(repoId: string): void;
  solve(jobs: ResolveJob[], flags?: SolveFlagsLike): ResolveOutcome;
  whatProvides(dep: string): ResolvedPackage[];
}

/** Id of the installed-set repository in the pool. */
export const INSTALLED_REPO = '@System';

export interface LoadTimings {
  /** Milliseconds spent loading repositories into the pool. */
  loadMs: number;
  /** Repositories loaded from a cached solv file rather than from XML. */
  fromSolvCache: number;
}

/**
 * Put repositories into a pool. Each repository's parsed form is cached as a solv file beside its
 * metadata (in the directory keyed by repomd.xml's digest), so a warm load skips XML parsing.
 * Repositories with include/exclude filters are always loaded from XML.
 */
export async function addReposToPool(pool: PoolLike, repos: LoadedRepo[], opts: { solvCache?: boolean } = {}): Promise<LoadTimings> {
  const t0 = performance.now();
  let fromSolvCache = 0;
  for (const r of repos) {
    const c = r.config;
    const filtered = c.excludepkgs.length > 0 || c.includepkgs.length > 0;
    const solvPath = join(r.dir, r.filelists ? 'primary+filelists.solv' : 'primary.solv');
    if (opts.solvCache !== false && !filtered && (await stat(solvPath).catch(() => undefined))) {
      try {
        pool.addSolvRepo({ id: c.id, path: solvPath, priority: c.priority, cost: c.cost });
        fromSolvCache++;
        continue;
      } catch {
        await unlink(solvPath).catch(() => undefined);
      }
    }
    pool.addRpmmdRepo({ id: c.id, primary: r.primary, filelists: r.filelists, priority: c.priority, cost: c.cost, excludeNames: c.excludepkgs.length ? c.excludepkgs : undefined });
    if (opts.solvCache !== false && !filtered) {
      try {
        // Atomic (temp file, fsync, rename); a failed cache write only costs speed next time.
        pool.writeSolv(c.id, solvPath);
      } catch {
        // ignore
      }
    }
  }
  return { loadMs: performance.now() - t0, fromSolvCache };
}

/** Who obsoletes a package name: pool keys ("name-evr.arch@repo") with the obsoletes range. */
export type ObsoletesIndex = Record<string, Array<{ by: string; byName: string; dep: DepEntry }>>;

function globToRe(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * Index the Obsoletes of every repository by obsoleted name. Built once per repomd revision and
 * cached beside the metadata (`obsoletes.json`), so a warm resolve only reads a small JSON file.
 */
export async function obsoletesIndex(repos: LoadedRepo[]): Promise<ObsoletesIndex> {
  const index: ObsoletesIndex = Object.create(null) as ObsoletesIndex;
  for (const r of repos) {
    const cache = join(r.dir, 'obsoletes.json');
    let entries: Array<{ nevra: string; name: string; obsoletes: DepEntry[] }> | undefined;
    try {
      entries = JSON.parse(await readFile(cache, 'utf8')) as typeof entries;
    } catch {
      entries = [];
      for await (const p of scanObsoletes(r.primary, `repo ${r.config.id}: ${r.primary}`)) entries.push({ nevra: p.nevra, name: p.name, obsoletes: p.obsoletes });
      await writeFileAtomic(cache, JSON.stringify(entries), { noSync: true }).catch(() => undefined);
    }
    const excluded = r.config.excludepkgs.map(globToRe);
    const included = r.config.includepkgs.map(globToRe);
    for (const e of entries ?? []) {
      if (excluded.some((re) => re.test(e.name)) || (included.length > 0 && !included.some((re) => re.test(e.name)))) continue;
      for (const dep of e.obsoletes) (index[dep.name] ??= []).push({ by: `${e.nevra}@${r.config.id}`, byName: e.name, dep });
    }
  }
  return index;
}

/** Does package `p` fall in the obsoletes range `dep`? */
function obsoletesMatch(dep: DepEntry, p: ResolvedPackage): boolean {
  if (!dep.flags) return true;
  const c = compareEVR({ epoch: p.epoch, version: p.version, release: p.release }, { epoch: dep.epoch ?? '0', version: dep.ver ?? '', release: dep.rel });
  switch (dep.flags) {
    case 'LT': return c < 0;
    case 'LE': return c <= 0;
    case 'EQ': return c === 0;
    case 'GE': return c >= 0;
    case 'GT': return c > 0;
    default: return false;
  }
}

export interface ResolveRequestOptions {
  best?: boolean;
  allowErasing?: boolean;
  noWeakDeps?: boolean;
  /** Install optional group members too. */
  withOptional?: boolean;
  /** Names already installed (for conditional group members). */
  installedNames?: Iterable<string>;
  /**
   * Obsoletes by name: with it, a plain name request may also be satisfied by a package that
   * obsoletes it (the package manager's obsoletes=True), e.g. `oldtool` installs `newtool`.
   */
  obsoletes?: ObsoletesIndex;
}

export interface ResolveReport {
  outcome: ResolveOutcome;
  /** Group members with no package in any repository (skipped, as the package manager does). */
  missingGroupPackages: string[];
  groups: string[];
  solveMs: number;
}

/**
 * Resolve `args` (package specs, `@group`, `@^environment`) to a transaction.
 * Group members are mandatory + default; members missing from every repository are skipped.
 * Conditional members are added when their condition package ends up installed, then the
 * request is solved again, until nothing new is added.
 */
export function resolveRequest(pool: PoolLike, args: string[], comps: Comps, opts: ResolveRequestOptions = {}): ResolveReport {
  const t0 = performance.now();
  const req = expandRequest(args, comps, { withOptional: opts.withOptional });
  const exists = (name: string): boolean => pool.whatProvides(name).some((p) => p.name === name && p.repo !== INSTALLED_REPO);
  const missingGroupPackages: string[] = [];
  const specs = [...req.packages];
  for (const n of req.groupPackages) {
    if (exists(n)) {
      if (!specs.includes(n)) specs.push(n);
    } else missingGroupPackages.push(n);
  }
  const flags = { best: opts.best, allowErasing: opts.allowErasing, noWeakDeps: opts.noWeakDeps };
  const installed = new Set(opts.installedNames ?? []);
  const jobFor = (spec: string): ResolveJob => {
    const obs = opts.obsoletes?.[spec];
    if (!obs || !/^[A-Za-z0-9_.+-]+$/.test(spec)) return { op: 'install', spec };
    const cands = pool.whatProvides(spec).filter((p) => p.name === spec);
    const by = [...new Set(obs.filter((o) => o.byName !== spec && cands.some((c) => obsoletesMatch(o.dep, c))).map((o) => o.by))];
    if (cands.length === 0 || by.length === 0) return { op: 'install', spec };
    return { op: 'install', select: { oneOf: [...cands.map((c) => `${c.nevra}@${c.repo}`), ...by] }, flags: opts.best ? ['forcebest'] : [] };
  };
  const pending = req.conditionals.filter((c) => exists(c.name));
  let outcome: ResolveOutcome;
  for (let round = 0; ; round++) {
    if (specs.length === 0 && req.groups.length > 0) {
      outcome = { ok: true, transaction: { install: [], upgrade: [], downgrade: [], erase: [], reinstall: [], obsoleted: [] } };
    } else {
      if (specs.length === 0) throw new NotFoundError('nothing to resolve: no packages or groups given');
      outcome = pool.solve(specs.map((spec) => jobFor(spec)), flags);
    }
    if (!outcome.ok || pending.length === 0 || round > 16) break;
    const t = outcome.transaction;
    const present = new Set(installed);
    for (const p of t.install) present.add(p.name);
    for (const [, n] of t.upgrade) present.add(n.name);
    for (const [, n] of t.downgrade) present.add(n.name);
    for (const p of t.erase) present.delete(p.name);
    const add = pending.filter((c) => present.has(c.requires) && !present.has(c.name) && !specs.includes(c.name));
    if (add.length === 0) break;
    for (const c of add) specs.push(c.name);
  }
  return { outcome, missingGroupPackages, groups: req.groups, solveMs: performance.now() - t0 };
}

/** Transaction lines: `install NEVRA`, `upgrade OLD NEW`, `downgrade OLD NEW`, `erase NEVRA`, sorted. */
export function transactionLines(t: ResolveTransaction): string[] {
  const j = transactionJson(t);
  return [
    ...j.install.map((n) => `install ${n}`),
    ...j.upgrade.map(([o, n]) => `upgrade ${o} ${n}`),
    ...(j.downgrade ?? []).map(([o, n]) => `downgrade ${o} ${n}`),
    ...j.erase.map((n) => `erase ${n}`),
  ].sort();
}

/** The `--json` form: NEVRAs, sorted; obsoleted packages count as erased. */
export function transactionJson(t: ResolveTransaction): { install: string[]; upgrade: Array<[string, string]>; downgrade?: Array<[string, string]>; erase: string[] } {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const upgraded = new Set(t.upgrade.map(([o]) => o.nevra));
  const erase = new Set(t.erase.map((p) => p.nevra));
  for (const [o] of t.obsoleted) if (!upgraded.has(o.nevra)) erase.add(o.nevra);
  const out: { install: string[]; upgrade: Array<[string, string]>; downgrade?: Array<[string, string]>; erase: string[] } = {
    install: t.install.map((p) => p.nevra).sort(cmp),
    upgrade: t.upgrade.map(([o, n]): [string, string] => [o.nevra, n.nevra]).sort((a, b) => cmp(a[0], b[0])),
    erase: [...erase].sort(cmp),
  };
  if (t.downgrade.length) out.downgrade = t.downgrade.map(([o, n]): [string, string] => [o.nevra, n.nevra]).sort((a, b) => cmp(a[0], b[0]));
  return out;
}
