/**
 * The package cache: every RPM imported once into a (bare or bare-user) repository as its own
 * commit under `rpmostree/pkg/NAME/EVR.ARCH`, content streamed from the payload straight into
 * objects. An RPM whose commit exists with the same header digest is not read again.
 */
import { createHash } from 'node:crypto';
import {
  commitTree, metaGet, metaString, metaValue, MutableTree, encodeDirMeta, S_IFDIR,
  type OstreeRepo, type FileHeader,
} from '../ostree/index.ts';
import { openPackage, readPayload, packageInfo, isDir, isLink, isReg, SigTag, type RpmPackage } from '../rpm/index.ts';
import { FormatError, tryContext } from '../util/errors.ts';

/** Metadata keys on package commits. */
const KEY_HEADER_DIGEST = 'fedostree.pkg.headerdigest';
const KEY_OWNERS = 'fedostree.pkg.owners';
/** `TYPE:HEX` checksum of the package file as the repository metadata announced it. */
const KEY_PKGID = 'fedostree.pkg.pkgid';
const KEY_NEVRA = 'rpmostree.nevra';

/** Escape one ref component: `[A-Za-z0-9.-]` stay, `_` doubles, anything else becomes `_XX` (hex). */
export function escapeRefPart(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9.-]/.test(c)) out += c;
    else if (c === '_') out += '__';
    else out += `_${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of escapeRefPart. */
export function unescapeRefPart(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '_') bytes.push(s.charCodeAt(i));
    else if (s[i + 1] === '_') {
      bytes.push(0x5f);
      i++;
    } else {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new FormatError(`bad escape '_${hex}' in package cache ref part '${s}'`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A package identity. */
export interface Nevra {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
}

/** `[epoch:]version-release` (epoch only when non-zero). */
export function evrString(p: Nevra): string {
  return `${p.epoch ? `${p.epoch}:` : ''}${p.version}-${p.release}`;
}

/** The package cache ref of a package: `rpmostree/pkg/NAME/EVR.ARCH`, escaped. */
export function pkgCacheRef(p: Nevra): string {
  return `rpmostree/pkg/${escapeRefPart(p.name)}/${escapeRefPart(`${evrString(p)}.${p.arch}`)}`;
}

/** A file whose owner is not root: ownership is applied at assembly, from the tree's own passwd/group. */
export type OwnerEntry = [path: string, user: string, group: string];

/** A package in the cache. */
export interface CachedPackage extends Nevra {
  nevra: string;
  ref: string;
  commit: string;
  /** True when this call imported it (false: already cached). */
  imported: boolean;
  owners: OwnerEntry[];
  /** Opened package (headers only). */
  pkg: RpmPackage;
}

/** Digest identifying the package's header (SHA256HEADER from the signature, else sha256 of the header region). */
export function headerDigest(pkg: RpmPackage): string {
  const sig = pkg.signature.has(SigTag.SHA256) ? pkg.signature.string(SigTag.SHA256) : undefined;
  if (sig) return sig;
  return createHash('sha256').update(pkg.header.region ? pkg.header.immutableRegion() : Buffer.alloc(0)).digest('hex');
}

const ROOT_DIR = { uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] };

/** Import `rpmPath` into `cache` unless the same package (same header digest) is already there. */
export async function importPackage(cache: OstreeRepo, rpmPath: string, pkgid?: string): Promise<CachedPackage> {
  return tryContext(`importing ${rpmPath}`, async () => {
    const pkg = await openPackage(rpmPath);
    const info = packageInfo(pkg);
    const id: Nevra = { name: info.name, epoch: info.epoch ?? 0, version: info.version, release: info.release, arch: info.arch };
    const nevra = `${id.name}-${evrString(id)}.${id.arch}`;
    const ref = pkgCacheRef(id);
    const digest = headerDigest(pkg);
    const existing = await cache.resolveRev(ref, true);
    if (existing) {
      const c = await cache.readCommit(existing);
      const d = metaGet(c.metadata, KEY_HEADER_DIGEST);
      if (d && metaValue(d) === digest) {
        const o = metaGet(c.metadata, KEY_OWNERS);
        const owners = o ? (JSON.parse(metaValue(o) as string) as OwnerEntry[]) : [];
        return { ...id, nevra, ref, commit: existing, imported: false, owners, pkg };
      }
    }
    const tree = new MutableTree();
    const rootMeta = await cache.writeMetadata('dirmeta', encodeDirMeta(ROOT_DIR));
    tree.metaChecksum = rootMeta;
    const dirMetaCache = new Map<string, string>([['0:0:' + String(ROOT_DIR.mode), rootMeta]]);
    const dirMeta = async (mode: number): Promise<string> => {
      const k = `0:0:${mode}`;
      let c = dirMetaCache.get(k);
      if (!c) {
        c = await cache.writeMetadata('dirmeta', encodeDirMeta({ uid: 0, gid: 0, mode, xattrs: [] }));
        dirMetaCache.set(k, c);
      }
      return c;
    };
    const owners: OwnerEntry[] = [];
    const checksums = new Map<string, string>();
    /** Parent directory of `path`, created with default metadata when the package does not own it. */
    const parentOf = async (path: string): Promise<{ dir: MutableTree; name: string }> => {
      const parts = path.split('/').filter((p) => p !== '');
      const name = parts.pop() as string;
      let t = tree;
      for (const part of parts) {
        let next = t.dirs.get(part);
        if (!next) {
          next = await t.ensureDir(cache, part);
          next.metaChecksum = rootMeta;
        }
        t = next;
      }
      return { dir: t, name };
    };
    for await (const e of readPayload(pkg)) {
      const f = e.file;
      const user = f.user || 'root';
      const group = f.group || 'root';
      if (user !== 'root' || group !== 'root') owners.push([e.path, user, group]);
      if (isDir(f.mode) && e.path.split('/').every((p) => p === '')) {
        tree.metaChecksum = await dirMeta(f.mode); // the package owns "/" itself (a filesystem package)
        continue;
      }
      if (isDir(f.mode)) {
        const { dir, name } = await parentOf(e.path);
        const sub = dir.dirs.get(name) ?? (await dir.ensureDir(cache, name));
        sub.metaChecksum = await dirMeta(f.mode);
        continue;
      }
      if (!isReg(f.mode) && !isLink(f.mode)) {
        e.content.resume();
        continue; // device nodes, fifos, sockets: not representable, skipped
      }
      const { dir, name } = await parentOf(e.path);
      if (e.hardlinkOf) {
        const cs = checksums.get(e.hardlinkOf);
        if (!cs) throw new FormatError(`${pkg.what}: hardlink ${e.path} refers to ${e.hardlinkOf}, which was not imported`);
        dir.replaceFile(name, cs);
        continue;
      }
      const header: FileHeader = { uid: 0, gid: 0, mode: f.mode, rdev: 0, symlinkTarget: isLink(f.mode) ? f.linkTo : '', xattrs: [] };
      const cs = await cache.writeContent(header, isLink(f.mode) ? { kind: 'buffer', data: new Uint8Array(0) } : { kind: 'stream', stream: e.content, size: f.size });
      if (isLink(f.mode)) e.content.resume();
      checksums.set(e.path, cs);
      dir.replaceFile(name, cs);
    }
    const commit = await commitTree(cache, tree, {
      branch: ref,
      parent: null,
      subject: nevra,
      timestamp: BigInt(info.buildtime),
      metadata: [
        metaString(KEY_NEVRA, nevra), metaString(KEY_HEADER_DIGEST, digest), metaString(KEY_OWNERS, JSON.stringify(owners)),
        ...(pkgid ? [metaString(KEY_PKGID, pkgid)] : []),
      ],
    });
    return { ...id, nevra, ref, commit, imported: true, owners, pkg };
  });
}

/**
 * The cached package for a file already downloaded earlier, without verifying the whole file
 * again: only when the cache commit records the same repository checksum (`pkgid`) and the
 * file's header has the digest the commit was imported from. Otherwise null (download and import).
 */
export async function cachedPackage(cache: OstreeRepo, rpmPath: string, pkgid: string): Promise<CachedPackage | null> {
  let pkg: RpmPackage;
  try {
    pkg = await openPackage(rpmPath);
  } catch {
    return null;
  }
  const info = packageInfo(pkg);
  const id: Nevra = { name: info.name, epoch: info.epoch ?? 0, version: info.version, release: info.release, arch: info.arch };
  const ref = pkgCacheRef(id);
  const commit = await cache.resolveRev(ref, true);
  if (!commit) return null;
  const c = await cache.readCommit(commit);
  const got = (k: string): unknown => {
    const e = metaGet(c.metadata, k);
    return e ? metaValue(e) : undefined;
  };
  if (got(KEY_PKGID) !== pkgid || got(KEY_HEADER_DIGEST) !== headerDigest(pkg)) return null;
  const owners = JSON.parse((got(KEY_OWNERS) as string | undefined) ?? '[]') as OwnerEntry[];
  return { ...id, nevra: `${id.name}-${evrString(id)}.${id.arch}`, ref, commit, imported: false, owners, pkg };
}
