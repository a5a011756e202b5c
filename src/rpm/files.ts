import { FormatError } from '../util/errors.ts';
import type { RpmHeader } from './header.ts';
import { FileFlag, Tag } from './tags.ts';
import { HashAlgo, hexLength } from './digest.ts';

/** File type bits of st_mode. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

/** One entry of a package's file list, as the main header describes it. */
export interface RpmFile {
  /** Position in the header's file arrays (cpio's stripped variant refers to files by it). */
  index: number;
  /** Absolute path: dirname + basename. */
  path: string;
  dirname: string;
  basename: string;
  size: number;
  mode: number;
  rdev: number;
  mtime: number;
  /** Hex digest of the content (regular files); '' for others. */
  digest: string;
  /** Symlink target ('' if not a symlink). */
  linkTo: string;
  /** FILEFLAGS bits (FileFlag.*). */
  flags: number;
  verifyFlags: number;
  user: string;
  group: string;
  device: number;
  inode: number;
  lang: string;
  color: number;
  /** File capabilities in text form ('cap_net_raw=ep'), '' if none. */
  caps: string;
  /** Number of files in the package sharing this file's hardlink set (1 if none). */
  nlink: number;
}

/** The file list with the digest algorithm it uses. */
export interface RpmFileList {
  files: RpmFile[];
  /** HashAlgo number of `digest` (MD5 when the header does not say). */
  digestAlgo: number;
}

