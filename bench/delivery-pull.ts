/**
 * Benchmark: delivery of a tree of real files (copied from /usr/lib, default 300 MB) against the
 * real ostree in the same run: HTTP pull from nginx into archive and bare-user repositories
 * (`fedostree pull` vs `ostree pull`, both CLIs, default concurrency), static delta generation
 * (scratch, and FROM→TO after changing 20 files) and an incremental pull through the delta.
 * Prints wall times and ratios (ours / theirs). Not a test.
 *   node bench/delivery-pull.ts        (FEDOSTREE_BENCH_BYTES to change the size)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyHostTree } from './_corpus.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUDGET = Number(process.env.FEDOSTREE_BENCH_BYTES ?? 300 * 1024 ** 2);

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function timed(label: string, cmd: string, args: string[]): number {
  const t0 = performance.now();
  sh(cmd, args);
  const s = (performance.now() - t0) / 1000;
  console.log(`  ${label.padEnd(44)} ${s.toFixed(2)} s`);
  return s;
}

const fed = (args: string[]): [string, string[]] => [process.execPath, [join(ROOT, 'bin/fedostree.js'), ...args]];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const work = await mkdtemp(join(tmpdir(), 'fedostree-bench-delivery-'));
try {
  const tree = join(work, 'tree');
  const st = { bytes: 0, files: 0, budget: BUDGET };
  await copyHostTree('/usr/lib', tree, st);
  console.log(`tree: ${st.files} files, ${(st.bytes / 1e6).toFixed(0)} MB`);
  const src = join(work, 'src');
  sh('ostree', ['init', `--repo=${src}`, '--mode=archive']);
  const c1 = sh('ostree', ['commit', `--repo=${src}`, '-b', 'os', `--tree=dir=${tree}`, '-s', 'one', '--owner-uid=0', '--owner-gid=0']).trim();
  sh('ostree', ['summary', '-u', `--repo=${src}`]);
  const port = await freePort();
  const prefix = join(work, 'nginx');
  await mkdir(join(prefix, 'logs'), { recursive: true });
  await writeFile(join(prefix, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; error_log ${prefix}/error.log;
pid ${prefix}/nginx.pid; events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${prefix}/b; proxy_temp_path ${prefix}/p; fastcgi_temp_path ${prefix}/f; uwsgi_temp_path ${prefix}/u; scgi_temp_path ${prefix}/s;
server { listen 127.0.0.1:${port}; root ${src}; } }
`);
  const ng = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' });
  await sleep(300);
  const url = `http://127.0.0.1:${port}/`;
  try {
    const ratios: string[] = [];
    for (const mode of ['archive', 'bare-user']) {
      console.log(`pull into ${mode}:`);
      const a = join(work, `ours-${mode}`);
      const b = join(work, `theirs-${mode}`);
      for (const r of [a, b]) {
        sh('ostree', ['init', `--repo=${r}`, `--mode=${mode}`]);
        sh('ostree', ['remote', 'add', `--repo=${r}`, '--no-gpg-verify', 'origin', url]);
      }
      const ours = timed('fedostree pull', ...fed(['pull', `--repo=${a}`, 'origin', 'os', '--disable-static-deltas']));
      const theirs = timed('ostree pull', 'ostree', ['pull', `--repo=${b}`, 'origin', 'os', '--disable-static-deltas']);
      ratios.push(`pull ${mode}: ${(ours / theirs).toFixed(2)}x`);
    }
    // change 20 files, commit, deltas
    const files = sh('find', [tree, '-type', 'f', '-size', '+20k']).trim().split('\n').slice(0, 20);
    for (const f of files) await writeFile(f, Buffer.concat([Buffer.from('changed\n'), Buffer.alloc(4096, 1)]), { flag: 'a' });
    const c2 = sh('ostree', ['commit', `--repo=${src}`, '-b', 'os', `--tree=dir=${tree}`, '-s', 'two', '--owner-uid=0', '--owner-gid=0']).trim();
    const theirsCopy = join(work, 'src-theirs');
    sh('cp', ['-a', src, theirsCopy]);
    console.log('static delta generate:');
    const os1 = timed('fedostree (scratch)', ...fed(['repo', 'static-delta', 'generate', `--repo=${src}`, '--empty', `--to=${c2}`]));
    const ts1 = timed('ostree (scratch)', 'ostree', ['static-delta', 'generate', `--repo=${theirsCopy}`, '--empty', `--to=${c2}`]);
    const os2 = timed('fedostree (from→to)', ...fed(['repo', 'static-delta', 'generate', `--repo=${src}`, `--from=${c1}`, `--to=${c2}`]));
    const ts2 = timed('ostree (from→to)', 'ostree', ['static-delta', 'generate', `--repo=${theirsCopy}`, `--from=${c1}`, `--to=${c2}`]);
    ratios.push(`delta scratch: ${(os1 / ts1).toFixed(2)}x`, `delta from→to: ${(os2 / ts2).toFixed(2)}x`);
    const du = (p: string): string => sh('du', ['-sb', p]).split('\t')[0];
    console.log(`  delta sizes (from→to): ours ${du(join(src, 'deltas'))} B (both deltas), theirs ${du(join(theirsCopy, 'deltas'))} B (both deltas)`);
    timed('fedostree repo summary -u', ...fed(['repo', 'summary', '-u', `--repo=${src}`]));
    console.log('incremental pull into bare-user through our delta:');
    const ours = timed('fedostree pull', ...fed(['pull', `--repo=${join(work, 'ours-bare-user')}`, 'origin', 'os']));
    const theirs = timed('ostree pull', 'ostree', ['pull', `--repo=${join(work, 'theirs-bare-user')}`, 'origin', 'os']);
    ratios.push(`incremental delta pull: ${(ours / theirs).toFixed(2)}x`);
    console.log(`ratios (fedostree / ostree, lower is better): ${ratios.join(', ')}`);
  } finally {
    ng.kill('SIGTERM');
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
