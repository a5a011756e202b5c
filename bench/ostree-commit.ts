/**
 * Benchmark: commit and hardlink checkout of a ~1 GB tree of real files (copied from /usr/lib and
 * /usr/share) in archive and bare-user modes, against the real ostree in the same run; plus the
 * re-commit of a hardlink checkout with 10 files changed (ostree --link-checkout-speedup).
 * Prints wall times, peak RSS and ratios. Not a test. Size: FEDOSTREE_BENCH_BYTES (default 1 GiB).
 *   node bench/ostree-commit.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyHostTree } from './_corpus.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUDGET = Number(process.env.FEDOSTREE_BENCH_BYTES ?? 1024 ** 3);

interface Timed { ms: number; rssMb: number; stdout: string }
function timed(cmd: string, args: string[]): Timed {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  return { ms, rssMb: Number(lines[lines.length - 1]) / 1024, stdout: r.stdout };
}
const fed = (args: string[]): Timed => timed(process.execPath, [join(ROOT, 'bin/fedostree.js'), ...args]);
const ost = (args: string[]): Timed => timed('ostree', args);
const sync = (): void => void spawnSync('sync');

function row(label: string, ours: Timed, theirs: Timed): void {
  const ratio = ours.ms / theirs.ms;
  process.stdout.write(`${label.padEnd(34)} fedostree ${(ours.ms / 1000).toFixed(2).padStart(7)} s (${ours.rssMb.toFixed(0)} MB)   ostree ${(theirs.ms / 1000).toFixed(2).padStart(7)} s (${theirs.rssMb.toFixed(0)} MB)   ratio ${ratio.toFixed(2)}x\n`);
}

const work = await mkdtemp(join(tmpdir(), 'fedostree-bench-'));
try {
  const tree = join(work, 'tree');
  const state = { bytes: 0, files: 0, budget: BUDGET };
  await copyHostTree('/usr/share', join(tree, 'share'), state);
  await copyHostTree('/usr/lib', join(tree, 'lib'), state);
  process.stdout.write(`tree: ${state.files} files, ${(state.bytes / 1024 ** 2).toFixed(0)} MiB (load average ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ')[0]})\n`);
  const ts = '--timestamp=2024-01-01T00:00:00Z';
  for (const mode of ['archive', 'bare-user'] as const) {
    const ours = join(work, `ours-${mode}`);
    const theirs = join(work, `theirs-${mode}`);
    fed(['repo', 'init', `--repo=${ours}`, `--mode=${mode}`]);
    ost(['init', `--repo=${theirs}`, `--mode=${mode}`]);
    sync();
    const o = ost(['commit', `--repo=${theirs}`, '-b', 'b', ts, tree]);
    sync();
    const f = fed(['repo', 'commit', `--repo=${ours}`, '-b', 'b', ts, tree]);
    sync();
    row(`${mode}: commit`, f, o);
    if (f.stdout.trim() !== o.stdout.trim()) process.stdout.write(`  CHECKSUM MISMATCH ${f.stdout.trim()} vs ${o.stdout.trim()}\n`);
    const flags = mode === 'bare-user' ? ['-U', '-H'] : ['-U'];
    const oc = ost(['checkout', `--repo=${theirs}`, ...flags, 'b', join(work, `co-o-${mode}`)]);
    sync();
    const fc = fed(['repo', 'checkout', `--repo=${ours}`, ...flags, 'b', join(work, `co-f-${mode}`)]);
    sync();
    row(`${mode}: checkout ${flags.join(' ')}`, fc, oc);
    if (mode === 'bare-user') {
      // Re-commit of a hardlink checkout with 10 files changed.
      for (const who of ['o', 'f']) {
        const co = join(work, `co-${who}-${mode}`);
        const files = spawnSync('find', [co, '-type', 'f', '-size', '+1k'], { encoding: 'utf8' }).stdout.trim().split('\n').slice(0, 10);
        for (const p of files) {
          await writeFile(`${p}.new`, `changed ${p.slice(co.length)}\n`);
          await rename(`${p}.new`, p);
        }
      }
      const os = ost(['commit', `--repo=${theirs}`, '-b', 'b', ts, '--link-checkout-speedup', join(work, `co-o-${mode}`)]);
      const fs2 = fed(['repo', 'commit', `--repo=${ours}`, '-b', 'b', ts, '--link-checkout-speedup', join(work, `co-f-${mode}`)]);
      row(`${mode}: re-commit hardlink checkout`, fs2, os);
      if (fs2.stdout.trim() !== os.stdout.trim()) process.stdout.write(`  CHECKSUM MISMATCH ${fs2.stdout.trim()} vs ${os.stdout.trim()}\n`);
      const cold = fed(['repo', 'commit', `--repo=${ours}`, '-b', 'cold', ts, tree]);
      process.stdout.write(`  cold re-commit of the same tree (every file read): ${(cold.ms / 1000).toFixed(2)} s → speedup ${(cold.ms / fs2.ms).toFixed(1)}x\n`);
    }
    await rm(join(work, `co-o-${mode}`), { recursive: true, force: true });
    await rm(join(work, `co-f-${mode}`), { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
