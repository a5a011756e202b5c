/** Shared pieces for the sysroot tests: fake bootable trees, real-ostree commits, layout listings. */
import { execFile, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'bin/fedostree.js');

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `fedostree-${prefix}-`));
}

/** Remove a temp dir holding immutable deployment dirs. */
export async function removeTemp(dir: string): Promise<void> {
  await run('chattr', ['-R', '-i', dir]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

export interface TreeSpec {
  version: string;
  initramfs?: string;
  kernel?: string;
  /** usr/etc files: name → content */
  etc?: Record<string, string>;
  pretty?: string;
}

/** A minimal bootable tree like the reference vector's. */
export async function makeTree(dir: string, spec: TreeSpec): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const d of ['usr/lib/modules/5.10.0-test', 'usr/bin', 'usr/etc', 'var', 'boot']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'usr/lib/modules/5.10.0-test/vmlinuz'), spec.kernel ?? 'FAKE KERNEL\n');
  await writeFile(join(dir, 'usr/lib/modules/5.10.0-test/initramfs.img'), spec.initramfs ?? 'FAKE INITRAMFS\n');
  await writeFile(join(dir, 'usr/lib/os-release'), `NAME=MyOS\nID=myos\nVERSION_ID=${spec.version}\nPRETTY_NAME="${spec.pretty ?? `MyOS ${spec.version}`}"\n`);
  await symlink('../usr/lib/os-release', join(dir, 'usr/etc/os-release'));
  for (const [name, content] of Object.entries(spec.etc ?? { 'keep.conf': 'a=1\n', 'hostname': 'hostname\n' })) {
    await mkdir(join(dir, 'usr/etc', name, '..'), { recursive: true });
    await writeFile(join(dir, 'usr/etc', name), content);
    await chmod(join(dir, 'usr/etc', name), 0o644);
  }
  await writeFile(join(dir, 'usr/bin/sh'), '#!/bin/sh\n');
  await mkdir(join(dir, 'usr/share/empty'), { recursive: true });
  await writeFile(join(dir, 'usr/share/empty/file'), '');
  await chmod(join(dir, 'usr/bin/sh'), 0o755);
  await symlink('usr/bin', join(dir, 'bin'));
}

/** Commit a tree with the real ostree (so both tools deploy the same checksum). */
export async function ostreeCommit(repo: string, ref: string, tree: string, version: string, day = 1): Promise<string> {
  const { stdout } = await run('ostree', ['commit', `--repo=${repo}`, '-b', ref, `--timestamp=2020-01-${String(day).padStart(2, '0')}T00:00:00Z`,
    '--owner-uid=0', '--owner-gid=0', '-s', `v${version}`, `--add-metadata-string=version=${version}`, tree]);
  return stdout.trim();
}

/**
 * Sorted listing of a sysroot: type+mode, link count, path, symlink target. Object files and the
 * lock files are left out (lock files are an implementation detail of each tool).
 */
export async function layout(root: string, opts: { withObjects?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const n of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (!opts.withObjects && r.startsWith('ostree/repo/objects/')) continue;
      if (r === 'ostree/lock' || r === 'ostree/repo/.lock') continue;
      const st = await lstat(join(root, r));
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f';
      const mode = (st.mode & 0o7777).toString(8);
      const tgt = st.isSymbolicLink() ? ` -> ${await readlink(join(root, r))}` : '';
      out.push(`${kind}${st.isSymbolicLink() ? '' : mode} ${st.isDirectory() ? '-' : st.nlink} ${r}${tgt}`);
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

/** Run the fedostree CLI; resolves with code/stdout/stderr (never rejects on exit code). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
