/**
 * Turn an installed root into an OSTree-ready tree: kernel and initramfs under
 * /usr/lib/modules/KVER, units enabled, os-release mutated, system users moved to /usr/lib/passwd
 * and /usr/lib/group (nss-altfiles), /etc → /usr/etc, an empty machine-id, /var content as
 * tmpfiles.d entries with /var left empty, the toplevel links ostree expects, the rpmdb in
 * /usr/share/rpm. Each step names the path it failed on.
 */
import { copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FedostreeError, withContext } from '../util/errors.ts';
import { runInSandbox } from './sandbox.ts';
import { lexists } from '../util/fs.ts';

/** A postprocessing rule that cannot be applied (bad tree content, failed tool). */
export class PostprocessError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EPOSTPROCESS', message, data);
    this.name = 'PostprocessError';
  }
}

async function readText(p: string): Promise<string | undefined> {
  return readFile(p, 'utf8').catch(() => undefined);
}

/** Replace a file that may be a hardlink of a cache object with a private copy (same mode/owner). */
export async function breakLink(p: string): Promise<void> {
  const st = await lstat(p);
  if (!st.isFile() || st.nlink < 2) return;
  const tmp = `${p}.fedostree-copy`;
  await copyFile(p, tmp);
  const { chown, chmod } = await import('node:fs/promises');
  await chown(tmp, st.uid, st.gid);
  await chmod(tmp, st.mode & 0o7777);
  await rename(tmp, p);
}

/** Break every hardlink under `dir` (for trees scripts are expected to edit: /etc, /var). */
export async function breakLinksUnder(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await breakLinksUnder(p);
    else if (e.isFile()) await breakLink(p);
  }
}

// ---------- passwd / group ----------

/** Parse passwd/group text into name → line. */
export function parseDb(text: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of (text ?? '').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (!out.has(f[0])) out.set(f[0], f);
  }
  return out;
}

function formatDb(entries: Iterable<string[]>): string {
  const lines = [...entries].map((f) => f.join(':'));
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * Before scripts run: add users and groups of the previous commit that the packages' own
 * /etc/passwd and /etc/group do not have, so scriptlets that create users find them and ids stay stable.
 */
export async function seedPasswd(root: string, previous: { passwd: string; group: string }): Promise<void> {
  for (const [file, prev] of [['passwd', previous.passwd], ['group', previous.group]] as const) {
    const p = join(root, 'etc', file);
    const cur = parseDb(await readText(p));
    let changed = false;
    for (const [name, f] of parseDb(prev)) {
      if (!cur.has(name)) {
        cur.set(name, f);
        changed = true;
      }
    }
    if (changed) {
      await mkdir(dirname(p), { recursive: true });
      await breakLink(p).catch(() => undefined);
      await writeFile(p, formatDb(cur.values()), { mode: 0o644 });
    }
  }
}

/** Name → uid and group name → gid of the tree (for ownership from package headers). */
export async function readIds(root: string): Promise<{ users: Map<string, number>; groups: Map<string, number> }> {
  const users = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const f of ['etc/passwd', 'usr/lib/passwd']) for (const [n, e] of parseDb(await readText(join(root, f)))) if (!users.has(n)) users.set(n, Number(e[2]));
  for (const f of ['etc/group', 'usr/lib/group']) for (const [n, e] of parseDb(await readText(join(root, f)))) if (!groups.has(n)) groups.set(n, Number(e[2]));
  users.set('root', 0);
  groups.set('root', 0);
  return { users, groups };
}

/** `check-passwd`/`check-groups` against expected ids: a changed id is an error naming the entry. */
export function checkIds(kind: 'passwd' | 'group', current: Map<string, string[]>, expected: Map<string, number>, source: string): void {
  for (const [name, id] of expected) {
    const f = current.get(name);
    if (f && Number(f[2]) !== id) {
      throw new PostprocessError(`check-${kind === 'passwd' ? 'passwd' : 'groups'}: ${kind === 'passwd' ? 'user' : 'group'} '${name}' has id ${f[2]}, but ${source} has ${id}`, { name });
    }
  }
}

/**
 * Move system users and groups to /usr/lib/passwd and /usr/lib/group; /etc keeps root and the
 * `etc-group-members` groups. nsswitch.conf gets `altfiles` after `files`.
 */
