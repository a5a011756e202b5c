/**
 * Compose: treefiles → resolved package sets → downloads → package cache imports → assembled,
 * scripted, postprocessed trees → commits. Many trees share one metadata load, one download and
 * one import per package; trees are assembled in parallel.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, lchown, lstat, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { cpuCount, mapLimit } from '../util/concurrency.ts';
import { FedostreeError, NotFoundError, UsageError, tryContext } from '../util/errors.ts';
import type { ProgressListener } from '../util/progress.ts';
import {
  commitTree, lookupPath, metaGet, metaString, metaValue, OstreeRepo, parseMetadataArg, scanHardlinks, type MetaEntry,
} from '../ostree/index.ts';
import { updateSummary } from '../ostree/summary.ts';
import { signCommit, signSummary, type SignOptions } from '../ostree/sign.ts';
import { FileFlag, readFiles } from '../rpm/index.ts';
import { writeRpmdb } from '../rpm/rpmdb.ts';
import { loadRepoSet, hostArch, basearchOf, type RepoSet } from '../rpm/rpmmd/reposet.ts';
import { addReposToPool, resolveRequest, type ResolvedPackage } from '../rpm/rpmmd/resolve.ts';
import { downloadPackages, type DownloadItem } from '../rpm/rpmmd/download.ts';
import type { LoadedRepo } from '../rpm/rpmmd/repo.ts';
import { Pool } from '../solver/index.ts';
import { loadTreefile, TreefileError, type LoadedTreefile, type Treefile } from './treefile.ts';
import { cachedPackage, headerDigest, importPackage, type CachedPackage } from './pkgcache.ts';
import { installOrder, runScriptlets, type ScriptPackage, type ScriptRun } from './scriptlets.ts';
import { runInSandbox } from './sandbox.ts';
import {
  breakLink, breakLinksUnder, checkIds, enableUnits, moveEtc, mutateOsRelease, parseDb, placeKernel, PostprocessError, readIds, seedPasswd,
  splitPasswd, toplevelLayout, varToTmpfiles,
} from './postprocess.ts';
import { mtreeFromRootfs, type CommitRootfsStats } from './commit-rootfs.ts';
import { loadTreeLabeler } from './selinux.ts';
import { materialise, mergeCommits } from './assemble.ts';

const INSTALLONLY = ['kernel', 'installonlypkg(kernel)', 'multiversion(kernel)'];
const DIGEST_VERSION = 'fedostree-compose-1';

/** A package set that cannot be resolved. */
export class ResolveError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EUNSOLVABLE', message, data);
    this.name = 'ResolveError';
  }
}

export interface ComposeOptions {
  /** Output repository (usually archive). */
  repo: string;
  /** Downloads, metadata, package cache and build roots (default: `<repo>/../.fedostree-compose-cache`). */
  cachedir?: string;
  /** Resolve only; nothing is downloaded or written. */
  dryRun?: boolean;
  /** Commit even when the input hash is unchanged. */
  forceNocache?: boolean;
  /** Target arch (default: the host's). */
  arch?: string;
  onProgress?: ProgressListener;
  /** Human log lines (script runs, decisions). */
  log?: (line: string) => void;
  /** Trees assembled at once (default: cores). */
  parallel?: number;
  /** Sign each new commit (before its ref moves) and the summary with these keys. */
  sign?: SignOptions;
}

/** What happened to one tree. */
export interface TreeResult {
  treefile: string;
  ref: string;
  /** The new commit, or the unchanged previous one. */
  commit: string | null;
  parent: string | null;
  changed: boolean;
  version?: string;
  inputhash: string;
  packages: string[];
  kernel?: string;
  scripts: Array<Omit<ScriptRun, 'output'>>;
  stats?: CommitRootfsStats;
  /** Milliseconds per phase of the tree's assembly. */
  phases?: Record<string, number>;
  ms: number;
}

export interface ComposeResult {
  trees: TreeResult[];
  /** Packages imported into the cache by this run (not those already cached). */
  imported: number;
  cachedPackages: number;
  downloadedBytes: number;
  timings: Record<string, number>;
}

