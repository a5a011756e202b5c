/**
 * Turning an unpacked .deb into a file tree shaped like an RPM distribution's: merged /usr
 * (/bin, /sbin, /lib, /lib64 move under /usr), /var/run and /var/lock move to /run,
 * no device nodes, and a kernel image next to its modules. Then the tree is scanned into
 * %files entries.
 */
import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntry } from './spec.ts';

/** Top-level directories that the `filesystem` package turns into symlinks, and where they point. */
export const MERGED_DIRS: Record<string, string> = {
  bin: 'usr/bin',
  sbin: 'usr/sbin',
  lib: 'usr/lib',
  lib64: 'usr/lib64',
  'var/run': 'run',
  'var/lock': 'run/lock',
};

/** Directories the `filesystem` package owns; other packages do not list them. */
export const BASE_DIRS = new Set([
  '/', '/boot', '/dev', '/etc', '/home', '/media', '/mnt', '/opt', '/proc', '/root', '/run', '/run/lock', '/srv', '/sys', '/tmp',
  '/usr', '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64', '/usr/libexec', '/usr/include', '/usr/share', '/usr/src',
  '/usr/local', '/usr/lib/modules', '/usr/lib/x86_64-linux-gnu', '/usr/share/doc', '/usr/share/man', '/usr/share/info',
  '/usr/share/locale', '/usr/share/licenses', '/var', '/var/lib', '/var/log', '/var/cache', '/var/tmp', '/var/spool', '/var/opt',
  '/var/local', '/var/mail', '/var/empty',
]);

/** What happened while reshaping a tree (reported by the build, and kept in the build log). */
export interface ReshapeReport {
  /** Original path → new path for every moved top-level entry (e.g. /bin/sh → /usr/bin/sh). */
  moved: Map<string, string>;
  /** Paths dropped (device nodes, fifos, sockets, name clashes after the /usr merge). */
  dropped: string[];
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/** Move everything under `src` into `dst`, merging directories; a clash keeps `dst`'s entry. */
async function mergeInto(root: string, srcRel: string, dstRel: string, report: ReshapeReport): Promise<void> {
  const src = join(root, srcRel);
  const dst = join(root, dstRel);
  await mkdir(dst, { recursive: true });
  for (const name of (await readdir(src)).sort()) {
    const s = join(src, name);
    const d = join(dst, name);
    const sst = await lstat(s);
    const dst2 = await lstat(d).catch(() => undefined);
    if (!dst2) {
      await rename(s, d);
      report.moved.set(`/${srcRel}/${name}`, `/${dstRel}/${name}`);
    } else if (sst.isDirectory() && dst2.isDirectory()) {
      await mergeInto(root, `${srcRel}/${name}`, `${dstRel}/${name}`, report);
    } else {
      report.dropped.push(`/${srcRel}/${name} (clashes with /${dstRel}/${name})`);
      await rm(s, { recursive: true, force: true });
    }
  }
  await rmdir(src);
}

/** Reshape an unpacked package root in place. */
export async function reshapeTree(root: string): Promise<ReshapeReport> {
  const report: ReshapeReport = { moved: new Map(), dropped: [] };
  for (const [from, to] of Object.entries(MERGED_DIRS)) {
    const st = await lstat(join(root, from)).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) await mergeInto(root, from, to, report);
    else {
      report.dropped.push(`/${from}`);
      await rm(join(root, from));
    }
  }
  // Kernel: /boot/vmlinuz-KVER → /usr/lib/modules/KVER/vmlinuz (where image-based composes look).
  const boot = join(root, 'boot');
  if (await exists(boot)) {
    for (const name of await readdir(boot)) {
      const m = /^(vmlinuz|System\.map|config)-(.+)$/.exec(name);
      if (!m) continue;
      const modDir = join(root, 'usr/lib/modules', m[2]);
      if (!(await exists(modDir))) continue;
      const target = m[1] === 'vmlinuz' ? 'vmlinuz' : m[1];
      await rename(join(boot, name), join(modDir, target));
      report.moved.set(`/boot/${name}`, `/usr/lib/modules/${m[2]}/${target}`);
    }
    if ((await readdir(boot)).length === 0) await rmdir(boot);
  }
  return report;
}

/** Numeric id → name tables (the `setup` package's static accounts). */
export interface IdNames {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** Parse passwd/group text into id → name maps. */
export function parseIdNames(passwd: string, group: string): IdNames {
  const tab = (text: string): Map<number, string> => {
    const m = new Map<number, string>();
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && /^[0-9]+$/.test(f[2])) m.set(Number(f[2]), f[0]);
    }
    return m;
  };
  return { users: tab(passwd), groups: tab(group) };
}

/**
 * Scan a reshaped tree into %files entries (sorted by path). Device nodes, fifos and sockets
 * are deleted from the tree and reported; base directories are left to `filesystem`.
 */
export async function scanTree(root: string, ids: IdNames, conffiles: Set<string>, report: ReshapeReport): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = `${rel}/${name}`;
      const st = await lstat(join(root, r));
      const user = ids.users.get(st.uid) ?? 'root';
      const group = ids.groups.get(st.gid) ?? 'root';
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        if (!BASE_DIRS.has(r)) out.push({ path: r, kind: 'dir', mode, user, group });
        await walk(r);
      } else if (st.isSymbolicLink()) {
        out.push({ path: r, kind: 'symlink', mode, user, group });
      } else if (st.isFile()) {
        out.push({ path: r, kind: 'file', mode, user, group, config: conffiles.has(r) });
      } else {
        report.dropped.push(`${r} (special file)`);
        await rm(join(root, r));
      }
    }
  };
  await walk('');
  return out;
}