export async function splitPasswd(root: string, etcGroupMembers: readonly string[]): Promise<void> {
  const etc = join(root, 'etc');
  const passwd = parseDb(await readText(join(etc, 'passwd')));
  const group = parseDb(await readText(join(etc, 'group')));
  const keepUser = (n: string): boolean => n === 'root';
  const keepGroup = (n: string): boolean => n === 'root' || etcGroupMembers.includes(n);
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await writeFile(join(root, 'usr/lib/passwd'), formatDb([...passwd].filter(([n]) => !keepUser(n)).map(([, f]) => f)), { mode: 0o644 });
  await writeFile(join(root, 'usr/lib/group'), formatDb([...group].filter(([n]) => !keepGroup(n)).map(([, f]) => f)), { mode: 0o644 });
  await rm(join(etc, 'passwd'), { force: true });
  await rm(join(etc, 'group'), { force: true });
  await writeFile(join(etc, 'passwd'), formatDb([...passwd].filter(([n]) => keepUser(n)).map(([, f]) => f)), { mode: 0o644 });
  await writeFile(join(etc, 'group'), formatDb([...group].filter(([n]) => keepGroup(n)).map(([, f]) => f)), { mode: 0o644 });
  const nss = join(etc, 'nsswitch.conf');
  const text = (await readText(nss)) ?? 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n';
  const fixed = text
    .split('\n')
    .map((l) => {
      const m = /^(passwd|group):(\s*)(.*)$/.exec(l);
      if (!m || /\baltfiles\b/.test(m[3])) return l;
      const words = m[3].split(/\s+/).filter((w) => w);
      const i = words.indexOf('files');
      words.splice(i < 0 ? 0 : i + 1, 0, 'altfiles');
      if (i < 0) words.unshift('files');
      return `${m[1]}:${m[2] || ' '}${words.join(' ')}`;
    })
    .join('\n');
  await rm(nss, { force: true });
  await writeFile(nss, fixed, { mode: 0o644 });
}

// ---------- kernel ----------

