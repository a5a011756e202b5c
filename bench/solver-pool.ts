/**
 * Micro-benchmark: load a large generated rpm-md repo into a pool and solve an install, against dnf
 * doing the same (metadata load + depsolve, stopping at the prompt) in the same run.
 *
 *   npx node bench/solver-pool.ts [packages=30000] [runs=3]
 *
 * The repo is synthetic (primary.xml.gz + repomd.xml written here): N packages in layers, each
 * requiring a few packages of the layer below, some by virtual provides and rich deps.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Pool } from '../src/solver/index.ts';

const N = Number(process.argv[2] ?? 30000);
const RUNS = Number(process.argv[3] ?? 3);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function primaryXml(n: number): string {
  const rand = rng(42);
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${n}">`];
  const layer = 1000;
  for (let i = 0; i < n; i++) {
    const name = `pkg${i}`;
    const arch = i % 7 === 0 ? 'noarch' : 'x86_64';
    const req: string[] = [];
    if (i >= layer) {
      // a few deps in the layer below, near the same column: closures of a few hundred packages
      const below = i - layer;
      req.push(`<rpm:entry name="pkg${below}"/>`);
      req.push(`<rpm:entry name="cap${Math.max(0, below - 1 - Math.floor(rand() * 3))}" flags="GE" epoch="0" ver="1"/>`);
      if (i % 5 === 0) req.push(`<rpm:entry name="(pkg${below + 1} or pkg${below + 2})"/>`);
    }
    const sha = createHash('sha256').update(name).digest('hex');
    out.push(`<package type="rpm"><name>${name}</name><arch>${arch}</arch><version epoch="0" ver="1.${i % 10}" rel="1"/>` +
      `<checksum type="sha256" pkgid="YES">${sha}</checksum><summary>s</summary><description>d</description><packager/><url/>` +
      `<time file="1" build="1"/><size package="1000" installed="2000" archive="2100"/><location href="Packages/${name}.rpm"/>` +
      `<format><rpm:license>MIT</rpm:license><rpm:vendor/><rpm:group>x</rpm:group><rpm:buildhost>h</rpm:buildhost><rpm:sourcerpm>${name}.src.rpm</rpm:sourcerpm>` +
      `<rpm:header-range start="100" end="900"/>` +
      `<rpm:provides><rpm:entry name="${name}" flags="EQ" epoch="0" ver="1.${i % 10}" rel="1"/><rpm:entry name="cap${i}" flags="EQ" epoch="0" ver="1"/></rpm:provides>` +
      (req.length ? `<rpm:requires>${req.join('')}</rpm:requires>` : '') +
      `<file>/usr/bin/${name}</file></format></package>`);
  }
  out.push('</metadata>\n');
  return out.join('\n');
}

function writeRepo(dir: string): string {
  mkdirSync(join(dir, 'repodata'), { recursive: true });
  const xml = Buffer.from(primaryXml(N));
  const gz = gzipSync(xml);
  const sum = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const primary = join(dir, 'repodata', `${sum(gz)}-primary.xml.gz`);
  writeFileSync(primary, gz);
  writeFileSync(join(dir, 'repodata', 'repomd.xml'), `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1</revision>
  <data type="primary">
    <checksum type="sha256">${sum(gz)}</checksum>
    <open-checksum type="sha256">${sum(xml)}</open-checksum>
    <location href="repodata/${primary.split('/').pop()}"/>
    <timestamp>1</timestamp>
    <size>${gz.length}</size>
    <open-size>${xml.length}</open-size>
  </data>
</repomd>
`);
  return primary;
}

function time<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'fedostree-bench-solver-'));
try {
  const primary = writeRepo(dir);
  const targets = [`pkg${N - 1}`, `pkg${N - 500}`, `pkg${Math.floor(N / 2)}`];
  console.log(`repo: ${N} packages, primary.xml.gz ${(statSync(primary).size / 1e6).toFixed(1)} MB; install ${targets.join(' ')}`);

  const ours: number[] = [];
  const loads: number[] = [];
  let count = 0;
  for (let r = 0; r < RUNS; r++) {
    const [n, ms] = time(() => {
      const pool = Pool.create({ arch: 'x86_64' });
      try {
        loads.push(time(() => pool.addRpmmdRepo({ id: 'big', primary }))[1]);
        const res = pool.solve(targets.map((spec) => ({ op: 'install' as const, spec })), { noWeakDeps: true });
        if (!res.ok) throw new Error(res.problems.map((p) => p.summary).join('; '));
        return res.transaction.install.length;
      } finally {
        pool.free();
      }
    });
    count = n;
    ours.push(ms);
  }

  const dnfTimes: number[] = [];
  let dnfCount = 0;
  for (let r = 0; r < RUNS; r++) {
    const root = join(dir, `root${r}`); // fresh root and cache: dnf parses the metadata like we do
    const [out, ms] = time(() => {
      try {
        return execFileSync('dnf', [`--installroot=${root}`, '--setopt=reposdir=/dev/null', `--setopt=cachedir=${join(root, 'cache')}`,
          `--repofrompath=big,file://${dir}`, '--setopt=big.gpgcheck=0', '--releasever=1', '--assumeno',
          '--setopt=install_weak_deps=False', '--setopt=optional_metadata_types=', 'install', ...targets], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        return (err as { stdout?: string }).stdout ?? '';
      }
    });
    dnfCount = Number(/Install\s+(\d+) Packages?/.exec(out)?.[1] ?? NaN);
    dnfTimes.push(ms);
  }
  const a = median(ours);
  const b = median(dnfTimes);
  console.log(`fedostree pool load + solve: ${a.toFixed(0)} ms median of ${RUNS} (load ${median(loads).toFixed(0)} ms; installs ${count})`);
  console.log(`dnf install --assumeno:      ${b.toFixed(0)} ms median of ${RUNS} (installs ${dnfCount})`);
  console.log(`ratio fedostree/dnf: ${(a / b).toFixed(2)}  (dnf time includes its Python start-up and .solv cache writing)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