export function isReg(mode: number): boolean {
  return (mode & S_IFMT) === S_IFREG;
}
export function isDir(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}
export function isLink(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

/** Read the file list from a main header (compressed dirnames/basenames or old absolute names). */
export function readFiles(h: RpmHeader, what = h.what): RpmFileList {
  const digestAlgo = h.number(Tag.FILEDIGESTALGO) ?? HashAlgo.MD5;
  let paths: { dirname: string; basename: string }[];
  if (h.has(Tag.BASENAMES)) {
    const base = h.strings(Tag.BASENAMES) ?? [];
    const dirs = h.strings(Tag.DIRNAMES) ?? [];
    const idx = h.numbers(Tag.DIRINDEXES) ?? [];
    if (idx.length !== base.length) throw new FormatError(`${what}: DIRINDEXES has ${idx.length} entries but BASENAMES has ${base.length}`);
    paths = base.map((b, i) => {
      const d = dirs[idx[i]];
      if (d === undefined) throw new FormatError(`${what}: file ${i} (${b}): dir index ${idx[i]} outside DIRNAMES (${dirs.length} entries)`);
      return { dirname: d, basename: b };
    });
  } else if (h.has(Tag.OLDFILENAMES)) {
    paths = (h.strings(Tag.OLDFILENAMES) ?? []).map((p) => {
      const k = p.lastIndexOf('/') + 1;
      return { dirname: p.slice(0, k), basename: p.slice(k) };
    });
  } else {
    return { files: [], digestAlgo };
  }
  const n = paths.length;
  const arr = <T>(tag: number, name: string, get: () => T[] | undefined, dflt: T): T[] => {
    const v = h.has(tag) ? get() : undefined;
    if (v === undefined) return new Array<T>(n).fill(dflt);
    if (v.length !== n) throw new FormatError(`${what}: ${name} has ${v.length} entries but the package has ${n} files`);
    return v;
  };
  const sizes = h.has(Tag.LONGFILESIZES)
    ? arr(Tag.LONGFILESIZES, 'LONGFILESIZES', () => h.bigints(Tag.LONGFILESIZES)!.map(Number), 0)
    : arr(Tag.FILESIZES, 'FILESIZES', () => h.numbers(Tag.FILESIZES), 0);
  const modes = arr(Tag.FILEMODES, 'FILEMODES', () => h.numbers(Tag.FILEMODES), 0);
  const rdevs = arr(Tag.FILERDEVS, 'FILERDEVS', () => h.numbers(Tag.FILERDEVS), 0);
  const mtimes = arr(Tag.FILEMTIMES, 'FILEMTIMES', () => h.numbers(Tag.FILEMTIMES), 0);
  const digests = arr(Tag.FILEDIGESTS, 'FILEDIGESTS', () => h.strings(Tag.FILEDIGESTS), '');
  const links = arr(Tag.FILELINKTOS, 'FILELINKTOS', () => h.strings(Tag.FILELINKTOS), '');
  const flags = arr(Tag.FILEFLAGS, 'FILEFLAGS', () => h.numbers(Tag.FILEFLAGS), 0);
  const vflags = arr(Tag.FILEVERIFYFLAGS, 'FILEVERIFYFLAGS', () => h.numbers(Tag.FILEVERIFYFLAGS), 0xffffffff);
  const users = arr(Tag.FILEUSERNAME, 'FILEUSERNAME', () => h.strings(Tag.FILEUSERNAME), 'root');
  const groups = arr(Tag.FILEGROUPNAME, 'FILEGROUPNAME', () => h.strings(Tag.FILEGROUPNAME), 'root');
  const devices = arr(Tag.FILEDEVICES, 'FILEDEVICES', () => h.numbers(Tag.FILEDEVICES), 0);
  const inodes = arr(Tag.FILEINODES, 'FILEINODES', () => h.numbers(Tag.FILEINODES), 0);
  const langs = arr(Tag.FILELANGS, 'FILELANGS', () => h.strings(Tag.FILELANGS), '');
  const colors = arr(Tag.FILECOLORS, 'FILECOLORS', () => h.numbers(Tag.FILECOLORS), 0);
  const caps = arr(Tag.FILECAPS, 'FILECAPS', () => h.strings(Tag.FILECAPS), '');
  const files: RpmFile[] = paths.map((p, i) => ({
    index: i,
    path: p.dirname + p.basename,
    dirname: p.dirname,
    basename: p.basename,
    size: sizes[i],
    mode: modes[i] & 0xffff,
    rdev: rdevs[i] & 0xffff,
    mtime: mtimes[i],
    digest: digests[i].toLowerCase(),
    linkTo: links[i],
    flags: flags[i],
    verifyFlags: vflags[i],
    user: users[i],
    group: groups[i],
    device: devices[i],
    inode: inodes[i],
    lang: langs[i],
    color: colors[i],
    caps: caps[i],
    nlink: 1,
  }));
  // Hardlink sets: regular files sharing (device, inode).
  const sets = new Map<string, RpmFile[]>();
  for (const f of files) {
    if (!isReg(f.mode) || !h.has(Tag.FILEINODES)) continue;
    const k = `${f.device}:${f.inode}`;
    const s = sets.get(k);
    if (s) s.push(f);
    else sets.set(k, [f]);
  }
  for (const s of sets.values()) for (const f of s) f.nlink = s.length;
  return { files, digestAlgo };
}

/** Files of the same hardlink set as `f` (including f), in header order. */
export function hardlinkSet(list: readonly RpmFile[], f: RpmFile): RpmFile[] {
  if (f.nlink < 2) return [f];
  return list.filter((g) => g.nlink > 1 && g.device === f.device && g.inode === f.inode && isReg(g.mode));
}

/**
 * One line of `rpm -qp --dump`: path size mtime digest mode owner group isconfig isdoc rdev symlink.
 */
export function dumpLine(f: RpmFile, digestAlgo: number): string {
  const zero = '0'.repeat(hexLength(digestAlgo) || 32);
  const digest = f.digest || zero;
  const mode = `0${f.mode.toString(8)}`;
  const isConfig = f.flags & FileFlag.CONFIG ? 1 : 0;
  const isDoc = f.flags & FileFlag.DOC ? 1 : 0;
  return `${f.path} ${f.size} ${f.mtime} ${digest} ${mode} ${f.user} ${f.group} ${isConfig} ${isDoc} ${f.rdev} ${f.linkTo || 'X'}`;
}

/** Names of the flags set in FILEFLAGS ('config', 'noreplace', 'ghost', …). */
export function fileFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(FileFlag)) if (flags & v) out.push(k.toLowerCase());
  return out;
}

/** `ls -l`-style permission string for a mode ('-rwsr-xr-x'). */
export function modeString(mode: number): string {
  const t = mode & S_IFMT;
  const type = t === S_IFDIR ? 'd' : t === S_IFLNK ? 'l' : t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : t === S_IFIFO ? 'p' : t === S_IFSOCK ? 's' : '-';
  const rwx = (bits: number, special: boolean, ch: string): string =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return type + rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's') + rwx(mode, (mode & 0o1000) !== 0, 't');
}
