/**
 * A sysroot on disk: the physical root holding `ostree/repo`, `ostree/deploy/STATEROOT/…` and
 * `boot/loader.N/entries`. Loading reads the current boot entries (the deployment list) and the
 * origin files; nothing here writes except `initFs`/`osInit`.
 */
import { mkdir, readFile, readdir, readlink, realpath, stat, symlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError, NotFoundError, UsageError } from '../util/errors.ts';
import { KeyFile, OstreeRepo, isChecksum, metaGet } from '../ostree/index.ts';
import { kargValue, parseBls, splitKargs, userKargs, type BlsEntry } from './bls.ts';
import { lexists as exists } from '../util/fs.ts';
import { lockFile } from '../util/lockfile.ts';

/** One deployment as listed by the boot entries (index 0 = default). */
export interface Deployment {
  index: number;
  stateroot: string;
  csum: string;
  serial: number;
  bootcsum: string;
  bootserial: number;
  /** Kernel arguments without `ostree=`. */
  kargs: string[];
  /** The parsed origin file, or null when missing/corrupt (see originError). */
  origin: KeyFile | null;
  originError?: string;
  /** The BLS entry this deployment was read from. */
  entryFile: string;
  entry: BlsEntry;
  /** The deployment directory does not exist (removed by hand). */
  missing: boolean;
  booted: boolean;
  pinned: boolean;
}

export function deployDirName(d: { csum: string; serial: number }): string {
  return `${d.csum}.${d.serial}`;
}

export function validateStateroot(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`invalid stateroot name '${name}'`);
}

async function readLinkOr(p: string): Promise<string | null> {
  try {
    return await readlink(p);
  } catch {
    return null;
  }
}

export interface SysrootOptions {
  /** Kernel command line used for booted detection (default: /proc/cmdline when the sysroot is `/`, or $FEDOSTREE_CMDLINE). */
  cmdline?: string;
}

export class Sysroot {
  readonly path: string;
  /** Current bootversion B (`boot/loader -> loader.B`); 0 when no deployment was ever written. */
  bootversion = 0;
  /** Current subbootversion S (`ostree/boot.B -> boot.B.S`). */
  subbootversion = 0;
  deployments: Deployment[] = [];
  /** The booted deployment when the command line names one of ours. */
  booted: Deployment | null = null;
  /** True when a command line with `ostree=` was seen (so "not booted" is meaningful). */
  bootedSystem = false;
  private repoCache: OstreeRepo | null = null;
  private readonly cmdline: string | undefined;

  private constructor(path: string, options: SysrootOptions) {
    this.path = path;
    this.cmdline = options.cmdline;
  }

  /** Open and load a sysroot; a directory without `ostree/repo` is rejected clearly. */
  static async open(path = '/', options: SysrootOptions = {}): Promise<Sysroot> {
    const s = new Sysroot(path, options);
    if (!(await exists(join(path, 'ostree/repo/config')))) {
      throw new NotFoundError(
        path === '/' ? 'this system is not an OSTree system (no /ostree/repo); use --sysroot DIR for another root'
          : `${path} is not an OSTree sysroot (no ostree/repo; run 'fedostree admin init-fs ${path}' first)`, { path });
    }
    await s.load();
    return s;
  }

  async repo(): Promise<OstreeRepo> {
    this.repoCache ??= await OstreeRepo.open(join(this.path, 'ostree/repo'));
    return this.repoCache;
  }

  deployDir(d: { stateroot: string; csum: string; serial: number }): string {
    return join(this.path, 'ostree/deploy', d.stateroot, 'deploy', deployDirName(d));
  }

  originPath(d: { stateroot: string; csum: string; serial: number }): string {
    return this.deployDir(d) + '.origin';
  }

  /** Stateroots that exist on disk (`ostree/deploy/*`). */
  async stateroots(): Promise<string[]> {
    return (await readdir(join(this.path, 'ostree/deploy')).catch(() => [] as string[])).sort();
  }

