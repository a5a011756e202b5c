// Benchmark: `fedostree resolve` vs `dnf install --assumeno` on a Fedora-scale repository (~63k packages),
// generated from the Debian package lists `apt-get update` leaves in /var/lib/apt/lists (metadata only).
// Jobs: an @core-like group, a desktop-sized job, one package on an installed set. Warm caches, medians.
// Run: npx node bench/resolve-dnf.ts [--runs N] [--keep]
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';

const run = promisify(execFile);
const CLI = new URL('../bin/fedostree.js', import.meta.url).pathname;
const LISTS = '/var/lib/apt/lists';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const keep = process.argv.includes('--keep');

interface Deb {
  name: string;
  epoch: string;
  ver: string;
  rel: string;
  arch: string;
  priority: string;
  requires: string[][];
  prereq: string[][];
  provides: Dep[];
  conflicts: Dep[];
  recommends: string[][];
  suggests: string[][];
  filename: string;
  size: number;
  sha256: string;
  summary: string;
}
interface Dep {
  name: string;
  flags?: string;
  epoch?: string;
  ver?: string;
  rel?: string;
}

/** rpm forbids '-' and ':' inside version and release: map them away, the same way everywhere. */
function splitVersion(v: string): { epoch: string; ver: string; rel: string } {
  let epoch = '0';
  const c = v.indexOf(':');
  if (c >= 0) {
    epoch = v.slice(0, c);
    v = v.slice(c + 1);
  }
  const d = v.lastIndexOf('-');
  const ver = (d >= 0 ? v.slice(0, d) : v).replace(/[-:]/g, '_');
  const rel = d >= 0 ? v.slice(d + 1).replace(/[-:]/g, '_') : '0';
  return { epoch, ver, rel };
}

const OPS: Record<string, string> = { '>=': 'GE', '<=': 'LE', '=': 'EQ', '<<': 'LT', '>>': 'GT', '<': 'LE', '>': 'GE' };

