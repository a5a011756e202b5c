import { closeSync, fsyncSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { FedostreeError, FormatError, NotFoundError, UsageError } from '../util/errors.ts';
import { tempPathFor } from '../util/atomic.ts';
import { native, type NativeJob, type NativePackageInput, type NativePool, type NativeRow, type NativeSolveResult } from './_native.ts';
import { splitEvr, joinEvr } from './_evr.ts';
import { explain, type ExplainContext } from './explain.ts';
import { closeNames } from './suggest.ts';
import type {
  Job, PackageSpec, Problem, RepoSource, Selector, SolveDetail, SolvedPackage, SolveFlags, SolveResult, Step, Transaction,
} from './types.ts';

/** Solving failed for a reason other than unsatisfiable dependencies (bad job, bad input). */
export class SolverError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ESOLVER', message, data, options);
    this.name = 'SolverError';
  }
}

/**
 * dnf's solver defaults: vendor changes allowed (allow_vendor_change=True), packages gone from the
 * repos are kept on distupgrade, "best" never changes arch, package splits via Obsoletes.
 */
const DNF_SOLVER_FLAGS: Readonly<Record<string, boolean>> = {
  allowvendorchange: true,
  keeporphans: true,
  bestobeypolicy: true,
  yumobsoletes: true,
};

/** dnf's pool defaults: multilib packages do not implicitly obsolete each other. */
const DNF_POOL_FLAGS: Readonly<Record<string, boolean>> = { implicitobsoleteusescolors: true };

const SPEC_SELECTION = ['name', 'provides', 'canon', 'dotarch', 'rel', 'glob'];

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.').replace(/\[!/g, '[^');
  return new RegExp(`^${re}$`);
}

function describeSelector(s: Selector): string {
  if ('name' in s) return s.name;
  if ('provides' in s) return `provides ${s.provides}`;
  if ('pkg' in s) return s.pkg;
  if ('oneOf' in s) return `one of ${s.oneOf.join(', ') || 'nothing'}`;
  if ('repo' in s) return `all packages of repository ${s.repo}`;
  return 'all packages';
}