/** Expand and load treefiles; `requireRef` makes a missing `ref` an error (single-tree compose). */
async function loadAll(paths: string[], basearch: string, requireRef: boolean, log: (s: string) => void): Promise<LoadedTreefile[]> {
  const out: LoadedTreefile[] = [];
  for (const p of paths) {
    const t = await loadTreefile(p, basearch);
    if (!t.treefile.ref) {
      if (requireRef) throw new TreefileError(`${t.path}: no 'ref' key (the branch to commit to)`, { file: t.path });
      log(`${t.path}: no 'ref', treated as an include-only fragment`);
      continue;
    }
    if (!t.treefile.packages?.length && !t.treefile['repo-packages']?.length) throw new TreefileError(`${t.path}: no packages to install`, { file: t.path });
    out.push(t);
  }
  const refs = new Map<string, string>();
  for (const t of out) {
    const ref = t.treefile.ref as string;
    if (refs.has(ref)) throw new TreefileError(`${t.path}: ref '${ref}' is also composed by ${refs.get(ref)}`, { file: t.path });
    refs.set(ref, t.path);
  }
  return out;
}

/** `.repo` files in the directories of a treefile and its includes. */
async function repoFilesOf(t: LoadedTreefile): Promise<string[]> {
  const dirs = [...new Set(t.files.map((f) => dirname(f)))];
  const out: string[] = [];
  for (const d of dirs) for (const f of (await readdir(d)).sort()) if (f.endsWith('.repo')) out.push(join(d, f));
  return out;
}

/** Next version for `automatic-version-prefix`: PREFIX, then PREFIX.1, PREFIX.2 … after a previous one. */
export function nextVersion(prefix: string, previous: string | undefined): string {
  if (previous === undefined || !(previous === prefix || previous.startsWith(`${prefix}.`))) return prefix;
  if (previous === prefix) return `${prefix}.1`;
  const n = Number(previous.slice(prefix.length + 1));
  return Number.isInteger(n) ? `${prefix}.${n + 1}` : `${prefix}.1`;
}

/** GVariant text of a JSON value (add-commit-metadata). */
function metaFromJson(key: string, v: unknown): MetaEntry {
  if (typeof v === 'string') return metaString(key, v);
  if (typeof v === 'boolean') return parseMetadataArg(`${key}=${v}`);
  if (typeof v === 'number' && Number.isInteger(v)) return parseMetadataArg(`${key}=int64 ${v}`);
  if (typeof v === 'number') return parseMetadataArg(`${key}=${v.toFixed(6)}`);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return parseMetadataArg(`${key}=@as [${v.map((x) => JSON.stringify(x)).join(', ')}]`);
  throw new TreefileError(`add-commit-metadata: key '${key}': unsupported value ${JSON.stringify(v)}`, { key });
}

