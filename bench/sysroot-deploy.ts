/**
 * Deploy benchmark: a ≥ 1 GB bootable tree (many small files + some large ones, a populated
 * /usr/etc with local edits to merge), deployed in turns by `ostree admin deploy` and by
 * fedostree into the same sysroot (hardlink checkout + /etc merge + boot entries + swap).
 * Prints seconds per deploy and the ratio (goal ≤ 1.0×). Not a test.
 *
 *   npx node bench/sysroot-deploy.ts [--mb 1100] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MB = arg('--mb', 1100);
const ROUNDS = arg('--rounds', 3);
const CLI = join(import.meta.dirname, '..', 'bin', 'fedostree.js');

const work = await mkdtemp(join(tmpdir(), 'fedostree-bench-deploy-'));
try {
  const t = join(work, 'tree');
  const s = join(work, 'sysroot');
  // ---- the tree: 60% in 16 KiB files spread over directories, 40% in 8 MiB files; 2000 /usr/etc files
  console.log(`building a ${MB} MB tree…`);
  const small = Math.floor((MB * 0.6 * 1024) / 16);
  const large = Math.ceil((MB * 0.4) / 8);
  const chunk = randomBytes(16 * 1024);
  for (let d = 0; d < Math.ceil(small / 500); d++) {
    const dir = join(t, 'usr/share/data', `d${d}`);
    await mkdir(dir, { recursive: true });
    const n = Math.min(500, small - d * 500);
    await Promise.all(Array.from({ length: n }, (_v, i) => writeFile(join(dir, `f${i}`), Buffer.concat([Buffer.from(`${d}/${i}\n`), chunk]))));
  }
  await mkdir(join(t, 'usr/lib/big'), { recursive: true });
  for (let i = 0; i < large; i++) await writeFile(join(t, 'usr/lib/big', `blob${i}`), randomBytes(8 << 20));
  await mkdir(join(t, 'usr/lib/modules/6.1.0-bench'), { recursive: true });
  await writeFile(join(t, 'usr/lib/modules/6.1.0-bench/vmlinuz'), randomBytes(12 << 20));
  await writeFile(join(t, 'usr/lib/modules/6.1.0-bench/initramfs.img'), randomBytes(40 << 20));
  await writeFile(join(t, 'usr/lib/os-release'), 'NAME=Bench\nID=bench\nPRETTY_NAME="Bench 1"\n');
  for (let d = 0; d < 20; d++) {
    await mkdir(join(t, 'usr/etc', `conf${d}.d`), { recursive: true });
    for (let i = 0; i < 100; i++) await writeFile(join(t, 'usr/etc', `conf${d}.d`, `c${i}.conf`), `key${i}=value${d}\n`);
  }
  await symlink('../usr/lib/os-release', join(t, 'usr/etc/os-release'));
  await mkdir(join(t, 'var'), { recursive: true });

  await mkdir(s, { recursive: true });
  await run('ostree', ['admin', 'init-fs', s]);
  await run('ostree', ['admin', 'os-init', `--sysroot=${s}`, 'bench']);
  console.log('committing with ostree…');
  const c0 = performance.now();
  await run('ostree', ['commit', `--repo=${join(s, 'ostree/repo')}`, '-b', 'bench/stable', '--owner-uid=0', '--owner-gid=0', t]);
  console.log(`  commit: ${((performance.now() - c0) / 1000).toFixed(1)} s`);
  await rm(t, { recursive: true, force: true });
  // first deployment and some local /etc edits (the merge then has real work)
  await run('ostree', ['admin', 'deploy', `--sysroot=${s}`, '--os=bench', '--karg=root=LABEL=root', 'bench/stable']);
  const { stdout } = await run('sh', ['-c', `ls -d ${s}/ostree/deploy/bench/deploy/*.0`]);
  const etc = join(stdout.trim(), 'etc');
  for (let i = 0; i < 50; i++) await writeFile(join(etc, `conf${i % 20}.d`, `c${i}.conf`), `local=${i}\n`);
  await writeFile(join(etc, 'local-only.conf'), 'x=1\n');

  const time = async (cmd: string, args: string[]): Promise<number> => {
    await run('sync');
    await run('sh', ['-c', 'echo 1 > /proc/sys/vm/drop_caches']).catch(() => undefined);
    const t0 = performance.now();
    await run(cmd, args, { maxBuffer: 1 << 24 });
    return (performance.now() - t0) / 1000;
  };
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    theirs.push(await time('ostree', ['admin', 'deploy', `--sysroot=${s}`, '--os=bench', '--retain', 'bench/stable']));
    ours.push(await time(process.execPath, [CLI, 'admin', 'deploy', '--sysroot', s, '--os', 'bench', '--retain', 'bench/stable']));
    // keep the sysroot small: drop all but the newest two with each tool's own cleanup alternately
    await run(process.execPath, [CLI, 'cleanup', '--sysroot', s, '--rollback']);
    console.log(`round ${r + 1}: ostree admin deploy ${theirs[r].toFixed(2)} s, fedostree admin deploy ${ours[r].toFixed(2)} s`);
  }
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const mo = median(ours);
  const mt = median(theirs);
  console.log(`median: ostree ${mt.toFixed(2)} s, fedostree ${mo.toFixed(2)} s → ratio ${(mo / mt).toFixed(2)}× (goal ≤ 1.0×)`);
} finally {
  await run('chattr', ['-R', '-i', work]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}