  /** (Re)read the deployment list from the current boot entries. */
  async load(): Promise<void> {
    const loader = await readLinkOr(join(this.path, 'boot/loader'));
    this.deployments = [];
    this.booted = null;
    this.bootversion = 0;
    this.subbootversion = 0;
    if (loader !== null) {
      const m = /^loader\.([01])$/.exec(loader);
      if (!m) throw new FormatError(`${join(this.path, 'boot/loader')}: unexpected link target '${loader}'`);
      this.bootversion = Number(m[1]);
    }
    const sub = await readLinkOr(join(this.path, `ostree/boot.${this.bootversion}`));
    if (sub !== null) {
      const m = /^boot\.[01]\.([01])$/.exec(sub);
      if (!m) throw new FormatError(`${join(this.path, `ostree/boot.${this.bootversion}`)}: unexpected link target '${sub}'`);
      this.subbootversion = Number(m[1]);
    }
    if (loader === null) return;
    const dir = join(this.path, `boot/loader.${this.bootversion}/entries`);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.conf'));
    const parsed: Array<{ file: string; entry: BlsEntry }> = [];
    for (const n of names) {
      const file = join(dir, n);
      parsed.push({ file, entry: parseBls(await readFile(file, 'utf8'), file) });
    }
    // Newest (largest version) first, like the boot menu.
    parsed.sort((a, b) => Number(b.entry.version) - Number(a.entry.version) || (a.file < b.file ? 1 : -1));
    const cmdline = this.cmdline ?? process.env.FEDOSTREE_CMDLINE ?? (this.path === '/' ? await readFile('/proc/cmdline', 'utf8').catch(() => '') : '');
    const bootedArg = kargValue(splitKargs(cmdline), 'ostree');
    this.bootedSystem = bootedArg !== undefined;
    // On the running system, / is a bind mount of the booted deployment: match device and inode, as
    // libostree does. The ostree= path can no longer resolve once a deploy has flipped the boot
    // version (its /ostree/boot.N is gone), so it is only the fallback for other sysroots.
    const running = bootedArg !== undefined && this.path === '/' && this.cmdline === undefined && process.env.FEDOSTREE_CMDLINE === undefined;
    const rootStat = running ? await stat('/').catch(() => null) : null;
    const bootedReal = bootedArg !== undefined && !running ? await realpath(join(this.path, bootedArg)).catch(() => null) : null;
    for (const [index, { file, entry }] of parsed.entries()) {
      const args = splitKargs(entry.options);
      const ostreeArg = kargValue(args, 'ostree');
      const m = ostreeArg ? /^\/ostree\/boot\.([01])\/([^/]+)\/([0-9a-f]{64})\/(\d+)$/.exec(ostreeArg) : null;
      if (!m) throw new FormatError(`${file}: no valid 'ostree=' kernel argument in its options line`);
      const [, , stateroot, bootcsum, bootserial] = m;
      const linkPath = join(this.path, ostreeArg as string);
      const target = await readLinkOr(linkPath);
      const t = target ? /deploy\/([^/]+)\/deploy\/([0-9a-f]{64})\.(\d+)$/.exec(target) : null;
      if (!t || t[1] !== stateroot) throw new FormatError(`${file}: ${linkPath} is not a link to a deployment of '${stateroot}'`);
      const d: Deployment = {
        index, stateroot, csum: t[2], serial: Number(t[3]), bootcsum, bootserial: Number(bootserial), kargs: userKargs(args),
        origin: null, entryFile: file, entry, missing: false, booted: false, pinned: false,
      };
      d.missing = !(await exists(this.deployDir(d)));
      try {
        const text = await readFile(this.originPath(d), 'utf8');
        d.origin = KeyFile.parse(text, this.originPath(d));
        d.pinned = d.origin.getBool('libostree-transient', 'pinned');
      } catch (err) {
        d.originError = err instanceof Error ? err.message : String(err);
      }
      let isBooted = false;
      if (rootStat && !d.missing) {
        const st = await stat(this.deployDir(d)).catch(() => null);
        isBooted = st !== null && st.dev === rootStat.dev && st.ino === rootStat.ino;
      } else if (bootedReal !== null && !d.missing) {
        isBooted = (await realpath(this.deployDir(d)).catch(() => '')) === bootedReal;
      }
      if (isBooted) {
        d.booted = true;
        this.booted = d;
      }
      this.deployments.push(d);
    }
  }