async function readTreeFile(repo: OstreeRepo, commit: string, paths: string[]): Promise<string> {
  const c = await repo.readCommit(commit);
  for (const p of paths) {
    try {
      const e = await lookupPath(repo, c.rootTree, c.rootMeta, p);
      if (e.kind === 'file') return (await repo.readFileContent(e.checksum)).content.toString('utf8');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return '';
}

function sourceDateEpoch(): number | undefined {
  const s = process.env.SOURCE_DATE_EPOCH;
  if (s === undefined || s === '') return undefined;
  if (!/^\d+$/.test(s)) throw new UsageError(`SOURCE_DATE_EPOCH: '${s}' is not a number of seconds`);
  return Number(s);
}

/** The default cache directory beside the repository. */
export function defaultComposeCachedir(repo: string): string {
  const r = resolve(repo);
  return join(dirname(r), `.${basename(r)}-compose-cache`);
}

interface Planned {
  t: LoadedTreefile;
  resolved: ResolvedPackage[];
  repos: LoadedRepo[];
}

/** Compose every treefile in `paths`. With `requireRef`, a treefile without `ref` is an error. */
export async function composeTrees(paths: string[], options: ComposeOptions, requireRef = true): Promise<ComposeResult> {
  const log = options.log ?? ((): void => undefined);
  const progress = options.onProgress ?? ((): void => undefined);
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = (timings[name] ?? 0) + (now - t0);
    t0 = now;
  };
  const arch = options.arch ?? hostArch();
  const basearch = basearchOf(arch);
  const trees = await loadAll(paths, basearch, requireRef, log);
  const output = await OstreeRepo.open(options.repo);
  const cachedir = resolve(options.cachedir ?? defaultComposeCachedir(options.repo));
  lap('treefiles');

  // ---- metadata: one load per release version, shared by every tree
  const byRelease = new Map<string, LoadedTreefile[]>();
  for (const t of trees) {
    const k = t.treefile.releasever ?? '';
    byRelease.set(k, [...(byRelease.get(k) ?? []), t]);
  }
  const plans: Planned[] = [];
  for (const [releasever, group] of byRelease) {
    const repoFiles = [...new Set((await Promise.all(group.map(repoFilesOf))).flat())];
    const wanted = [...new Set(group.flatMap((t) => t.treefile.repos ?? []))];
    for (const t of group) if (!t.treefile.repos?.length) throw new TreefileError(`${t.path}: no 'repos' listed`, { file: t.path });
    let set: RepoSet;
    try {
      set = await loadRepoSet({ repoFiles, enable: wanted, releasever: releasever || undefined, arch, cachedir: join(cachedir, 'rpmmd'), onProgress: options.onProgress });
    } catch (err) {
      if (err instanceof UsageError && /no repository/.test(err.message)) {
        throw new TreefileError(`${group[0].path}: key 'repos': ${err.message} (repo files: ${repoFiles.map((f) => basename(f)).join(', ') || 'none'} beside the treefile)`);
      }
      throw err;
    }
    lap('metadata');
    for (const t of group) {
      const tf = t.treefile;
      const exclude = tf['exclude-packages'] ?? [];
      const pinned = tf['repo-packages'] ?? [];
      const repos = set.repos
        .filter((r) => (tf.repos ?? []).includes(r.config.id) || pinned.some((p) => p.repo === r.config.id))
        .map((r) => {
          const extra = [...exclude, ...pinned.filter((p) => p.repo !== r.config.id).flatMap((p) => p.packages)];
          return extra.length ? { ...r, config: { ...r.config, excludepkgs: [...r.config.excludepkgs, ...extra] } } : r;
        });
      const pool = Pool.create({ arch, installonly: INSTALLONLY, installonlyLimit: 1 });
      try {
        await addReposToPool(pool, repos);
        const specs = [...(tf.packages ?? []), ...pinned.flatMap((p) => p.packages)];
        for (const s of specs) {
          if (!s.startsWith('@') && pool.whatProvides(s).length === 0) {
            const near = pool.suggestNames(s, 3);
            throw new ResolveError(`${t.path}: package '${s}' is not in any repository (${tf.repos?.join(', ')})${near.length ? `; did you mean ${near.join(', ')}?` : ''}`, { package: s });
          }
        }
        const report = resolveRequest(pool, specs, set.comps, { noWeakDeps: tf.recommends === false });
        const out = report.outcome;
        if (!out.ok) {
          throw new ResolveError(`${t.path}: cannot resolve the package set: ${out.problems.map((p) => [p.summary, ...p.details].join(': ')).join('; ')}`, { problems: out.problems });
        }
        const resolved = [...out.transaction.install, ...out.transaction.upgrade.map(([, n]) => n)].sort((a, b) => (a.nevra < b.nevra ? -1 : 1));
        progress({ stage: 'resolve', done: resolved.length, unit: 'packages', message: tf.ref });
        log(`${tf.ref}: ${resolved.length} packages resolved`);
        plans.push({ t, resolved, repos });
      } finally {
        pool.free();
      }
    }
    lap('resolve');
  }
  if (options.dryRun) {
    return {
      trees: plans.map((p) => ({
        treefile: p.t.path, ref: p.t.treefile.ref as string, commit: null, parent: null, changed: false, inputhash: '', packages: p.resolved.map((r) => r.nevra), scripts: [], ms: 0,
      })),
      imported: 0, cachedPackages: 0, downloadedBytes: 0, timings,
    };
  }

  // ---- download: each package once
  const unique = new Map<string, { pkg: ResolvedPackage; repo: LoadedRepo }>();
  for (const p of plans) {
    for (const r of p.resolved) {
      const key = `${r.nevra}@${r.repo}`;
      if (unique.has(key)) continue;
      const repo = p.repos.find((x) => x.config.id === r.repo);
      if (!repo) throw new NotFoundError(`${r.nevra}: repository '${r.repo}' is not loaded`);
      unique.set(key, { pkg: r, repo });
    }
  }
  // packages imported before from the same repository file (same checksum) skip download and import
  const cache = await OstreeRepo.init(join(cachedir, 'pkgcache'), process.getuid?.() === 0 ? 'bare' : 'bare-user');
  const cached = new Map<string, CachedPackage>();
  const pkgidOf = (pkg: ResolvedPackage): string | undefined => (pkg.checksum ? `${pkg.checksum.type}:${pkg.checksum.value}` : undefined);
  await mapLimit([...unique], 8, async ([key, { pkg }]) => {
    const pkgid = pkgidOf(pkg);
    if (!pkgid || !pkg.location) return;
    const dest = join(cachedir, 'packages', pkg.repo, basename(pkg.location));
    const st = await stat(dest).catch(() => undefined);
    if (!st?.isFile() || (pkg.downloadSize !== undefined && st.size !== pkg.downloadSize)) return;
    const c = await cachedPackage(cache, dest, pkgid);
    if (c) cached.set(key, c);
  });
  const byRepo = new Map<string, Array<{ key: string; item: DownloadItem }>>();
  for (const [key, { pkg, repo }] of unique) {
    if (cached.has(key)) continue;
    if (!pkg.location) throw new NotFoundError(`${pkg.nevra}: no location in repository ${pkg.repo}`);
    const item: DownloadItem = { nevra: pkg.nevra, baseurls: repo.baseurls, location: pkg.location, checksum: pkg.checksum as DownloadItem['checksum'], size: pkg.downloadSize, repo: pkg.repo };
    byRepo.set(pkg.repo, [...(byRepo.get(pkg.repo) ?? []), { key, item }]);
  }
  const localPath = new Map<string, string>();
  let downloadedBytes = 0;
  let base = 0;
  for (const [repoId, list] of byRepo) {
    const paths2 = await downloadPackages(list.map((l) => l.item), {
      destdir: join(cachedir, 'packages', repoId),
      concurrency: 4,
      onProgress: (e) => {
        if (e.unit === 'bytes') downloadedBytes = base + e.done;
        progress({ ...e, done: e.unit === 'bytes' ? downloadedBytes : e.done });
      },
    });
    base = downloadedBytes;
    list.forEach((l, i) => localPath.set(l.key, paths2[i]));
  }
  lap('download');

  // ---- import: each package once into the package cache
  let importedCount = 0;
  let doneImports = 0;
  const keys = [...localPath.keys()].sort();
  await mapLimit(keys, cpuCount, async (key) => {
    const c = await importPackage(cache, localPath.get(key) as string, pkgidOf(unique.get(key)!.pkg));
    cached.set(key, c);
    if (c.imported) importedCount++;
    doneImports++;
    progress({ stage: 'import', done: doneImports, total: keys.length, unit: 'packages', message: c.nevra });
  });
  await cache.flush();
  if (importedCount) log(`imported ${importedCount} packages into the package cache (${unique.size - importedCount} already cached)`);
  lap('import');

  const devino = await scanHardlinks(cache);
  lap('cache-scan');

  // ---- trees
  const results = await mapLimit(plans, Math.max(1, options.parallel ?? cpuCount), async (plan) => {
    const pkgs = plan.resolved.map((r) => cached.get(`${r.nevra}@${r.repo}`) as CachedPackage);
    return tryContext(`composing ${plan.t.treefile.ref as string} (${plan.t.path})`, () => composeOne(plan, pkgs, { output, cache, devino, cachedir, options, log }));
  });
  lap('trees');
  if (results.some((r) => r.changed)) {
    await updateSummary(output);
    if (options.sign) await signSummary(output, options.sign);
  }
  lap('summary');
  return { trees: results, imported: importedCount, cachedPackages: unique.size, downloadedBytes, timings };
}

interface TreeContext {
  output: OstreeRepo;
  cache: OstreeRepo;
  devino: Map<string, string>;
  cachedir: string;
  options: ComposeOptions;
  log: (s: string) => void;
}

async function sha256File(p: string): Promise<string> {
  return createHash('sha256').update(await readFile(p)).digest('hex');
}

/** The input hash: expanded treefile, package header digests, added files and scripts. */
async function inputHash(t: LoadedTreefile, pkgs: CachedPackage[]): Promise<string> {
  const h = createHash('sha256');
  h.update(DIGEST_VERSION + '\0');
  h.update(JSON.stringify(t.treefile) + '\0');
  for (const p of [...pkgs].sort((a, b) => (a.nevra < b.nevra ? -1 : 1))) h.update(`${p.nevra} ${headerDigest(p.pkg)}\0`);
  for (const a of t.addFiles) h.update(`${a.dest} ${await sha256File(a.src).catch(() => 'missing')}\0`);
  if (t.postprocessScript) h.update(`script ${await sha256File(t.postprocessScript)}\0`);
  return h.digest('hex');
}

function safeRel(p: string, what: string): string {
  const r = p.replace(/^\/+/, '');
  if (!r || r.split('/').some((x) => x === '..')) throw new TreefileError(`${what}: path '${p}' is not allowed`);
  return r;
}

async function composeOne(plan: Planned, pkgs: CachedPackage[], ctx: TreeContext): Promise<TreeResult> {
  const started = performance.now();
  const { output, cache, log, options } = ctx;
  const t = plan.t;
  const tf: Treefile = t.treefile;
  const ref = tf.ref as string;
  const parent = await output.resolveRev(ref, true);
  const prev = parent ? await output.readCommit(parent) : undefined;
  const prevMeta = (k: string): unknown => {
    const e = prev ? metaGet(prev.metadata, k) : undefined;
    return e ? metaValue(e) : undefined;
  };
  const inputhash = await inputHash(t, pkgs);
  const base: TreeResult = { treefile: t.path, ref, commit: parent, parent, changed: false, inputhash, packages: pkgs.map((p) => p.nevra).sort(), scripts: [], ms: 0 };
  if (!options.forceNocache && prev && prevMeta('rpmostree.inputhash') === inputhash) {
    log(`${ref}: no changes (input hash ${inputhash.slice(0, 12)}…)`);
    const v = prevMeta('version');
    return { ...base, version: typeof v === 'string' ? v : undefined, ms: performance.now() - started };
  }
  const phases: Record<string, number> = {};
  let tp = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - tp);
    tp = now;
  };
  const rootsDir = join(ctx.cachedir, 'roots');
  await mkdir(rootsDir, { recursive: true });
  const root = join(rootsDir, `${ref.replace(/[^A-Za-z0-9.-]/g, '_')}-${randomBytes(4).toString('hex')}`);
  try {
    // ---- assemble: hardlink union checkout of every package commit, in install order
    const sp: Array<ScriptPackage & { c: CachedPackage }> = pkgs.map((c) => ({
      name: c.name, nevra: c.nevra, header: c.pkg.header, files: readFiles(c.pkg.header).files.filter((f) => !(f.flags & FileFlag.GHOST)).map((f) => f.path), c,
    }));
    const ordered = installOrder(sp);
    // one merged tree (later packages win for files, the first one for directory metadata),
    // materialised once as hardlinks
    await materialise(cache, await mergeCommits(cache, ordered.map((p) => p.c.commit)), root);
    phase('assemble');
    // trees scripts edit get private copies
    await breakLinksUnder(join(root, 'etc'));
    await breakLinksUnder(join(root, 'var'));
    // documentation / languages
    const langs = tf['install-langs'];
    for (const p of ordered) {
      for (const f of readFiles(p.header).files) {
        const drop = (tf.documentation === false && (f.flags & FileFlag.DOC) !== 0) ||
          (langs !== undefined && f.lang !== '' && !langs.some((l) => f.lang === l || f.lang.startsWith(`${l}_`)));
        if (drop) await rm(join(root, f.path), { force: true });
      }
    }
    phase('docs-langs');
    // ---- passwd continuity
    if (tf['preserve-passwd'] !== false && parent) {
      const passwd = (await readTreeFile(output, parent, ['usr/lib/passwd'])) + (await readTreeFile(output, parent, ['usr/etc/passwd']));
      const group = (await readTreeFile(output, parent, ['usr/lib/group'])) + (await readTreeFile(output, parent, ['usr/etc/group']));
      await seedPasswd(root, { passwd, group });
    }
    // ---- scriptlets
    const runs = await runScriptlets(root, ordered, {
      ignore: tf['ignore-scripts'],
      afterPre: async (p) => {
        const c = (p as (typeof sp)[number]).c;
        if (!c.owners.length) return;
        const ids = await readIds(root);
        for (const [path, user, group] of c.owners) {
          const abs = join(root, path);
          if (!(await lstat(abs).catch(() => undefined))) continue;
          const uid = ids.users.get(user);
          const gid = ids.groups.get(group);
          if (uid === undefined) log(`${c.nevra}: ${path}: user '${user}' does not exist, using root`);
          if (gid === undefined) log(`${c.nevra}: ${path}: group '${group}' does not exist, using root`);
          await breakLink(abs);
          await lchown(abs, uid ?? 0, gid ?? 0);
        }
      },
      onScript: (r) => {
        log(`${ref}: ${r.package} %${r.script}: exit ${r.code} in ${r.ms.toFixed(0)} ms${r.ignored ? ' (ignored)' : ''}`);
        for (const l of r.output.split('\n').filter((x) => x)) log(`  | ${l}`);
        options.onProgress?.({ stage: 'scripts', done: 1, unit: 'scripts', message: `${r.package} %${r.script}` });
      },
    });
    phase('scripts');
    // ---- treefile edits
    for (const a of t.addFiles) {
      const dest = join(root, safeRel(a.dest, 'add-files'));
      await mkdir(dirname(dest), { recursive: true });
      await rm(dest, { force: true });
      await copyFile(a.src, dest).catch((err: unknown) => {
        throw new TreefileError(`${t.path}: add-files: cannot copy ${a.src}: ${(err as Error).message}`);
      });
      await chmod(dest, (await stat(a.src)).mode & 0o777);
    }
    for (const f of tf['remove-files'] ?? []) await rm(join(root, safeRel(f, 'remove-files')), { recursive: true, force: true });
    for (const [pkgName, ...patterns] of tf['remove-from-packages'] ?? []) {
      const p = ordered.find((x) => x.name === pkgName);
      if (!p) throw new TreefileError(`${t.path}: remove-from-packages: package '${pkgName}' is not in the tree`);
      const res = patterns.map((s) => new RegExp(s));
      for (const f of p.files) if (res.some((r) => r.test(f))) await rm(join(root, f), { force: true });
    }
    for (const [i, script] of (tf.postprocess ?? []).entries()) {
      const r = await runInSandbox(root, ['/bin/sh', '-ec', script, `postprocess-${i}`]);
      log(`${ref}: postprocess[${i}]: exit ${r.code} in ${r.ms.toFixed(0)} ms`);
      if (r.code !== 0) throw new PostprocessError(`${t.path}: postprocess[${i}] failed with exit code ${r.code}: ${r.output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (t.postprocessScript) {
      const r = await runInSandbox(root, ['/tmp/fedostree-postprocess'], { roBinds: [[t.postprocessScript, '/tmp/fedostree-postprocess']] });
      log(`${ref}: postprocess-script: exit ${r.code} in ${r.ms.toFixed(0)} ms`);
      if (r.code !== 0) throw new PostprocessError(`${t.path}: postprocess-script ${t.postprocessScript} failed with exit code ${r.code}: ${r.output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    phase('treefile-edits');
    // ---- OSTree postprocessing
    const kver = await placeKernel(root, tf['initramfs-args'] ?? [], (s) => log(`${ref}: ${s}`));
    const prevVersion = prevMeta('version');
    const version = tf['automatic-version-prefix'] !== undefined ? nextVersion(tf['automatic-version-prefix'], typeof prevVersion === 'string' ? prevVersion : undefined) : undefined;
    if (tf['mutate-os-release'] !== undefined && version) await mutateOsRelease(root, tf['mutate-os-release'], version);
    await enableUnits(root, tf.units ?? [], tf['default-target']);
    // uid/gid stability
    const passwdNow = parseDb(await readFile(join(root, 'etc/passwd'), 'utf8').catch(() => ''));
    const groupNow = parseDb(await readFile(join(root, 'etc/group'), 'utf8').catch(() => ''));
    for (const [kind, key, now] of [['passwd', 'check-passwd', passwdNow], ['group', 'check-groups', groupNow]] as const) {
      const chk = tf[key] ?? { type: 'previous' as const };
      let expected = new Map<string, number>();
      let source = '';
      if (chk.type === 'previous' && parent) {
        const text = (await readTreeFile(output, parent, [`usr/lib/${kind}`])) + (await readTreeFile(output, parent, [`usr/etc/${kind}`]));
        expected = new Map([...parseDb(text)].map(([n, f]) => [n, Number(f[2])]));
        source = `the previous commit ${parent.slice(0, 12)}`;
      } else if (chk.type === 'file' && chk.filename) {
        const file = resolve(t.dir, chk.filename);
        expected = new Map([...parseDb(await readFile(file, 'utf8'))].map(([n, f]) => [n, Number(f[2])]));
        source = file;
      } else if (chk.type === 'data') {
        expected = new Map(Object.entries(chk.entries ?? {}).map(([n, v]) => [n, Array.isArray(v) ? v[0] : v]));
        source = `${key} in ${t.path}`;
      }
      checkIds(kind, now, expected, source);
    }
    await splitPasswd(root, tf['etc-group-members'] ?? []);
    await moveEtc(root, tf['machineid-compat'] !== false);
    const installTime = sourceDateEpoch() ?? Math.floor(Date.now() / 1000);
    await rm(join(root, 'usr/share/rpm'), { recursive: true, force: true });
    await writeRpmdb(join(root, 'usr/share/rpm'), ordered.map((p) => ({ header: p.c.pkg.header, signature: p.c.pkg.signature })), { installTime });
    await toplevelLayout(root, tf['tmp-is-dir'] === true);
    await varToTmpfiles(root);
    phase('postprocess');
    // ---- commit
    const ro = tf['readonly-executables'] === true;
    const xattrsFor = tf.selinux === true ? await loadTreeLabeler(root) : undefined;
    if (tf.selinux === true && !xattrsFor) log(`${ref}: selinux: true, but the tree has no policy (/etc/selinux/config + file_contexts); not labelling`);
    const { tree, stats } = await mtreeFromRootfs(output, root, {
      cache, devino: ctx.devino, onProgress: options.onProgress, xattrsFor,
      adjustMode: ro ? (_rel, mode) => ((mode & 0o170000) === 0o100000 && (mode & 0o111) ? mode & ~0o222 : mode) : undefined,
    });
    const pkglist = [...ordered].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.nevra < b.nevra ? -1 : 1))
      .map((p) => `(${[p.c.name, String(p.c.epoch), p.c.version, p.c.release, p.c.arch].map((s) => JSON.stringify(s)).join(', ')})`);
    const repoEntries = plan.repos.map((r) => {
      const ts = Math.max(0, ...[...r.repomd.records.values()].map((x) => x.timestamp ?? 0));
      return `{"id": <${JSON.stringify(r.config.id)}>, "timestamp": <uint64 ${ts}>}`;
    });
    const metadata: MetaEntry[] = [];
    if (version) metadata.push(metaString('version', version));
    metadata.push(metaString('rpmostree.inputhash', inputhash));
    metadata.push(parseMetadataArg(`rpmostree.rpmdb.pkglist=@a(sssss) [${pkglist.join(', ')}]`));
    metadata.push(parseMetadataArg(`rpmostree.rpmmd-repos=@aa{sv} [${repoEntries.join(', ')}]`));
    if (kver) {
      metadata.push(parseMetadataArg('ostree.bootable=true'));
      metadata.push(metaString('ostree.linux', kver));
    }
    for (const [k, v] of Object.entries(tf['add-commit-metadata'] ?? {})) metadata.push(metaFromJson(k, v));
    const sign = options.sign;
    // The shared repository lock, as ostree's transactions take it: a prune (ours or ostree's) waits
    // until the new objects are reachable from the ref.
    const lock = await output.lock(false);
    let commit: string;
    try {
      commit = await commitTree(output, tree, {
        branch: ref, parent, metadata, subject: '',
        beforeRefUpdate: sign ? (c) => signCommit(output, c, sign) : undefined,
      });
    } finally {
      await lock.release();
    }
    phase('commit');
    log(`${ref}: phases ${Object.entries(phases).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
    log(`${ref}: committed ${commit}${version ? ` (version ${version})` : ''}: ${stats.files} files, ${stats.written} objects written, ${stats.reused} already in the repository`);
    return {
      ...base, commit, changed: true, version, kernel: kver, stats, phases, ms: performance.now() - started,
      scripts: runs.map((r) => ({ package: r.package, script: r.script, code: r.code, ms: r.ms, ignored: r.ignored })),
    };
  } finally {
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Every treefile (`*.yaml`, `*.yml`, `*.json`) under `dir`, sorted by relative path. */
export async function findTreefiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p);
    }
  };
  await walk(resolve(dir)).catch((err: unknown) => {
    throw new NotFoundError(`compose all: cannot read ${dir}: ${(err as Error).message}`);
  });
  return out.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1));
}
