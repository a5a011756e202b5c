/**
 * `npm run samples`: build (or reuse) the sample RPM distribution and print, as the last line
 * of stdout, the directory that holds repo-v1/, repo-v2/, trees/ and trees-v2/.
 *
 * Cache: ${FEDOSTREE_SAMPLES_DIR:-${XDG_CACHE_HOME:-~/.cache}/fedostree/samples}/
 *   closure/<key>.json    apt's resolution of packages.txt (key: the names + apt's package lists)
 *   debs/                 downloaded .debs (by file name)
 *   rpms/<key>/           RPMs converted from the .debs (key: generator sources + .deb names)
 *   extras/<key>/         generated packages (key: generator sources + Node version)
 *   client/<key>/         the fedostree package (key: generator sources + fedostree sources)
 *   <key>/                the finished output (key: all of the above); `.complete` marks it done
 * Progress goes to stderr. See samples/README.md.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { cp, link, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../src/util/atomic.ts';
import { mapLimit } from '../src/util/concurrency.ts';
import { FedostreeError } from '../src/util/errors.ts';
import { dropVirtualConflicts, prepareDeb, settleClashes, type Prepared } from './lib/convert.ts';
import { debFileName, downloadDebs, resolveClosure, type DebRef } from './lib/debs.ts';
import { rpmbuild } from './lib/rpmbuild.ts';
import { groupsFor, renderComps, V1_ONLY_GENERATED, V2_BUMPS, V2_ONLY, type SnapshotName } from './lib/snapshots.ts';
import { renderSpec } from './lib/spec.ts';
import { parseIdNames } from './lib/tree.ts';

const run = promisify(execFile);
const SAMPLES = dirname(fileURLToPath(import.meta.url));
const PROJECT = dirname(SAMPLES);
const WORKERS = 2;

const T0 = Date.now();
function log(msg: string): void {
  process.stderr.write(`[samples +${((Date.now() - T0) / 1000).toFixed(0)}s] ${msg}\n`);
}

/** All files under `dir` (relative paths, sorted), skipping names `skip` rejects. */
async function listFiles(dir: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

async function hashFiles(dir: string, files: string[], h = createHash('sha256')): Promise<string> {
  for (const f of files) h.update(`${f}\0`).update(await readFile(join(dir, f))).update('\0');
  return h.digest('hex');
}

function hashOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/** The cache root (FEDOSTREE_SAMPLES_DIR wins, then XDG_CACHE_HOME, then ~/.cache). */
export function cacheRoot(): string {
  if (process.env.FEDOSTREE_SAMPLES_DIR) return process.env.FEDOSTREE_SAMPLES_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fedostree', 'samples');
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** The production node_modules directories of the project (what the fedostree package carries). */
async function prodModules(): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(PROJECT, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  return Object.entries(lock.packages ?? {})
    .filter(([k, v]) => k.startsWith('node_modules/') && !v.dev && !v.devOptional)
    .map(([k]) => k)
    .sort();
}

/** Files of the fedostree package, relative to the project root. */
async function fedostreeFiles(): Promise<string[]> {
  const src = (await listFiles(join(PROJECT, 'src'), (r) => r.endsWith('.test.ts'))).map((f) => `src/${f}`);
  const bin = (await listFiles(join(PROJECT, 'bin'))).map((f) => `bin/${f}`);
  return [...src, ...bin, 'package.json', 'native/build/Release/solv.node', 'native/build/Release/fslock.node'];
}

/**
 * apt's closure of `names`, cached under `closure/` keyed by the names and the apt package lists
 * (file names, sizes, mtimes), since resolving takes apt several seconds.
 */
async function cachedClosure(root: string, names: string[]): Promise<DebRef[]> {
  const lists = '/var/lib/apt/lists';
  const h = createHash('sha256').update(names.join('\n'));
  for (const f of (await readdir(lists).catch(() => [] as string[])).filter((x) => x.includes('_Packages')).sort()) {
    const st = await stat(join(lists, f));
    h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  const file = join(root, 'closure', `${h.digest('hex').slice(0, 16)}.json`);
  const cached = await readFile(file, 'utf8').catch(() => undefined);
  if (cached) return JSON.parse(cached) as DebRef[];
  log(`resolving the closure of ${names.length} Debian packages with apt`);
  const refs = await resolveClosure(names);
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(refs));
  return refs;
}

/** Convert every .deb into RPMs under `outDir` (base set) and `outDir/v2` (bumped rebuilds). */
async function convertDebs(debs: string[], outDir: string): Promise<void> {
  const ids = parseIdNames(await readFile(join(SAMPLES, 'setup/passwd'), 'utf8'), await readFile(join(SAMPLES, 'setup/group'), 'utf8'));
  const work = await mkdtemp(join(tmpdir(), 'fedostree-samples-'));
  try {
    let done = 0;
    const prepared = await mapLimit(debs, WORKERS, async (deb, i) => {
      const p = await prepareDeb(deb, join(work, `p${i}`), ids);
      if (++done % 20 === 0 || done === debs.length) log(`unpacked ${done}/${debs.length} .debs`);
      return p;
    });
    const clashes = await settleClashes(prepared);
    for (const c of clashes) log(`clash: ${c}`);
    for (const p of prepared) for (const d of p.report.dropped) log(`dropped from ${p.meta.name}: ${d}`);
    const dropped = new Map(prepared.map((p) => [p.meta.name, new Set(p.files.map((f) => f.path))]));
    // v2 rebuilds: unpack again, bump, and keep exactly the paths the base build kept.
    const bumped: Prepared[] = [];
    for (const [i, deb] of debs.entries()) {
      const name = prepared[i].meta.name;
      const b = V2_BUMPS[name];
      if (!b) continue;
      const p = await prepareDeb(deb, join(work, `b${i}`), ids, { ...b, release: `${prepared[i].meta.evr.release}.fs2` });
      const keep = dropped.get(name) ?? new Set<string>();
      p.files = p.files.filter((f) => keep.has(f.path));
      bumped.push(p);
    }
    const virtualConflicts = [...new Set(dropVirtualConflicts([...prepared, ...bumped]))];
    if (virtualConflicts.length) log(`dropped ${virtualConflicts.length} versioned conflicts on virtual packages (apt matches those only against real packages), e.g. ${virtualConflicts[0]}`);
    const jobs: Array<{ p: Prepared; out: string }> = [
      ...prepared.map((p) => ({ p, out: outDir })),
      ...bumped.map((p) => ({ p, out: join(outDir, 'v2') })),
    ];
    // Biggest first, so the kernel does not finish last on one worker.
    jobs.sort((a, b) => (a.p.payload === 'zstd-fast' ? 0 : 1) - (b.p.payload === 'zstd-fast' ? 0 : 1));
    done = 0;
    await mapLimit(jobs, WORKERS, async ({ p, out }, i) => {
      const spec = join(work, `spec${i}`, `${p.meta.name}.spec`);
      await mkdir(dirname(spec), { recursive: true });
      await writeFile(spec, renderSpec({ meta: p.meta, files: p.files, tree: p.tree, payload: p.payload, scriptlets: p.scriptlets }));
      await rpmbuild(spec, join(work, `top${i}`), out);
      await rm(join(work, `top${i}`), { recursive: true, force: true });
      if (++done % 20 === 0 || done === jobs.length) log(`built ${done}/${jobs.length} RPMs from .debs`);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Build the generated packages (all but fedostree) into `outDir/{common,v1,v2}`. */
async function buildExtras(outDir: string, nodeVersion: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fedostree-samples-extra-'));
  try {
    const spec = (n: string): string => join(SAMPLES, 'specs', `${n}.spec`);
    const jobs: Array<{ spec: string; out: string; defines: Record<string, string> }> = [
      { spec: spec('nodejs'), out: 'common', defines: { sample_src: join(PROJECT, 'node_modules/node/bin'), sample_version: nodeVersion } },
      { spec: spec('filesystem'), out: 'common', defines: {} },
      { spec: spec('setup'), out: 'common', defines: { sample_src: join(SAMPLES, 'setup') } },
      { spec: spec('nss-altfiles'), out: 'common', defines: { sample_src: join(SAMPLES, 'src') } },
      { spec: spec('fedostree-release'), out: 'v1', defines: { sample_version: '1' } },
      { spec: spec('fedostree-release'), out: 'v2', defines: { sample_version: '2' } },
      ...V1_ONLY_GENERATED.map((n) => ({ spec: spec(n), out: 'v1', defines: {} })),
    ];
    await mapLimit(jobs, WORKERS, async (j, i) => {
      await rpmbuild(j.spec, join(work, `top${i}`), join(outDir, j.out), j.defines);
    });
    log(`built ${jobs.length} generated packages`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Package the fedostree client from this working tree into `outDir`. */
async function buildFedostree(outDir: string, release: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'fedostree-samples-client-'));
  try {
    const stage = join(work, 'fedostree');
    for (const f of await fedostreeFiles()) {
      await mkdir(dirname(join(stage, f)), { recursive: true });
      await cp(join(PROJECT, f), join(stage, f));
    }
    for (const m of await prodModules()) await cp(join(PROJECT, m), join(stage, m), { recursive: true });
    const version = (JSON.parse(await readFile(join(PROJECT, 'package.json'), 'utf8')) as { version: string }).version;
    const defines = { sample_src: stage, sample_version: version, sample_release: release };
    await rpmbuild(join(SAMPLES, 'specs', 'fedostree.spec'), join(work, 'top'), outDir, defines);
    log(`built fedostree-${version}-${release}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Hard-link (or copy) every .rpm of `dirs` into `dest`, later dirs replacing same-named packages. */
async function gatherRpms(dirs: string[], dest: string, exclude: (file: string) => boolean): Promise<void> {
  await mkdir(dest, { recursive: true });
  const byName = new Map<string, string>();
  for (const d of dirs) {
    for (const f of (await readdir(d).catch(() => [] as string[])).filter((x) => x.endsWith('.rpm'))) {
      if (exclude(f)) continue;
      // Every file here is named N-V-R.A.rpm, and neither V nor R holds a '-'.
      byName.set(f.replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, ''), join(d, f));
    }
  }
  for (const src of byName.values()) {
    const to = join(dest, src.split('/').pop() ?? '');
    await link(src, to).catch(async () => cp(src, to));
  }
}

async function writeRepoFiles(treesDir: string, repoDir: string, snap: SnapshotName): Promise<void> {
  await cp(join(SAMPLES, 'trees'), treesDir, { recursive: true });
  const repo = [
    '[fedostree-sample]',
    `name=Fedostree sample distribution (snapshot ${snap})`,
    `baseurl=file://${repoDir}`,
    'enabled=1',
    'gpgcheck=0',
    '',
  ].join('\n');
  for (const sub of ['base', 'server']) await writeFile(join(treesDir, sub, 'fedostree-sample.repo'), repo);
  await writeFile(join(treesDir, 'fedostree-sample.repo'), repo);
}

/**
 * Serialise builds that share a cache root (parallel test files may all ask for the samples):
 * an atomic mkdir of `<root>/.lock` holding the owner's pid; a dead owner's lock is taken over.
 */
async function withLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(root, '.lock');
  await mkdir(root, { recursive: true });
  let waited = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
      let alive = true;
      if (pid > 0) {
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (!waited) log(`waiting for another build (pid ${pid || '?'}) holding ${lock}`);
      waited = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const root = cacheRoot();
  // Conversion of .debs depends on lib/ and setup/ only; build.ts, specs/, trees/ changes reuse it.
  const convFiles = (await listFiles(SAMPLES, (r) => r.endsWith('.test.ts'))).filter((f) => f.startsWith('lib/') || f.startsWith('setup/'));
  const convHash = await hashFiles(SAMPLES, convFiles);
  const genHash = await hashFiles(SAMPLES, await listFiles(SAMPLES, (r) => r.endsWith('.test.ts') || r === 'README.md'));
  const fedFiles = await fedostreeFiles();
  const fedHash = await hashFiles(PROJECT, fedFiles);
  const nodeVersion = (await run(join(PROJECT, 'node_modules/node/bin/node'), ['--version'])).stdout.trim().replace(/^v/, '');
  const prodDeps = (await readFile(join(PROJECT, 'package-lock.json'), 'utf8').catch(() => '')).length.toString();
  const outKey = hashOf(genHash, fedHash, nodeVersion, prodDeps);
  const out = join(root, outKey);
  if (await exists(join(out, '.complete'))) {
    log(`reusing ${out}`);
    process.stdout.write(`${out}\n`);
    return;
  }
  await withLock(root, () => build(root, out, { convHash, genHash, fedHash, nodeVersion, prodDeps }));
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.stdout.write(`${out}\n`);
}

interface Keys {
  convHash: string;
  genHash: string;
  fedHash: string;
  nodeVersion: string;
  prodDeps: string;
}

async function build(root: string, out: string, { convHash, genHash, fedHash, nodeVersion, prodDeps }: Keys): Promise<void> {
  if (await exists(join(out, '.complete'))) return; // another process finished it while we waited
  await mkdir(join(root, 'debs'), { recursive: true });

  const names = (await readFile(join(SAMPLES, 'packages.txt'), 'utf8'))
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  const refs = await cachedClosure(root, names);
  log(`downloading ${refs.length} .debs into ${join(root, 'debs')}`);
  const debs = await downloadDebs(refs, join(root, 'debs'));

  const rpmsDir = join(root, 'rpms', hashOf(convHash, ...refs.map(debFileName)));
  if (!(await exists(join(rpmsDir, '.complete')))) {
    await rm(rpmsDir, { recursive: true, force: true });
    log(`converting ${debs.length} .debs to RPMs in ${rpmsDir}`);
    await convertDebs(debs, rpmsDir);
    await writeFile(join(rpmsDir, '.complete'), '');
  } else log(`reusing converted RPMs in ${rpmsDir}`);

  const extrasDir = join(root, 'extras', hashOf(genHash, nodeVersion));
  if (!(await exists(join(extrasDir, '.complete')))) {
    await rm(extrasDir, { recursive: true, force: true });
    await buildExtras(extrasDir, nodeVersion);
    await writeFile(join(extrasDir, '.complete'), '');
  }
  // The client changes with every commit to src/: kept apart so only it is rebuilt then.
  const clientDir = join(root, 'client', hashOf(genHash, fedHash, prodDeps));
  if (!(await exists(join(clientDir, '.complete')))) {
    await rm(clientDir, { recursive: true, force: true });
    await buildFedostree(clientDir, `1.${fedHash.slice(0, 8)}`);
    await writeFile(join(clientDir, '.complete'), '');
  }

  const tmpOut = `${out}.tmp-${process.pid}`;
  await rm(tmpOut, { recursive: true, force: true });
  const v2Only = new Set(V2_ONLY);
  const isV2Only = (f: string): boolean => [...v2Only].some((n) => f.startsWith(`${n}-`) && /^[0-9]/.test(f.slice(n.length + 1)));
  for (const snap of ['v1', 'v2'] as const) {
    const repo = join(tmpOut, `repo-${snap}`);
    const dirs = [rpmsDir, ...(snap === 'v2' ? [join(rpmsDir, 'v2')] : []), join(extrasDir, 'common'), join(extrasDir, snap), clientDir];
    await gatherRpms(dirs, join(repo, 'Packages'), (f) => snap === 'v1' && isV2Only(f));
    await writeFile(join(tmpOut, `comps-${snap}.xml`), renderComps(groupsFor(snap)));
    log(`createrepo_c repo-${snap} (${(await readdir(join(repo, 'Packages'))).length} packages)`);
    await run('createrepo_c', ['--quiet', '--workers', String(WORKERS), '--groupfile', join(tmpOut, `comps-${snap}.xml`), repo], {
      maxBuffer: 16 << 20,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new FedostreeError('ECREATEREPO', `createrepo_c ${repo}: ${err.stderr ?? err.message}`);
    });
    await writeRepoFiles(join(tmpOut, snap === 'v1' ? 'trees' : 'trees-v2'), join(out, `repo-${snap}`), snap);
  }
  await writeFile(join(tmpOut, '.complete'), `${new Date().toISOString()}\n`);
  await rm(out, { recursive: true, force: true });
  await rename(tmpOut, out);
}

try {
  await main();
} catch (err) {
  if (err instanceof FedostreeError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