  /**
   * The deployment whose /etc and kargs a new deployment of `stateroot` inherits: the booted one
   * when it is of that stateroot, else the first of that stateroot.
   */
  mergeDeployment(stateroot: string): Deployment | null {
    if (this.booted && this.booted.stateroot === stateroot) return this.booted;
    return this.deployments.find((d) => d.stateroot === stateroot) ?? null;
  }

  /** The stateroot commands act on without `--os`: the booted one, else the default deployment's. */
  defaultStateroot(): string | null {
    return this.booted?.stateroot ?? this.deployments[0]?.stateroot ?? null;
  }

  /** Take the sysroot lock (`ostree/lock`), the open-file-description lock `ostree admin` takes. */
  async lock(): Promise<{ release(): Promise<void> }> {
    return lockFile(join(this.path, 'ostree/lock'), { exclusive: true, timeoutMs: 60_000, what: 'another fedostree or ostree is busy with this sysroot' });
  }
}

/** Version string of a commit (`version` metadata), or ''. */
export async function commitVersion(repo: OstreeRepo, csum: string): Promise<{ version: string; timestamp: bigint } | null> {
  if (!isChecksum(csum) || !(await repo.hasObject(csum, 'commit'))) return null;
  const c = await repo.readCommit(csum);
  const v = metaGet(c.metadata, 'version');
  let version = '';
  if (v && v.type === 's') version = v.data.subarray(0, v.data.indexOf(0) < 0 ? v.data.length : v.data.indexOf(0)).toString('utf8');
  return { version, timestamp: c.timestamp };
}

/** `ostree admin init-fs DIR`: the top-level directories and an empty bare repository. */
export async function initFs(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  for (const d of ['boot', 'dev', 'home', 'proc', 'run', 'sys', 'ostree/deploy']) await mkdir(join(path, d), { recursive: true, mode: 0o755 });
  await mkdir(join(path, 'root'), { recursive: true, mode: 0o700 });
  await chmod(join(path, 'root'), 0o700);
  await mkdir(join(path, 'tmp'), { recursive: true });
  await chmod(join(path, 'tmp'), 0o1777);
  await OstreeRepo.init(join(path, 'ostree/repo'), 'bare');
}

/**
 * `ostree admin os-init STATEROOT`: the stateroot's persistent /var. With `shareHome`, its
 * `var/home` is a link to the physical root's `/home` (visible as /sysroot/home once booted), so
 * several stateroots share one /home.
 */
export async function osInit(path: string, stateroot: string, options: { shareHome?: boolean } = {}): Promise<void> {
  validateStateroot(stateroot);
  if (!(await exists(join(path, 'ostree/repo/config')))) throw new NotFoundError(`${path} is not an OSTree sysroot (run 'fedostree admin init-fs ${path}' first)`);
  const base = join(path, 'ostree/deploy', stateroot);
  for (const d of ['lib', 'log']) await mkdir(join(base, 'var', d), { recursive: true });
  await mkdir(join(base, 'var/tmp'), { recursive: true });
  await chmod(join(base, 'var/tmp'), 0o1777);
  for (const [name, target] of [['lock', '../run/lock'], ['run', '../run']]) {
    if (!(await exists(join(base, 'var', name)))) await symlink(target, join(base, 'var', name));
  }
  if (options.shareHome && !(await exists(join(base, 'var/home')))) await symlink('/sysroot/home', join(base, 'var/home'));
}
