import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../../util/errors.ts';
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

/** The solver pool operations this module needs. */
export interface PoolLike {
  addRpmmdRepo(src: { id: string; primary: string; filelists?: string; priority?: number; cost?: number; excludeNames?: string[] }): void;
  addSolvRepo(src: { id: string; path: string; priority?: number; cost?: number }): void;
  writeSolv(repoId: string, path: string): void;
  addPackages(repoId: string, pkgs: InstalledPackage[]): void;
  setInstalled(repoId: string): void;
  solve(jobs: Array<{ op: 'install'; spec: string; weak?: boolean }>, flags?: SolveFlagsLike): ResolveOutcome;
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

export interface ResolveRequestOptions {
  best?: boolean;
  allowErasing?: boolean;
  noWeakDeps?: boolean;
  /** Install optional group members too. */
  withOptional?: boolean;
  /** Names already installed (for conditional group members). */
  installedNames?: Iterable<string>;
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
  const pending = req.conditionals.filter((c) => exists(c.name));
  let outcome: ResolveOutcome;
  for (let round = 0; ; round++) {
    if (specs.length === 0 && req.groups.length > 0) {
      outcome = { ok: true, transaction: { install: [], upgrade: [], downgrade: [], erase: [], reinstall: [], obsoleted: [] } };
    } else {
      if (specs.length === 0) throw new NotFoundError('nothing to resolve: no packages or groups given');
      outcome = pool.solve(specs.map((spec) => ({ op: 'install' as const, spec })), flags);
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