function parseDep(s: string): Dep | undefined {
  const m = /^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9]+)?\s*(?:\(\s*(<<|>>|<=|>=|=|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[.*\])?\s*$/.exec(s);
  if (!m) return undefined;
  if (!m[2]) return { name: m[1] };
  return { name: m[1], flags: OPS[m[2]], ...splitVersion(m[3]) };
}

function parseDepList(v: string | undefined): string[][] {
  if (!v) return [];
  return v.split(',').map((alt) => alt.split('|').map((x) => x.trim())).filter((a) => a.length && a[0] !== '');
}

const RPM_OP: Record<string, string> = { GE: '>=', LE: '<=', EQ: '=', LT: '<', GT: '>' };
function depText(d: Dep): string {
  if (!d.flags) return d.name;
  return `${d.name} ${RPM_OP[d.flags]} ${d.epoch && d.epoch !== '0' ? `${d.epoch}:` : ''}${d.ver}${d.rel ? `-${d.rel}` : ''}`;
}
/** A Debian alternative list as one rpm dependency: `a`, or `(a or b >= 1)`. */
function altText(alts: string[]): string | undefined {
  const deps = alts.map(parseDep).filter((d): d is Dep => d !== undefined);
  if (deps.length === 0) return undefined;
  if (deps.length === 1) return depText(deps[0]);
  return `(${deps.map(depText).join(' or ')})`;
}

async function readDebianPackages(): Promise<Deb[]> {
  const files = (await readdir(LISTS)).filter((f) => f.endsWith('_main_binary-amd64_Packages.lz4') || f.endsWith('_main_binary-amd64_Packages'));
  if (files.length === 0) throw new Error(`no Debian package lists in ${LISTS}: run apt-get update`);
  const byName = new Map<string, Deb>();
  for (const f of files) {
    const text = f.endsWith('.lz4') ? (await run('lz4cat', [join(LISTS, f)], { maxBuffer: 1 << 30 })).stdout : await readFile(join(LISTS, f), 'utf8');
    for (const para of text.split('\n\n')) {
      const fields = new Map<string, string>();
      let last = '';
      for (const line of para.split('\n')) {
        if (line.startsWith(' ')) {
          if (last) fields.set(last, `${fields.get(last)}\n${line}`);
          continue;
        }
        const c = line.indexOf(':');
        if (c > 0) fields.set((last = line.slice(0, c)), line.slice(c + 1).trim());
      }
      const name = fields.get('Package');
      const arch = fields.get('Architecture');
      if (!name || (arch !== 'amd64' && arch !== 'all')) continue;
      const v = splitVersion(fields.get('Version') ?? '0');
      const deps = (k: string): Dep[] => parseDepList(fields.get(k)).map((a) => parseDep(a[0])).filter((d): d is Dep => d !== undefined);
      const d: Deb = {
        name,
        ...v,
        arch: arch === 'all' ? 'noarch' : 'x86_64',
        priority: fields.get('Priority') ?? 'optional',
        requires: parseDepList(fields.get('Depends')),
        prereq: parseDepList(fields.get('Pre-Depends')),
        provides: deps('Provides'),
        conflicts: deps('Conflicts').filter((c) => c.name !== name),
        recommends: parseDepList(fields.get('Recommends')),
        suggests: parseDepList(fields.get('Suggests')),
        filename: fields.get('Filename') ?? `${name}.deb`,
        size: Number(fields.get('Size') ?? '0'),
        sha256: fields.get('SHA256') ?? createHash('sha256').update(name).digest('hex'),
        summary: (fields.get('Description') ?? '').split('\n')[0],
      };
      // Security/updates lists come later and carry newer versions: keep the last one seen.
      byName.set(name, d);
    }
  }
  return [...byName.values()];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function entry(text: string, pre = false): string {
  const m = /^([^\s()]+) (>=|<=|=|<|>) (?:(\d+):)?([^-\s]+)(?:-(\S+))?$/.exec(text);
  const preA = pre ? ' pre="1"' : '';
  if (!m) return `<rpm:entry name="${esc(text)}"${preA}/>`;
  const flags = { '>=': 'GE', '<=': 'LE', '=': 'EQ', '<': 'LT', '>': 'GT' }[m[2]];
  return `<rpm:entry name="${esc(m[1])}" flags="${flags}" epoch="${m[3] ?? '0'}" ver="${esc(m[4])}"${m[5] ? ` rel="${esc(m[5])}"` : ''}${preA}/>`;
}

async function gzWrite(path: string, chunks: Iterable<string>): Promise<void> {
  const gz = createGzip({ level: 6 });
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  gz.pipe(out);
  for (const c of chunks) if (!gz.write(c)) await new Promise((r) => gz.once('drain', r));
  gz.end();
  await done;
}

function* primaryXml(pkgs: Deb[]): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${pkgs.length}">\n`;
  for (const p of pkgs) {
    const req = [...p.prereq.map((a) => [altText(a), true] as const), ...p.requires.map((a) => [altText(a), false] as const)].filter(([t]) => t !== undefined);
    const list = (tag: string, items: string[]): string => (items.length ? `<rpm:${tag}>${items.map((t) => entry(t)).join('')}</rpm:${tag}>` : '');
    yield `<package type="rpm"><name>${esc(p.name)}</name><arch>${p.arch}</arch><version epoch="${p.epoch}" ver="${esc(p.ver)}" rel="${esc(p.rel)}"/>` +
      `<checksum type="sha256" pkgid="YES">${p.sha256}</checksum><summary>${esc(p.summary)}</summary><description/><packager/><url/>` +
      `<time file="1700000000" build="1700000000"/><size package="${p.size}" installed="${p.size}" archive="${p.size}"/>` +
      `<location href="Packages/${esc(p.name)}-${esc(p.ver)}-${esc(p.rel)}.${p.arch}.rpm"/><format><rpm:license>free</rpm:license><rpm:group>Unspecified</rpm:group>` +
      `<rpm:header-range start="0" end="1"/>` +
      list('provides', [`${p.name} = ${p.epoch !== '0' ? `${p.epoch}:` : ''}${p.ver}-${p.rel}`, ...p.provides.map(depText)]) +
      (req.length ? `<rpm:requires>${req.map(([t, pre]) => entry(t!, pre)).join('')}</rpm:requires>` : '') +
      list('conflicts', p.conflicts.map(depText)) +
      list('recommends', p.recommends.map(altText).filter((t): t is string => t !== undefined)) +
      list('suggests', p.suggests.map(altText).filter((t): t is string => t !== undefined)) +
      `</format></package>\n`;
  }
  yield '</metadata>\n';
}

async function record(dir: string, type: string, file: string, openText?: string): Promise<string> {
  const path = join(dir, 'repodata', file);
  const bytes = await readFile(path);
  const sum = createHash('sha256').update(bytes).digest('hex');
  const open = openText !== undefined ? `<open-checksum type="sha256">${createHash('sha256').update(openText).digest('hex')}</open-checksum>` : '';
  return `<data type="${type}"><checksum type="sha256">${sum}</checksum>${open}<location href="repodata/${file}"/><timestamp>1700000000</timestamp><size>${(await stat(path)).size}</size></data>\n`;
}

async function makeRepo(dir: string, pkgs: Deb[], comps: string): Promise<void> {
  await mkdir(join(dir, 'repodata'), { recursive: true });
  await gzWrite(join(dir, 'repodata/primary.xml.gz'), primaryXml(pkgs));
  await gzWrite(join(dir, 'repodata/filelists.xml.gz'), [
    `<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="${pkgs.length}">\n`,
    ...pkgs.map((p) => `<package pkgid="${p.sha256}" name="${esc(p.name)}" arch="${p.arch}"><version epoch="${p.epoch}" ver="${esc(p.ver)}" rel="${esc(p.rel)}"/></package>\n`),
    '</filelists>\n',
  ]);
  await writeFile(join(dir, 'repodata/comps.xml'), comps);
  const recs = [await record(dir, 'primary', 'primary.xml.gz'), await record(dir, 'filelists', 'filelists.xml.gz'), await record(dir, 'group', 'comps.xml')];
  await writeFile(join(dir, 'repodata/repomd.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm"><revision>1700000000</revision>\n${recs.join('')}</repomd>\n`);
}

function compsXml(groups: Record<string, { mandatory: string[]; default: string[] }>): string {
  const g = Object.entries(groups).map(([id, l]) =>
    `<group><id>${id}</id><name>${id}</name><default>false</default><uservisible>true</uservisible><packagelist>` +
    l.mandatory.map((n) => `<packagereq type="mandatory">${esc(n)}</packagereq>`).join('') +
    l.default.map((n) => `<packagereq type="default">${esc(n)}</packagereq>`).join('') +
    '</packagelist></group>');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<comps>\n${g.join('\n')}\n</comps>\n`;
}

/** An installed set for the third job: a spec with one subpackage per package of the core result, installed with rpm --justdb. */
async function makeInstalledRoot(dir: string, root: string, home: string, pkgs: Deb[]): Promise<void> {
  const spec: string[] = ['Name: bench-installed', 'Version: 1', 'Release: 1', 'Summary: x', 'License: MIT', 'BuildArch: noarch', '%description', 'x', ''];
  for (const p of pkgs) {
    spec.push(`%package -n ${p.name}`, `Summary: ${p.name}`, ...(p.epoch !== '0' ? [`Epoch: ${p.epoch}`] : []), `Version: ${p.ver}`, `Release: ${p.rel}`);
    for (const pr of p.provides) spec.push(`Provides: ${depText(pr)}`);
    for (const a of [...p.prereq, ...p.requires]) {
      const t = altText(a);
      if (t) spec.push(`Requires: ${t}`);
    }
    spec.push('', `%description -n ${p.name}`, p.name, '', `%files -n ${p.name}`, '');
  }
  await writeFile(join(dir, 'installed.spec'), spec.join('\n'));
  const top = join(dir, 'rpmbuild');
  await run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', '_build_id_links none', '--target', 'noarch', join(dir, 'installed.spec')], { maxBuffer: 1 << 28, env: { ...process.env, HOME: home } });
  const rpms = (await readdir(join(top, 'RPMS/noarch'))).filter((f) => !f.startsWith('bench-installed')).map((f) => join(top, 'RPMS/noarch', f));
  await mkdir(root, { recursive: true });
  await run('rpm', ['--root', root, '--initdb'], { env: { ...process.env, HOME: home } });
  await run('rpm', ['--root', root, '-i', '--nodeps', '--justdb', '--ignorearch', '--ignoreos', ...rpms], { maxBuffer: 1 << 28, env: { ...process.env, HOME: home } });
}

interface Timed {
  ms: number;
  /** user + system CPU time of the command (less sensitive to a busy machine than wall time). */
  cpuMs: number;
  stdout: string;
  stderr: string;
  code: number;
}

/** Run a command under /usr/bin/time for wall and CPU time. */
async function timeIt(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', '@@cpu %U %S', cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const m = /@@cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      resolve({ ms: performance.now() - t0, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, stdout, stderr: stderr.replace(/@@cpu .*\s*$/, ''), code: code ?? -1 });
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fedostree-bench-resolve-'));
  try {
    const t0 = performance.now();
    const pkgs = await readDebianPackages();
    const byPrio = (p: string): string[] => pkgs.filter((x) => x.priority === p).map((x) => x.name);
    const comps = compsXml({
      core: { mandatory: [...byPrio('required'), ...byPrio('important')], default: byPrio('standard') },
      desktop: { mandatory: ['gnome-core', 'xorg'], default: ['firefox-esr', 'libreoffice-writer', 'evolution', 'inkscape'] },
    });
    const repo = join(dir, 'repo');
    await makeRepo(repo, pkgs, comps);
    const home = join(dir, 'home');
    await mkdir(home);
    await writeFile(join(home, '.rpmmacros'), '%_dbpath /usr/share/rpm\n');
    await writeFile(join(dir, 'bench.repo'), `[bench]\nname=bench\nbaseurl=file://${repo}\ngpgcheck=0\n`);
    await mkdir(join(dir, 'reposd'));
    await writeFile(join(dir, 'reposd/bench.repo'), `[bench]\nname=bench\nbaseurl=file://${repo}\ngpgcheck=0\nmetadata_expire=-1\n`);
    await writeFile(join(dir, 'dnf.conf'), `[main]\ngpgcheck=0\ninstallonly_limit=3\nbest=False\nreposdir=${join(dir, 'reposd')}\n`);
    const primarySize = (await stat(join(repo, 'repodata/primary.xml.gz'))).size;
    console.log(`repository: ${pkgs.length} packages, primary.xml.gz ${(primarySize / 1e6).toFixed(1)} MB (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    // Warm caches on both sides: dnf's solv cache, our solv cache and Node's compile cache.
    const env = { ...process.env, HOME: home, LC_ALL: 'C.UTF-8', NODE_COMPILE_CACHE: join(dir, 'node-compile-cache') };
    const ours = (args: string[], installed?: string): Promise<Timed> =>
      timeIt(process.execPath, [CLI, 'resolve', '--timing', '--json', '--repo-file', join(dir, 'bench.repo'), '--arch', 'x86_64', '--cachedir', join(dir, 'cache-ours'), ...(installed ? ['--installed', installed] : []), ...args], env);
    const dnf = async (args: string[], installed?: string): Promise<Timed> => {
      const root = installed ?? join(dir, 'dnf-empty-root');
      await mkdir(root, { recursive: true });
      return timeIt('dnf', ['-c', join(dir, 'dnf.conf'), '-y', `--installroot=${root}`, '--releasever=39', '--forcearch=x86_64', `--setopt=cachedir=${join(dir, 'cache-dnf')}`, '--setopt=install_weak_deps=True', '--nogpgcheck', '--assumeno', 'install', ...args], env);
    };
    const countDnf = (out: string): number => Number(/^Install\s+(\d+) Package/m.exec(out)?.[1] ?? '0') + Number(/^Upgrade\s+(\d+) Package/m.exec(out)?.[1] ?? '0');
    const countOurs = (out: string): number => {
      try {
        const j = JSON.parse(out) as { install: string[]; upgrade: string[] };
        return j.install.length + j.upgrade.length;
      } catch {
        return -1;
      }
    };

    // Installed set for job 3: what @core resolves to.
    const core = await ours(['@core']);
    if (core.code !== 0) throw new Error(`resolve @core failed: ${core.stderr}`);
    const coreNames = new Set((JSON.parse(core.stdout) as { install: string[] }).install.map((n) => n.replace(/-[^-]+-[^-]+$/, '')));
    const installedRoot = join(dir, 'installed-root');
    await makeInstalledRoot(dir, installedRoot, home, pkgs.filter((p) => coreNames.has(p.name)));

    const jobs: Array<{ name: string; args: string[]; installed?: string }> = [
      { name: '@core-like group', args: ['@core'] },
      { name: 'desktop-sized', args: ['@core', '@desktop'] },
      { name: 'one package on an installed set', args: ['openssh-server'], installed: installedRoot },
    ];
    console.log(`runs per tool and job: ${runs} (after one warm-up each), medians; load average now ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores\n`);
    console.log('job                               | pkgs ours/dnf | wall ms ours / dnf (dnf/ours) | CPU ms ours / dnf (dnf/ours) | fedostree split (start, modules, metadata, installed set, pool load, solve)');
    for (const job of jobs) {
      await ours(job.args, job.installed);
      await dnf(job.args, job.installed);
      const o: number[] = [];
      const d: number[] = [];
      const oc: number[] = [];
      const dc: number[] = [];
      let last = { stdout: '', stderr: '' };
      let lastD = '';
      for (let i = 0; i < runs; i++) {
        const a = await ours(job.args, job.installed);
        if (a.code !== 0) throw new Error(`fedostree ${job.name} failed: ${a.stderr}`);
        o.push(a.ms);
        oc.push(a.cpuMs);
        last = a;
        const b = await dnf(job.args, job.installed);
        d.push(b.ms);
        dc.push(b.cpuMs);
        lastD = b.stdout + b.stderr;
      }
      const split = /timing: (.*)/.exec(last.stderr)?.[1] ?? '';
      console.log(
        `${job.name.padEnd(34)}| ${String(countOurs(last.stdout)).padStart(5)}/${String(countDnf(lastD)).padEnd(7)}| ${median(o).toFixed(0).padStart(7)} / ${median(d).toFixed(0).padStart(5)} (${(median(d) / median(o)).toFixed(2)})` +
          `        | ${median(oc).toFixed(0).padStart(6)} / ${median(dc).toFixed(0).padStart(5)} (${(median(dc) / median(oc)).toFixed(2)})         | ${split}`,
      );
    }
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

await main();