function byPackage(a: SolvedPackage, b: SolvedPackage): number {
  const ka = `${a.nevra}@${a.repo}`;
  const kb = `${b.nevra}@${b.repo}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

interface PkgRow {
  id: number;
  name: string;
  evr: string;
  arch: string;
  repo: string;
  repoId: number;
}

function toRow([id, name, evr, arch, repo, repoId]: NativeRow): PkgRow {
  return { id, name, evr, arch, repo, repoId };
}

/**
 * A libsolv pool with RPM semantics for one target architecture: repositories (rpm-md, .solv caches,
 * package lists), an installed set, and solving of jobs into a transaction or explained problems.
 * Outputs are sorted, so they do not depend on the order repositories were added in.
 */
export class Pool {
  readonly arch: string;
  #n: NativePool | undefined;
  readonly #repos = new Map<string, number>();
  readonly #repoRank = new Map<string, { priority: number; cost: number }>();
  #ranked = true;
  readonly #installonly: string[];
  readonly #installonlyLimit: number;
  readonly #excluded = new Set<number>();
  #rows: PkgRow[] | undefined;
  #byId: Map<number, PkgRow> | undefined;
  #byKey: Map<string, number> | undefined;
  /** Rows fetched one id at a time (solver results touch a few hundred of the pool's packages). */
  readonly #rowCache = new Map<number, PkgRow | null>();
  readonly #solved = new Map<number, SolvedPackage>();
  #installed: string | undefined;

  private constructor(n: NativePool, arch: string, installonly: string[], installonlyLimit: number) {
    this.#n = n;
    this.arch = arch;
    this.#installonly = installonly;
    this.#installonlyLimit = installonlyLimit;
  }

  /**
   * A pool for `arch` (e.g. "x86_64"; "unset" for no arch policy). Packages providing an `installonly`
   * capability (kernel, installonlypkg(kernel)) may have
   * several versions installed side by side; with `installonlyLimit` (> 0) the oldest installed
   * versions beyond the limit are erased, like dnf's installonly_limit. `poolFlags` override dnf's pool defaults.
   */
  static create(opts: { arch: string; installonly?: string[]; installonlyLimit?: number; poolFlags?: Record<string, boolean> }): Pool {
    if (!/^[A-Za-z0-9_]+$/.test(opts.arch)) throw new UsageError(`invalid architecture '${opts.arch}'`);
    let n: NativePool;
    try {
      n = new (native().Pool)(opts.arch);
      for (const [flag, on] of Object.entries({ ...DNF_POOL_FLAGS, ...opts.poolFlags })) n.setPoolFlag(flag, on);
    } catch (err) {
      if (err instanceof FedostreeError) throw err;
      throw new SolverError(`creating a package pool for ${opts.arch}: ${message(err)}`, { arch: opts.arch }, { cause: err });
    }
    if (opts.installonlyLimit !== undefined && (!Number.isInteger(opts.installonlyLimit) || opts.installonlyLimit < 0)) {
      n.free();
      throw new UsageError(`installonly limit must be a non-negative integer, got ${opts.installonlyLimit}`);
    }
    return new Pool(n, opts.arch, opts.installonly ?? [], opts.installonlyLimit ?? 0);
  }

  get #pool(): NativePool {
    if (!this.#n) throw new SolverError('the package pool was already freed');
    return this.#n;
  }

  #changed(): void {
    this.#rows = undefined;
    this.#byId = undefined;
    this.#byKey = undefined;
    this.#rowCache.clear();
    this.#solved.clear();
  }

  #newRepo(id: string, priority: number | undefined, cost: number | undefined): number {
    if (this.#repos.has(id)) throw new UsageError(`repository '${id}' was already added`, { repo: id });
    if (!id || /\s/.test(id)) throw new UsageError(`invalid repository id '${id}'`, { repo: id });
    // libsolv: higher priority wins; dnf: lower wins. Likewise subpriority vs. cost.
    const r = this.#pool.addRepo(id, -(priority ?? 99), -(cost ?? 1000));
    this.#repos.set(id, r);
    this.#repoRank.set(id, { priority: priority ?? 99, cost: cost ?? 1000 });
    this.#ranked = false;
    return r;
  }

  /**
   * Among repos of equal priority and cost libsolv prefers the one added first. Make that order
   * independent of the order of adding: the sub-priority sorts by cost, then by repo id.
   */
  #rank(): void {
    if (this.#ranked) return;
    const names = [...this.#repos.keys()].sort();
    names.forEach((name, i) => {
      const { priority, cost } = this.#repoRank.get(name) ?? { priority: 99, cost: 1000 };
      this.#pool.setRepoPriority(this.#repo(name), -priority, -cost * 65536 + (names.length - i));
    });
    this.#ranked = true;
  }

  /** Forget a repo whose loading failed, so the same id can be added again (e.g. from XML after a bad cache). */
  #dropRepo(id: string): void {
    const r = this.#repos.get(id);
    if (r === undefined) return;
    this.#pool.freeRepo(r);
    this.#repos.delete(id);
    this.#repoRank.delete(id);
    this.#ranked = false;
    if (this.#installed === id) this.#installed = undefined;
    this.#changed();
  }

  #repo(id: string): number {
    const r = this.#repos.get(id);
    if (r === undefined) throw new NotFoundError(`no repository '${id}' in the pool`, { repo: id });
    return r;
  }

  /** Add a repository from rpm-md primary.xml (+ filelists.xml); compressed files are fine. */
  addRpmmdRepo(src: RepoSource): void {
    const r = this.#newRepo(src.id, src.priority, src.cost);
    for (const [path, extend] of [[src.primary, false], ...(src.filelists ? [[src.filelists, true]] : [])] as Array<[string, boolean]>) {
      try {
        this.#pool.loadRpmmd(r, path, extend);
      } catch (err) {
        this.#dropRepo(src.id);
        throw new FormatError(`loading repository '${src.id}' from ${path}: ${message(err)}`, { repo: src.id, path }, { cause: err });
      }
    }
    this.#changed();
    if (src.excludeNames?.length) this.#excludeNames(src.id, src.excludeNames);
  }

  #excludeNames(repoId: string, globs: string[]): void {
    const res = globs.map(globToRegExp);
    for (const row of this.#repoRows(repoId)) if (res.some((re) => re.test(row.name))) this.#excluded.add(row.id);
    this.#pool.setExcluded([...this.#excluded]);
  }

  /** Add packages to repository `repoId` (created on first use). */
  addPackages(repoId: string, pkgs: PackageSpec[], opts: { priority?: number; cost?: number } = {}): void {
    const r = this.#repos.get(repoId) ?? this.#newRepo(repoId, opts.priority, opts.cost);
    const input: NativePackageInput[] = pkgs.map((p) => ({
      name: p.name,
      evr: joinEvr(p.epoch, p.version, p.release),
      arch: p.arch,
      vendor: p.vendor,
      buildtime: p.buildtime,
      summary: p.summary,
      location: p.location,
      checksumType: p.checksum?.type,
      checksum: p.checksum?.value,
      downloadSize: p.downloadSize,
      provides: p.provides,
      requires: p.requires,
      prerequires: p.prerequires,
      conflicts: p.conflicts,
      obsoletes: p.obsoletes,
      recommends: p.recommends,
      suggests: p.suggests,
      supplements: p.supplements,
      enhances: p.enhances,
      files: p.files,
    }));
    for (const p of input) {
      if (!p.name || /\s/.test(p.name)) throw new FormatError(`repository '${repoId}': invalid package name '${p.name}'`, { repo: repoId });
    }
    try {
      this.#pool.addPackages(r, input);
    } catch (err) {
      throw new FormatError(`adding packages to repository '${repoId}': ${message(err)}`, { repo: repoId }, { cause: err });
    }
    this.#changed();
  }

  /** Exclude packages ("name-evr.arch@repo") from solving for the life of the pool. */
  excludePackages(keys: string[]): void {
    for (const k of keys) this.#excluded.add(this.#idOf(k));
    this.#pool.setExcluded([...this.#excluded]);
  }

  /** Mark repository `repoId` as the installed system. */
  setInstalled(repoId: string): void {
    this.#pool.setInstalled(this.#repo(repoId));
    this.#installed = repoId;
  }

  /** Write repository `repoId` as a .solv cache at `path` (atomically: temp file, fsync, rename). */
  writeSolv(repoId: string, path: string): void {
    const r = this.#repo(repoId);
    const tmp = tempPathFor(path);
    try {
      this.#pool.writeSolv(r, tmp);
      renameSync(tmp, path);
      const dir = openSync(dirname(path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
      throw new SolverError(`writing the cache of repository '${repoId}' to ${path}: ${message(err)}`, { repo: repoId, path }, { cause: err });
    }
  }

  /** Add a repository from a .solv cache written by writeSolv. */
  addSolvRepo(src: { id: string; path: string; priority?: number; cost?: number }): void {
    const r = this.#newRepo(src.id, src.priority, src.cost);
    try {
      this.#pool.loadSolv(r, src.path);
    } catch (err) {
      this.#dropRepo(src.id);
      throw new FormatError(`loading repository '${src.id}' from cache ${src.path}: ${message(err)}`, { repo: src.id, path: src.path }, { cause: err });
    }
    this.#changed();
  }

  #packageRows(): PkgRow[] {
    if (!this.#rows) {
      this.#rows = this.#pool.packages().map(toRow);
      this.#byId = new Map(this.#rows.map((r) => [r.id, r]));
    }
    return this.#rows;
  }

  /** The packages of one repository (without listing the whole pool). */
  #repoRows(repoId: string): PkgRow[] {
    if (this.#rows) return this.#rows.filter((r) => r.repo === repoId);
    return this.#pool.repoRows(this.#repo(repoId)).map(toRow);
  }

  /** Fetch the rows of `ids` not seen yet in one call to the binding. */
  #prefetch(ids: Iterable<number>): void {
    if (this.#byId) return;
    const want = [...new Set([...ids].filter((id) => !this.#rowCache.has(id)))];
    if (!want.length) return;
    const rows = this.#pool.rows(want);
    want.forEach((id, i) => this.#rowCache.set(id, rows[i] ? toRow(rows[i]) : null));
  }

  /** The row of `id`, or undefined when no package has that id. */
  #findRow(id: number): PkgRow | undefined {
    if (this.#byId) return this.#byId.get(id);
    this.#prefetch([id]);
    return this.#rowCache.get(id) ?? undefined;
  }

  #row(id: number): PkgRow {
    const row = this.#findRow(id);
    if (!row) throw new SolverError(`internal: no package with id ${id}`);
    return row;
  }

  /** The package for a libsolv id. */
  #pkg(id: number): SolvedPackage {
    const hit = this.#solved.get(id);
    if (hit) return hit;
    const row = this.#row(id);
    const { epoch, version, release } = splitEvr(row.evr);
    const d = this.#pool.details(id);
    const evr = joinEvr(epoch, version, release);
    const pkg: SolvedPackage = {
      name: row.name, epoch, version, release, arch: row.arch,
      nevra: `${row.name}-${evr}${row.arch ? `.${row.arch}` : ''}`,
      repo: row.repo,
    };
    if (d.location) pkg.location = d.location;
    if (d.checksumType && d.checksum) pkg.checksum = { type: d.checksumType, value: d.checksum };
    if (d.downloadSize) pkg.downloadSize = d.downloadSize;
    this.#solved.set(id, pkg);
    return pkg;
  }

  /** The id of "name-evr.arch@repo" (the testcase spelling; evr exactly as added). */
  #idOf(key: string): number {
    if (!this.#byKey) {
      this.#byKey = new Map();
      for (const r of this.#packageRows()) {
        this.#byKey.set(`${r.name}-${r.evr}${r.arch ? `.${r.arch}` : ''}@${r.repo}`, r.id);
        const { epoch, version, release } = splitEvr(r.evr);
        this.#byKey.set(`${r.name}-${joinEvr(epoch, version, release)}${r.arch ? `.${r.arch}` : ''}@${r.repo}`, r.id);
      }
    }
    const id = this.#byKey.get(key);
    if (id === undefined) throw new NotFoundError(`no package ${key} in the pool`, { pkg: key });
    return id;
  }

  /** Compare two [epoch:]version[-release] strings with rpm's rules: -1, 0 or 1. */
  evrcmp(a: string, b: string): number {
    return Math.sign(this.#pool.evrcmp(a, b));
  }

  /** Packages that provide `dep` (rpm syntax, rich deps allowed), sorted. */
  whatProvides(dep: string): SolvedPackage[] {
    let ids: number[];
    this.#rank();
    try {
      ids = this.#pool.whatProvides(dep);
      // libsolv indexes only files some package requires; search the file lists for the others
      if (dep.startsWith('/')) ids = [...new Set([...ids, ...this.#pool.select(dep, ['filelist'])])];
    } catch (err) {
      throw new FormatError(`dependency '${dep}': ${message(err)}`, { dep }, { cause: err });
    }
    return ids.map((id) => this.#pkg(id)).sort(byPackage);
  }

  /** Package names close to `unknown`, for "no package X" errors. */
  suggestNames(unknown: string, max = 5): string[] {
    return closeNames(unknown, this.#packageRows().map((r) => r.name), max);
  }

  /** Solve `jobs` against the pool. Unsatisfiable requests give `ok: false` with explained problems. */
  solve(jobs: Job[], flags: SolveFlags = {}): SolveResult {
    const res = this.#solveOnce(jobs, flags);
    if (!res.ok || this.#installonlyLimit <= 0 || this.#installed === undefined) return res;
    // installonly limit: erase the oldest installed versions beyond the limit and solve again
    const extra: Job[] = [];
    const names = new Set<string>();
    for (const cap of this.#installonly) for (const id of this.#pool.whatProvides(cap)) names.add(this.#row(id).name);
    for (const name of [...names].sort()) {
      const erased = new Set(res.transaction.erase.map((p) => p.nevra));
      const kept = this.#repoRows(this.#installed).filter((r) => r.name === name)
        .filter((r) => !erased.has(this.#pkg(r.id).nevra))
        .sort((a, b) => this.evrcmp(a.evr, b.evr) || a.arch.localeCompare(b.arch));
      const fresh = res.transaction.install.filter((p) => p.name === name);
      const total = kept.length + fresh.length;
      if (total > this.#installonlyLimit) for (const p of fresh) extra.push({ op: 'install', select: { pkg: `${p.nevra}@${p.repo}` } });
      for (const r of kept.slice(0, Math.max(0, total - this.#installonlyLimit))) {
        extra.push({ op: 'erase', select: { pkg: `${r.name}-${r.evr}${r.arch ? `.${r.arch}` : ''}@${r.repo}` } });
      }
    }
    return extra.length ? this.#solveOnce([...jobs, ...extra], flags) : res;
  }

  #solveOnce(jobs: Job[], flags: SolveFlags): SolveResult {
    const pool = this.#pool;
    this.#rank();
    const nativeJobs: NativeJob[] = [];
    const jobText: string[] = [];
    const early: Problem[] = [];
    const solveExcluded = new Set<number>();
    for (const name of this.#installonly) {
      nativeJobs.push({ how: 'multiversion', select: 'provides', dep: name });
      jobText.push(`allow several versions of ${name}`);
    }
    for (const job of jobs) {
      if ('select' in job) {
        nativeJobs.push({ how: job.op, flags: job.flags, ...this.#selector(job.select) });
        jobText.push(`${job.op} ${describeSelector(job.select)}`);
      } else if (!('spec' in job)) {
        const how = job.op === 'update-all' ? 'update' : job.op;
        const f = job.op !== 'verify' && flags.best ? ['forcebest'] : [];
        nativeJobs.push({ how, select: 'all', flags: f });
        jobText.push(job.op);
      } else {
        const spec = job.spec.trim();
        if (!spec) throw new UsageError(`empty package spec in a ${job.op} request`);
        const sel = [...SPEC_SELECTION, ...(spec.startsWith('/') ? ['filelist'] : []), ...(job.op === 'erase' ? ['installedonly'] : [])];
        let ids: number[];
        try {
          ids = pool.select(spec, sel);
        } catch (err) {
          throw new SolverError(`${job.op} ${spec}: ${message(err)}`, { spec }, { cause: err });
        }
        if (job.op === 'exclude') {
          for (const id of ids) solveExcluded.add(id);
          continue;
        }
        if (!ids.length) {
          if (job.weak) continue;
          if (job.op === 'erase' || (job.op === 'update' && this.#installed === undefined)) {
            early.push({ summary: `package ${spec} is not installed`, details: [] });
          } else {
            const close = this.suggestNames(spec.split(/[\s<>=]/)[0]);
            early.push({
              summary: `package ${spec} does not exist`,
              details: close.length ? [`close names: ${close.join(', ')}`] : [],
              solutions: close.map((c) => `did you mean ${c}?`),
            });
          }
          continue;
        }
        const f: string[] = [];
        if (job.weak) f.push('weak');
        if (flags.best && (job.op === 'install' || job.op === 'update')) f.push('forcebest');
        if (flags.cleanDeps && job.op === 'erase') f.push('cleandeps');
        nativeJobs.push({ how: job.op, flags: f, select: 'selection', text: spec, selectionFlags: sel });
        jobText.push(`${job.op} ${spec}`);
      }
    }
    const solverFlags: Record<string, boolean> = { ...(flags.defaults === 'libsolv' ? {} : DNF_SOLVER_FLAGS) };
    if (flags.allowErasing !== undefined) solverFlags.allowuninstall = flags.allowErasing;
    if (flags.noWeakDeps !== undefined) solverFlags.ignorerecommended = flags.noWeakDeps;
    if (flags.allowDowngrade !== undefined) solverFlags.allowdowngrade = flags.allowDowngrade;
    Object.assign(solverFlags, flags.libsolv);

    let raw: NativeSolveResult;
    const excludedNow = solveExcluded.size > 0;
    try {
      if (excludedNow) pool.setExcluded([...this.#excluded, ...solveExcluded]);
      raw = pool.solve(nativeJobs, solverFlags);
    } catch (err) {
      throw new SolverError(`solving: ${message(err)}`, {}, { cause: err });
    } finally {
      if (excludedNow) pool.setExcluded([...this.#excluded]);
    }
    return this.#result(raw, jobText, early);
  }

  #selector(s: Selector): Omit<NativeJob, 'how' | 'flags'> {
    if ('name' in s) return { select: 'name', dep: s.name };
    if ('provides' in s) return { select: 'provides', dep: s.provides };
    if ('pkg' in s) return { select: 'pkg', id: this.#idOf(s.pkg) };
    if ('oneOf' in s) return { select: 'oneof', ids: s.oneOf.map((k) => this.#idOf(k)) };
    if ('repo' in s) return { select: 'repo', repo: this.#repo(s.repo) };
    return { select: 'all' };
  }

  #result(raw: NativeSolveResult, jobText: string[], early: Problem[]): SolveResult {
    this.#prefetch([...raw.steps.flatMap(([, p, op]) => (op ? [p, op] : [p])), ...raw.recommended, ...raw.suggested, ...raw.cleandeps]);
    const steps: Step[] = raw.steps.map(([type, p, op]) => (op ? { type, pkg: this.#pkg(p), by: this.#pkg(op) } : { type, pkg: this.#pkg(p) }));
    const key = (s: Step): string => `${s.type} ${s.pkg.nevra}@${s.pkg.repo} ${s.by ? `${s.by.nevra}@${s.by.repo}` : ''}`;
    steps.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const pkgs = (ids: number[]): SolvedPackage[] => ids.map((id) => this.#pkg(id)).sort(byPackage);
    const detail: SolveDetail = {
      steps,
      recommended: pkgs(raw.recommended),
      suggested: pkgs(raw.suggested),
      cleandeps: pkgs(raw.cleandeps),
    };
    if (raw.problems.length || early.length) {
      const ctx: ExplainContext = {
        nevra: (id: number): string => (this.#findRow(id) ? this.#pkg(id).nevra : `package #${id}`),
        installed: (id: number): boolean => this.#installed !== undefined && this.#findRow(id)?.repo === this.#installed,
        pkg: (id: number): string => (ctx.installed(id) ? `${ctx.nevra(id)} (installed)` : ctx.nevra(id)),
        job: (i: number): string => jobText[i] ?? `request ${i + 1}`,
        suggest: (name: string): string[] => this.suggestNames(name),
      };
      const problems = [...early, ...raw.problems.map((p) => explain(p, ctx))];
      problems.sort((a, b) => (a.summary < b.summary ? -1 : a.summary > b.summary ? 1 : 0));
      return { ok: false, problems, detail };
    }
    const t: Transaction = { install: [], upgrade: [], downgrade: [], erase: [], reinstall: [], obsoleted: [] };
    for (const s of steps) {
      switch (s.type) {
        case 'install':
        case 'multiinstall':
          t.install.push(s.pkg);
          break;
        case 'erase':
          t.erase.push(s.pkg);
          break;
        case 'reinstall':
        case 'multireinstall':
          t.reinstall.push(s.by ?? s.pkg);
          break;
        case 'upgrade':
        case 'change':
          if (s.by) t.upgrade.push([s.pkg, s.by]);
          break;
        case 'downgrade':
          if (s.by) t.downgrade.push([s.pkg, s.by]);
          break;
        case 'obsoleted':
          if (s.by) t.obsoleted.push([s.pkg, s.by]);
          else t.erase.push(s.pkg);
          break;
      }
    }
    t.install.sort(byPackage);
    t.erase.sort(byPackage);
    t.reinstall.sort(byPackage);
    for (const pairs of [t.upgrade, t.downgrade, t.obsoleted]) pairs.sort((a, b) => byPackage(a[0], b[0]) || byPackage(a[1], b[1]));
    return { ok: true, transaction: t, detail };
  }

  /** Release libsolv's memory; the pool is unusable afterwards. */
  free(): void {
    this.#n?.free();
    this.#n = undefined;
  }
}
