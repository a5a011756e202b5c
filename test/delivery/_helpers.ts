/** Helpers for the delivery tests: temp dirs, small trees, real ostree repos, nginx as a child process. */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, chmod, rm, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const VECTORS = '/work/shared/vectors/ostree';

export async function tempDir(tag: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `fdel-${tag}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Run a command synchronously; throws with its stderr on failure unless `allowFail`. */
export function run(cmd: string, args: string[], opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', ...opts.env }, maxBuffer: 256 << 20 });
  if (!opts.allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

/** Run a command without blocking the event loop (needed when an in-process server answers it). */
export function runAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C', ...opts.env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

export function fedostreeAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return runAsync(process.execPath, [join(ROOT, 'bin/fedostree.js'), ...args]);
}

/** A small tree (a few files, a symlink, an xattr-free layout); `variant` changes some content. */
export async function smallTree(dir: string, variant = 0, extraFiles = 0): Promise<void> {
  const w = async (p: string, data: string | Buffer, mode = 0o644): Promise<void> => {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), data);
    await chmod(join(dir, p), mode);
  };
  await w('README', `hello ${variant}\n`);
  await w('bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  await w('etc/conf', `version=${variant}\n`, 0o600);
  await w('usr/share/doc/same.txt', 'unchanged\n');
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  big.write(`variant ${variant}`, 1000);
  await w('usr/lib/big.bin', big);
  for (let i = 0; i < extraFiles; i++) await w(`usr/share/many/f${i}.txt`, `file ${i} v${variant % 2 === 0 || i % 5 ? 0 : variant}\n`);
  await rm(join(dir, 'link'), { force: true });
  const { symlink } = await import('node:fs/promises');
  await symlink('etc/conf', join(dir, 'link'));
}

/** Commit `tree` with the real ostree into an archive repo (init if needed); returns the checksum. */
export function ostreeCommit(repo: string, ref: string, tree: string, timestamp: string, subject = 'commit'): string {
  run('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
  return run('ostree', ['commit', `--repo=${repo}`, '-b', ref, `--tree=dir=${tree}`, `--timestamp=${timestamp}`, '-s', subject, '--owner-uid=0', '--owner-gid=0']).stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Nginx { url: string; accessLog: string; stop(): Promise<void>; requests(): Promise<string[]> }

/** Start nginx (child process, daemon off) serving `root` on 127.0.0.1. */
export async function startNginx(root: string, work: string): Promise<Nginx> {
  const port = await freePort();
  const prefix = join(work, 'nginx');
  await mkdir(join(prefix, 'logs'), { recursive: true });
  const accessLog = join(prefix, 'access.log');
  const conf = join(prefix, 'nginx.conf');
  await writeFile(conf, `daemon off;
master_process off;
worker_processes 1;
error_log ${join(prefix, 'error.log')} warn;
pid ${join(prefix, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log ${accessLog};
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; location / { autoindex off; } }
}
`);
  const child: ChildProcess = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/config`);
      await r.body?.cancel();
      break;
    } catch {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${err}`);
      await sleep(50);
    }
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    accessLog,
    requests: async () => (await readFile(accessLog, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
