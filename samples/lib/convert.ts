/**
 * .deb → RPM: unpack with dpkg-deb, reshape the tree (merged /usr, no device nodes, kernel
 * next to its modules), map the control stanza, and render a spec whose %install moves the
 * tree into BUILDROOT. Clashes between packages (the same path from two packages after the
 * /usr merge) are settled across the whole set before anything is built.
 */
import { execFile } from 'node:child_process';
import { appendFile, copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { tryContext } from '../../src/util/errors.ts';
import { controlToRpm, parseControl, type RpmMeta } from './debian.ts';
import { scriptletsFor } from './scriptlets.ts';
import type { FileEntry, Payload } from './spec.ts';
import { reshapeTree, scanTree, type IdNames, type ReshapeReport } from './tree.ts';

const run = promisify(execFile);

/** A package ready for rpmbuild. */
export interface Prepared {
  meta: RpmMeta;
  files: FileEntry[];
  /** Unpacked, reshaped root (moved into BUILDROOT by the build). */
  tree: string;
  report: ReshapeReport;
  payload: Payload;
  scriptlets?: string;
  license?: string;
}

/** How a snapshot changes a package: a higher release and a line appended to one file. */
export interface Bump {
  release: string;
  file: string;
  append: string;
}

/**
 * Files Debian's maintainer scripts create from a template at install time; the RPMs ship them
 * as conffiles instead (package → [template, conffile]).
 */
export const POSTINST_FILES: Record<string, Array<[string, string]>> = {
  'openssh-server': [['/usr/share/openssh/sshd_config', '/etc/ssh/sshd_config']],
};

/** Pick a payload codec: big packages get fast zstd, the rest rotate zstd/xz/gzip by name. */
export function choosePayload(name: string, bytes: number): Payload {
  if (bytes > 40 << 20) return 'zstd-fast';
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return (['zstd', 'xz', 'gzip'] as const)[h % 3];
}

/** Unpack and prepare one .deb under `work` (a fresh directory). */
export async function prepareDeb(deb: string, work: string, ids: IdNames, bump?: Bump): Promise<Prepared> {
  return tryContext(`converting ${deb}`, async () => {
    const root = join(work, 'root');
    await mkdir(work, { recursive: true });
    await run('dpkg-deb', ['-R', deb, root]);
    const control = parseControl(await readFile(join(root, 'DEBIAN/control'), 'utf8'), `${deb}: control`);
    const conffileText = await readFile(join(root, 'DEBIAN/conffiles'), 'utf8').catch(() => '');
    await rm(join(root, 'DEBIAN'), { recursive: true });
    const meta = controlToRpm(control, deb);
    const report = await reshapeTree(root);
    const conffiles = new Set(
      conffileText
        .split('\n')
        .map((l) => l.trim().split(/\s+/).pop() ?? '')
        .filter((p) => p.startsWith('/')),
    );
    for (const [from, to] of POSTINST_FILES[meta.name] ?? []) {
      await mkdir(dirname(join(root, to)), { recursive: true });
      await copyFile(join(root, from), join(root, to));
      conffiles.add(to);
    }
    if (bump) {
      meta.evr = { ...meta.evr, release: bump.release };
      await appendFile(join(root, bump.file), bump.append);
    }
    const files = await scanTree(root, ids, conffiles, report);
    // Paths that moved out of /bin and /sbin stay resolvable as dependencies (e.g. /bin/sh).
    for (const [from] of report.moved) if (/^\/s?bin\/[A-Za-z0-9._+-]+$/.test(from)) meta.provides.push(from);
    const vmlinuz = files.find((f) => /^\/usr\/lib\/modules\/[^/]+\/vmlinuz$/.test(f.path));
    if (vmlinuz) meta.provides.push(`kernel = ${meta.evr.version}`, `kernel-core = ${meta.evr.version}`);
    const { stdout } = await run('du', ['-sb', root]);
    // Like Fedora's glibc → basesystem → filesystem chain: the merged-/usr symlinks (/bin → usr/bin)
    // must exist before any payload lands or any scriptlet looks for /bin/sh.
    meta.requiresPre.push('filesystem');
    const s = scriptletsFor(meta.name, files);
    // Plain Requires (not Requires(post)) so the dependency also orders the install transaction.
    for (const r of s?.requires ?? []) if (r !== meta.name && !meta.requires.includes(r)) meta.requires.push(r);
    return {
      meta,
      files,
      tree: root,
      report,
      payload: choosePayload(meta.name, Number(stdout.split('\t')[0])),
      scriptlets: s?.text,
    };
  });
}

/**
 * Debian matches a versioned Conflicts/Breaks only against real packages of that name; RPM also
 * matches unversioned Provides (perl-base breaks `perl-modules < 5.36.0~`, which
 * perl-modules-5.36 provides unversioned). Drop versioned conflicts on names that no package in
 * the set really has, so RPM resolvers see what apt saw. Returns a log line per dropped conflict that a Provides would have matched.
 */
export function dropVirtualConflicts(pkgs: Prepared[]): string[] {
  const real = new Set(pkgs.map((p) => p.meta.name));
  const virtual = new Set(pkgs.flatMap((p) => p.meta.provides.map((v) => v.split(/\s/)[0])));
  const log: string[] = [];
  for (const p of pkgs) {
    p.meta.conflicts = p.meta.conflicts.filter((c) => {
      const m = /^(\S+)\s+[<>=]/.exec(c);
      if (!m || real.has(m[1])) return true;
      if (virtual.has(m[1])) log.push(`${p.meta.name}: conflict '${c}' (only a virtual package here)`);
      return false;
    });
  }
  return log;
}

/**
 * Settle paths claimed by more than one package: a path a package shipped at that very place
 * beats one that got there by the /usr merge; otherwise the first package (by name) keeps it.
 * Losers have the file deleted from their tree and their list. Returns a log line per clash.
 */
export async function settleClashes(pkgs: Prepared[]): Promise<string[]> {
  const owners = new Map<string, Array<{ p: Prepared; moved: boolean; e: FileEntry }>>();
  for (const p of pkgs) {
    const movedTo = new Set(p.report.moved.values());
    for (const e of p.files) {
      if (e.kind === 'dir') continue;
      let moved = false;
      for (const t of movedTo) if (e.path === t || e.path.startsWith(`${t}/`)) moved = true;
      const list = owners.get(e.path) ?? [];
      list.push({ p, moved, e });
      owners.set(e.path, list);
    }
  }
  const log: string[] = [];
  for (const [path, list] of owners) {
    if (list.length < 2) continue;
    const winner = list.find((o) => !o.moved) ?? list[0];
    for (const o of list) {
      if (o === winner) continue;
      o.p.files = o.p.files.filter((e) => e !== o.e);
      await rm(join(o.p.tree, path), { force: true });
      log.push(`${path}: kept in ${winner.p.meta.name}, dropped from ${o.p.meta.name}`);
    }
  }
  return log;
}
