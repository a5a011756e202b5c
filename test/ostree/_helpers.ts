/** Shared helpers for the ostree integration tests: temp dirs, tree generators, tool runners. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, symlink, chmod, link, rm, truncate, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const VECTORS = '/work/shared/vectors/ostree';

export async function tempDir(tag: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `fedostree-${tag}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Run a command; throws with its stderr on failure unless `allowFail`. */
export function run(cmd: string, args: string[], opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', ...opts.env }, cwd: opts.cwd, maxBuffer: 256 << 20 });
  if (!opts.allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

/** Run the fedostree CLI. */
export function fedostree(args: string[], opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return run(process.execPath, [join(ROOT, 'bin/fedostree.js'), ...args], opts);
}

function setfattr(path: string, name: string, value: string): void {
  run('setfattr', ['-h', '-n', name, '-v', value, path]);
}

/**
 * A tree exercising the format: setuid/0700/0400 modes, symlinks (incl. dangling), empty files
 * and dirs, hardlinks, a 1 MiB file, optionally a sparse ≥100 MiB file, UTF-8 and space names, xattrs.
 */
export async function makeTree(dir: string, options: { huge?: boolean; owner?: [number, number] } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const w = async (p: string, data: string | Buffer, mode = 0o644): Promise<void> => {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), data);
    await chmod(join(dir, p), mode);
  };
  await w('README', 'hello\n');
  await w('bin/suid', '#!/bin/sh\necho suid\n', 0o4755);
  await w('bin/sgid', '#!/bin/sh\necho sgid\n', 0o2755);
  await w('bin/tool', '#!/bin/sh\n', 0o755);
  await w('etc/secret', 'secret\n', 0o400);
  await w('etc/empty', '');
  await w('etc/xattr-file', 'xattrs\n');
  await w('private/key', 'k\n', 0o600);
  await chmod(join(dir, 'private'), 0o700);
  await w('names/with space.txt', 'space\n');
  await w('names/ütf-8 ✓ 名前.txt', 'utf8\n');
  await w('names/UPPER', 'u\n');
  await w('names/.hidden', 'h\n');
  await mkdir(join(dir, 'empty/dir/nested'), { recursive: true });
  await mkdir(join(dir, 'sticky'), { recursive: true });
  await chmod(join(dir, 'sticky'), 0o1777);
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
  await w('data/one-mib.bin', big);
  await symlink('../etc/secret', join(dir, 'bin/link-rel'));
  await symlink('/nonexistent/target', join(dir, 'dangling'));
  await symlink('names/with space.txt', join(dir, 'link to space'));
  await link(join(dir, 'bin/tool'), join(dir, 'bin/tool-hardlink'));
  setfattr(join(dir, 'etc/xattr-file'), 'user.zeta', 'last');
  setfattr(join(dir, 'etc/xattr-file'), 'user.alpha', 'first');
  setfattr(join(dir, 'private'), 'user.dirattr', 'on a dir');
  if (options.huge) {
    await w('data/huge.bin', '');
    await truncate(join(dir, 'data/huge.bin'), 100 * 1024 * 1024 + 12345);
  }
  if (options.owner) {
    for (const p of ['README', 'bin/tool', 'names']) await chown(join(dir, p), options.owner[0], options.owner[1]);
  }
}

/** A listing of a directory tree: type, mode, owner, size, target, content hash, xattrs. */
export function snapshot(dir: string, opts: { owners?: boolean } = {}): string {
  const fmt = opts.owners === false ? '%P|%M|%s|%l\\n' : '%P|%M|%U|%G|%s|%l\\n';
  const script = `cd "$1" && find . -printf '${fmt}' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum && getfattr -R -P -d -m - -e hex . 2>/dev/null | grep -v '^user.ostreemeta' || true`;
  return run('bash', ['-c', script, 'snap', dir]).stdout;
}