/** Find the kernel, move it to /usr/lib/modules/KVER/vmlinuz, run dracut when the tree has it. Returns KVER or undefined. */
export async function placeKernel(root: string, initramfsArgs: readonly string[], log: (s: string) => void): Promise<string | undefined> {
  const modules = join(root, 'usr/lib/modules');
  const found = new Set<string>();
  for (const k of await readdir(modules).catch(() => [] as string[])) if (await lexists(join(modules, k, 'vmlinuz'))) found.add(k);
  const boot = join(root, 'boot');
  for (const f of await readdir(boot).catch(() => [] as string[])) {
    const m = /^vmlinuz-(.+)$/.exec(f);
    if (!m) continue;
    const kver = m[1];
    await mkdir(join(modules, kver), { recursive: true });
    if (!(await lexists(join(modules, kver, 'vmlinuz')))) await rename(join(boot, f), join(modules, kver, 'vmlinuz'));
    const initrd = join(boot, `initramfs-${kver}.img`);
    if ((await lexists(initrd)) && !(await lexists(join(modules, kver, 'initramfs.img')))) await rename(initrd, join(modules, kver, 'initramfs.img'));
    found.add(kver);
  }
  // /boot is managed by the deployment, not the tree
  for (const f of await readdir(boot).catch(() => [] as string[])) await rm(join(boot, f), { recursive: true, force: true });
  if (found.size === 0) return undefined;
  if (found.size > 1) throw new PostprocessError(`more than one kernel in the tree: ${[...found].sort().join(', ')}`);
  const kver = [...found][0];
  const img = join(modules, kver, 'initramfs.img');
  let dracutPath: string | undefined;
  for (const p of ['usr/bin/dracut', 'usr/sbin/dracut']) if (await lexists(join(root, p))) dracutPath = `/${p}`;
  if (dracutPath) {
    await rm(img, { force: true });
    const res = await runInSandbox(root, [dracutPath, '--no-hostonly', ...initramfsArgs, '-f', `/usr/lib/modules/${kver}/initramfs.img`, kver]);
    log(`dracut (${kver}): exit ${res.code} in ${(res.ms / 1000).toFixed(1)} s`);
    if (res.code !== 0) throw new PostprocessError(`dracut for kernel ${kver} failed with exit code ${res.code}: ${res.output.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return kver;
}

// ---------- units, os-release ----------

/** Enable units (symlinks in /etc/systemd/system/TARGET.wants) and set the default target. */
export async function enableUnits(root: string, units: readonly string[], defaultTarget: string | undefined): Promise<void> {
  const sys = join(root, 'etc/systemd/system');
  for (const u of units) {
    const unitPath = ['usr/lib/systemd/system', 'lib/systemd/system', 'etc/systemd/system'].map((d) => join(root, d, u));
    let text: string | undefined;
    let at = '';
    for (const p of unitPath) {
      text = await readText(p);
      if (text !== undefined) {
        at = `/${p.slice(root.length + 1)}`;
        break;
      }
    }
    if (text === undefined) throw new PostprocessError(`units: unit '${u}' is not in the tree (looked in /usr/lib/systemd/system)`, { unit: u });
    const wanted: string[] = [];
    let section = '';
    for (const line of text.split('\n')) {
      const s = /^\[(.+)\]\s*$/.exec(line.trim());
      if (s) section = s[1];
      const m = /^(WantedBy|RequiredBy)\s*=\s*(.*)$/.exec(line.trim());
      if (section === 'Install' && m) for (const t of m[2].split(/\s+/).filter((x) => x)) wanted.push(`${t}.${m[1] === 'WantedBy' ? 'wants' : 'requires'}`);
    }
    if (wanted.length === 0) wanted.push('multi-user.target.wants');
    for (const w of wanted) {
      await mkdir(join(sys, w), { recursive: true });
      await rm(join(sys, w, u), { force: true });
      await symlink(at, join(sys, w, u));
    }
  }
  if (defaultTarget) {
    await mkdir(sys, { recursive: true });
    await rm(join(sys, 'default.target'), { force: true });
    await symlink(`/usr/lib/systemd/system/${defaultTarget}`, join(sys, 'default.target'));
  }
}

/** Replace `base` with `version` in VERSION and PRETTY_NAME of os-release, add OSTREE_VERSION. */
export async function mutateOsRelease(root: string, base: string, version: string): Promise<void> {
  let p = join(root, 'usr/lib/os-release');
  if (!(await lexists(p))) p = join(root, 'etc/os-release');
  const st = await lstat(p).catch(() => undefined);
  if (!st?.isFile()) throw new PostprocessError('mutate-os-release: the tree has no /usr/lib/os-release');
  const text = await readFile(p, 'utf8');
  const lines = text.split('\n').filter((l) => !l.startsWith('OSTREE_VERSION='));
  const out = lines.map((l) => (/^(VERSION|PRETTY_NAME)=/.test(l) ? l.replace(base, version) : l));
  while (out.length && out[out.length - 1] === '') out.pop();
  out.push(`OSTREE_VERSION='${version}'`, '');
  await rm(p);
  await writeFile(p, out.join('\n'), { mode: st.mode & 0o7777 });
}

// ---------- layout ----------

/** Toplevel directories that become links into /var (link target, /var path, mode). */
const VAR_LINKS: ReadonlyArray<[string, string, string, number]> = [
  ['home', 'var/home', 'home', 0o755],
  ['opt', 'var/opt', 'opt', 0o755],
  ['srv', 'var/srv', 'srv', 0o755],
  ['root', 'var/roothome', 'roothome', 0o700],
  ['mnt', 'var/mnt', 'mnt', 0o755],
  ['usr/local', '../var/usrlocal', 'usrlocal', 0o755],
];

/** Move a directory's content into `dest` (creating it) and remove the directory. */
async function moveInto(src: string, dest: string): Promise<void> {
  if (!(await lexists(dest))) {
    // keeps the directory's own mode and owner
    await mkdir(dirname(dest), { recursive: true });
    await rename(src, dest);
    return;
  }
  for (const e of await readdir(src)) {
    const to = join(dest, e);
    if (await lexists(to)) await rm(to, { recursive: true, force: true });
    await rename(join(src, e), to);
  }
  await rmdir(src);
}

/**
 * The ostree layout: /home, /opt, /srv, /root, /mnt, /usr/local as links into /var (content moved
 * there first, so it becomes tmpfiles entries), /ostree → sysroot/ostree, /sysroot, /tmp, the API
 * filesystems' mount points, /usr/lib/sysimage/rpm and /var/lib/rpm pointing at /usr/share/rpm.
 */
export async function toplevelLayout(root: string, tmpIsDir: boolean): Promise<void> {
  await mkdir(join(root, 'var'), { recursive: true, mode: 0o755 });
  for (const [name, target, varName, mode] of VAR_LINKS) {
    const p = join(root, name);
    const st = await lstat(p).catch(() => undefined);
    const varPath = join(root, 'var', varName);
    if (st?.isDirectory()) await moveInto(p, varPath);
    else if (st) await rm(p, { force: true });
    await mkdir(varPath, { recursive: true, mode });
    await symlink(target, p);
  }
  for (const [d, mode] of [['sysroot', 0o755], ['dev', 0o755], ['proc', 0o555], ['sys', 0o555], ['run', 0o755], ['boot', 0o755]] as const) {
    if (!(await lexists(join(root, d)))) await mkdir(join(root, d), { mode });
  }
  await rm(join(root, 'ostree'), { recursive: true, force: true });
  await symlink('sysroot/ostree', join(root, 'ostree'));
  await rm(join(root, 'tmp'), { recursive: true, force: true });
  if (tmpIsDir) {
    await mkdir(join(root, 'tmp'));
    const { chmod } = await import('node:fs/promises');
    await chmod(join(root, 'tmp'), 0o1777);
  } else await symlink('sysroot/tmp', join(root, 'tmp'));
  // the rpmdb lives in /usr/share/rpm
  await rm(join(root, 'var/lib/rpm'), { recursive: true, force: true });
  await mkdir(join(root, 'var/lib'), { recursive: true });
  await symlink('../../usr/share/rpm', join(root, 'var/lib/rpm'));
  await rm(join(root, 'usr/lib/sysimage/rpm'), { recursive: true, force: true });
  await mkdir(join(root, 'usr/lib/sysimage'), { recursive: true });
  await symlink('../../share/rpm', join(root, 'usr/lib/sysimage/rpm'));
}

/** /etc → /usr/etc, with an empty machine-id (or none with machineid-compat: false). */
export async function moveEtc(root: string, machineIdCompat: boolean): Promise<void> {
  const etc = join(root, 'etc');
  const usrEtc = join(root, 'usr/etc');
  if (await lexists(usrEtc)) throw new PostprocessError('the tree already has /usr/etc; packages must not ship it');
  await rm(join(etc, 'machine-id'), { force: true });
  if (machineIdCompat) await writeFile(join(etc, 'machine-id'), '', { mode: 0o444 });
  await rename(etc, usrEtc).catch((err: unknown) => withContext('moving /etc to /usr/etc', err));
}

/** Turn everything under /var into tmpfiles.d lines (files are kept in /usr/share/factory/var) and empty /var. */
export async function varToTmpfiles(root: string): Promise<string[]> {
  const ids = await readIds(root);
  const uname = new Map([...ids.users].map(([n, id]) => [id, n]));
  const gname = new Map([...ids.groups].map(([n, id]) => [id, n]));
  const lines: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(join(root, rel))).sort();
    for (const e of entries) {
      const r = `${rel}/${e}`;
      const abs = join(root, r);
      const st = await lstat(abs);
      const owner = `${uname.get(st.uid) ?? st.uid} ${gname.get(st.gid) ?? st.gid}`;
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isDirectory()) {
        if (r === 'var/tmp') continue;
        lines.push(`d /${r} ${mode} ${owner} - -`);
        await walk(r);
      } else if (st.isSymbolicLink()) {
        lines.push(`L /${r} - - - - ${await readlink(abs)}`);
      } else if (st.isFile()) {
        const factory = join(root, 'usr/share/factory', r);
        await mkdir(dirname(factory), { recursive: true });
        await copyFile(abs, factory);
        lines.push(`C /${r} ${mode} ${owner} - /usr/share/factory/${r}`);
      }
    }
  };
  await walk('var');
  await mkdir(join(root, 'usr/lib/tmpfiles.d'), { recursive: true });
  await writeFile(join(root, 'usr/lib/tmpfiles.d/fedostree-autovar.conf'), `# /var content of the tree, created at boot\n${lines.join('\n')}\n`, { mode: 0o644 });
  for (const e of await readdir(join(root, 'var'))) await rm(join(root, 'var', e), { recursive: true, force: true });
  return lines;
}
