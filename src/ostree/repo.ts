/**
 * An OSTree repository on disk: modes, config, loose objects (read/write, atomic), refs and the
 * repository lock. Commit, checkout, fsck, prune and diff live in sibling `repo-*.ts` files.
 */
import { createReadStream, createWriteStream, lstatSync, readFileSync } from 'node:fs';
import {
  chmod, chown, lchown, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, writeFile,
} from 'node:fs/promises';
import { join, dirname, resolve, relative } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, createInflateRaw, deflateRaw as deflateRawCb, constants as zc } from 'node:zlib';
import { promisify } from 'node:util';
import { FedostreeError, FormatError, NotFoundError, UsageError, withContext } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import {
  archiveStreamHeader, contentStreamHeader, decodeArchiveHeader, decodeCommit, decodeDirMeta, decodeDirTree,
  encodeDirMeta, isChecksum, objectRelPath, sha256hex, splitLenPrefixed, validateFileHeader,
  S_IFLNK, S_IFMT, S_IFREG, type Commit, type DirMeta, type DirTree, type FileHeader, type ObjectType, type Xattr,
} from './objects.ts';
import { getXattrs, setXattrs } from './_xattr.ts';
import { KeyFile } from './keyfile.ts';
import { exists, lexists } from '../util/fs.ts';
import { lockFile } from '../util/lockfile.ts';

const deflateRaw = promisify(deflateRawCb);

export const REPO_MODES = ['archive', 'bare', 'bare-user', 'bare-user-only'] as const;
export type RepoMode = (typeof REPO_MODES)[number];

/** Where a content object's bytes come from. */
export type ContentSource =
  | { kind: 'buffer'; data: Uint8Array }
  | { kind: 'path'; path: string; size: number }
  | { kind: 'stream'; stream: Readable; size: number };

/** A content object as read back from the repository. */
export interface StoredFile {
  header: FileHeader;
  size: number;
  /** Path of the loose object (for hardlinking in bare modes). */
  objectPath: string;
  /** The file's bytes (empty for symlinks). */
  open(): Readable;
}

const SMALL_FILE = 1024 * 1024;
const OSTREEMETA = 'user.ostreemeta';

function tmpName(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/** Validate a ref name (roughly `[\w\d][-._\w\d]*(/[\w\d][-._\w\d]*)*`). */
export function validateRefName(ref: string): void {
  if (!/^[\w\d][-._\w\d]*(\/[\w\d][-._\w\d]*)*$/.test(ref)) throw new UsageError(`invalid ref name '${ref}'`);
}

/** A held repository lock; release it with `release()`. */
export interface RepoLock { release(): Promise<void> }

export class OstreeRepo {
  readonly path: string;
  readonly mode: RepoMode;
  readonly config: KeyFile;
  readonly tmpDir: string;
  /** Objects renamed into place by this process (cheap existence cache). */
  private readonly known = new Set<string>();
  /** bare-user objects written to tmp, waiting for their `user.ostreemeta` batch before the rename. */
  private pendingMeta: Array<{ tmp: string; dest: string; xattrs: Xattr[]; key: string }> = [];
  private readonly pendingKeys = new Set<string>();

  private constructor(path: string, mode: RepoMode, config: KeyFile) {
    this.path = path;
    this.mode = mode;
    this.config = config;
    this.tmpDir = join(path, 'tmp');
  }

  get isArchive(): boolean {
    return this.mode === 'archive';
  }

  /** Create a repository (like `ostree init`); an existing repository of any mode is opened instead. */
  static async init(path: string, mode: RepoMode = 'bare', options: { collectionId?: string } = {}): Promise<OstreeRepo> {
    const root = resolve(path);
    if (!REPO_MODES.includes(mode)) throw new UsageError(`invalid repository mode '${mode as string}' (expected ${REPO_MODES.join(', ')})`);
    if (await exists(join(root, 'config'))) return OstreeRepo.open(root);
    for (const d of ['objects', 'refs/heads', 'refs/remotes', 'refs/mirrors', 'tmp/cache', 'state', 'extensions']) {
      await mkdir(join(root, d), { recursive: true });
    }
    let cfg = `[core]\nrepo_version=1\nmode=${mode === 'archive' ? 'archive-z2' : mode}\n`;
    if (options.collectionId) cfg += `collection-id=${options.collectionId}\n`;
    await writeFileAtomic(join(root, 'config'), cfg);
    return OstreeRepo.open(root);
  }

  /** Open an existing repository; errors name the path and what is wrong. */
  static async open(path: string): Promise<OstreeRepo> {
    const root = resolve(path);
    let text: string;
    try {
      text = await readFile(join(root, 'config'), 'utf8');
    } catch {
      throw new NotFoundError(`${root}: not an OSTree repository (no config file)`, { path: root });
    }
    const config = KeyFile.parse(text, join(root, 'config'));
    const rawMode = config.get('core', 'mode') ?? 'bare';
    const mode = rawMode === 'archive-z2' ? 'archive' : rawMode;
    if (!(REPO_MODES as readonly string[]).includes(mode)) {
      throw new FormatError(`${join(root, 'config')}: unsupported repository mode '${rawMode}'`, { path: root });
    }
    const version = config.get('core', 'repo_version');
    if (version !== undefined && version !== '1') throw new FormatError(`${join(root, 'config')}: unsupported repo_version '${version}'`);
    await mkdir(join(root, 'tmp'), { recursive: true });
    return new OstreeRepo(root, mode as RepoMode, config);
  }

  // ---------- locking ----------

  /**
   * Take the repository lock (`.lock`, shared for writers, exclusive for prune/delete) with the
   * same open-file-description lock libostree takes, so a real `ostree` and we wait for each other.
   */
  async lock(exclusive = false): Promise<RepoLock> {
    return lockFile(join(this.path, '.lock'), { exclusive });
  }

  // ---------- objects ----------

  objectPath(checksum: string, type: ObjectType): string {
    return join(this.path, objectRelPath(checksum, type, this.isArchive));
  }

  async hasObject(checksum: string, type: ObjectType): Promise<boolean> {
    const key = `${checksum}.${type}`;
    if (this.known.has(key)) return true;
    // A synchronous lstat: one syscall on a local disk costs far less than a thread-pool round
    // trip, and pulls and deploys ask this for every object of a tree.
    const ok = lstatSync(this.objectPath(checksum, type), { throwIfNoEntry: false }) !== undefined;
    if (ok) this.known.add(key);
    return ok;
  }

  /** Raw bytes of a metadata object (dirtree, dirmeta, commit, commitmeta, tombstone). */
  async loadMetadata(type: ObjectType, checksum: string): Promise<Buffer> {
    if (!isChecksum(checksum)) throw new UsageError(`invalid checksum '${checksum}'`);
    try {
      // Metadata objects are small (KiB): a synchronous read beats four thread-pool round trips
      // (open, fstat, read, close) when a tree walk reads thousands of them.
      return readFileSync(this.objectPath(checksum, type));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`${this.path}: no such ${type} object ${checksum}`, { checksum, type });
      }
      return withContext(`reading ${type} ${checksum}`, err);
    }
  }

  async readCommit(checksum: string): Promise<Commit> {
    const data = await this.loadMetadata('commit', checksum);
    return decodeCommit(data, `commit ${checksum}`);
  }

  async readDirTree(checksum: string): Promise<DirTree> {
    return decodeDirTree(await this.loadMetadata('dirtree', checksum), `dirtree ${checksum}`);
  }

  async readDirMeta(checksum: string): Promise<DirMeta> {
    return decodeDirMeta(await this.loadMetadata('dirmeta', checksum), `dirmeta ${checksum}`);
  }

  /** Detached metadata of a commit, or null. */
  async readCommitMeta(checksum: string): Promise<Buffer | null> {
    try {
      return await this.loadMetadata('commitmeta', checksum);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  private async renameIntoPlace(tmp: string, dest: string, key: string): Promise<void> {
    try {
      await rename(tmp, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await mkdir(dirname(dest), { recursive: true });
        await rename(tmp, dest);
      } else throw err;
    }
    this.known.add(key);
  }

  /** Write a metadata object (atomic; not rewritten if present). Returns its checksum. */
  async writeMetadata(type: ObjectType, data: Uint8Array, expected?: string): Promise<string> {
    const checksum = sha256hex(data);
    if (expected && expected !== checksum) throw new FedostreeError('EINTEGRITY', `${type} object: checksum ${checksum} does not match expected ${expected}`);
    if (type !== 'commitmeta' && (await this.hasObject(checksum, type))) return checksum;
    const tmp = join(this.tmpDir, tmpName(`meta-${type}`));
    await writeFile(tmp, data, { mode: 0o644 });
    await this.renameIntoPlace(tmp, this.objectPath(checksum, type), `${checksum}.${type}`);
    return checksum;
  }

  /** Write detached metadata for a commit (replaces any existing one, atomically). */
  async writeCommitMeta(commit: string, data: Uint8Array): Promise<void> {
    await writeFileAtomic(this.objectPath(commit, 'commitmeta'), data, { tmpDir: this.tmpDir });
  }

  /**
   * Write a content object from a header and a source of bytes; returns its checksum. The bytes are
   * read once: small files are hashed first and skipped if already stored; big files and streams are
   * hashed while being written to `tmp/`. In bare-user mode the rename waits for a batched
   * `user.ostreemeta` write: call `flush()` before writing anything that refers to the object.
   */
  async writeContent(header: FileHeader, source: ContentSource): Promise<string> {
    validateFileHeader(header, 'content object');
    if (this.mode === 'bare-user-only') {
      header = { ...header, uid: 0, gid: 0, xattrs: [] };
    }
    const isLink = (header.mode & S_IFMT) === S_IFLNK;
    const prefix = contentStreamHeader(header);
    if (isLink || source.kind === 'buffer' || source.size <= SMALL_FILE) {
      let data: Uint8Array;
      if (isLink) data = new Uint8Array(0);
      else if (source.kind === 'buffer') data = source.data;
      else if (source.kind === 'path') data = await readFile(source.path);
      else data = Buffer.concat(await source.stream.toArray() as Buffer[]);
      const checksum = createHash('sha256').update(prefix).update(data).digest('hex');
      const key = `${checksum}.file`;
      if (this.pendingKeys.has(key) || (await this.hasObject(checksum, 'file'))) return checksum;
      await this.writeContentTmp(header, checksum, data);
      return checksum;
    }
    // Large: stream into tmp while hashing.
    const hash = createHash('sha256').update(prefix);
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const input = source.kind === 'path' ? createReadStream(source.path, { highWaterMark: 1 << 20 }) : source.stream;
    const tmp = join(this.tmpDir, tmpName('content'));
    let counted = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        counted += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      if (this.isArchive) {
        const out = createWriteStream(tmp, { mode: 0o644 });
        out.write(archiveStreamHeader(header, BigInt(source.size)));
        await pipeline(input, counter, tap, createDeflateRaw({ level: 6, memLevel: 8 }), out);
      } else {
        await pipeline(input, counter, tap, createWriteStream(tmp, { mode: 0o600 }));
      }
      if (counted !== source.size) throw new FormatError(`content stream: ${counted} bytes read, ${source.size} announced`);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const checksum = hash.digest('hex');
    const key = `${checksum}.file`;
    if (this.pendingKeys.has(key) || (await this.hasObject(checksum, 'file'))) {
      await rm(tmp, { force: true });
      return checksum;
    }
    await this.finishTmp(tmp, header, checksum);
    return checksum;
  }

  /** Write `data` (already hashed) as the object `checksum` via tmp. */
  private async writeContentTmp(header: FileHeader, checksum: string, data: Uint8Array): Promise<void> {
    const tmp = join(this.tmpDir, tmpName('content'));
    const isLink = (header.mode & S_IFMT) === S_IFLNK;
    if (this.isArchive) {
      const z = isLink ? Buffer.alloc(0) : await deflateRaw(data, { level: 6 });
      await writeFile(tmp, Buffer.concat([archiveStreamHeader(header, BigInt(data.length)), z]), { mode: 0o644 });
    } else if (isLink && (this.mode === 'bare' || this.mode === 'bare-user-only')) {
      await symlink(header.symlinkTarget, tmp);
    } else if (isLink) {
      await writeFile(tmp, Buffer.concat([Buffer.from(header.symlinkTarget), Buffer.from([0])]), { mode: 0o644 });
    } else {
      await writeFile(tmp, data, { mode: 0o600 });
    }
    await this.finishTmp(tmp, header, checksum);
  }

  /** Apply mode-specific ownership/permissions/xattrs to a tmp object, then rename it into place. */
  private async finishTmp(tmp: string, header: FileHeader, checksum: string): Promise<void> {
    const dest = this.objectPath(checksum, 'file');
    const key = `${checksum}.file`;
    const isLink = (header.mode & S_IFMT) === S_IFLNK;
    switch (this.mode) {
      case 'archive':
        break;
      case 'bare':
        if (isLink) await lchown(tmp, header.uid, header.gid);
        else {
          await chown(tmp, header.uid, header.gid);
          await chmod(tmp, header.mode & 0o7777);
        }
        if (header.xattrs.length) await setXattrs([{ path: tmp, xattrs: header.xattrs }]);
        break;
      case 'bare-user-only':
        if (!isLink) await chmod(tmp, header.mode & 0o777);
        break;
      case 'bare-user': {
        if (!isLink) await chmod(tmp, header.mode & 0o777);
        else await chmod(tmp, 0o644);
        const meta = encodeDirMeta({ uid: header.uid, gid: header.gid, mode: header.mode, xattrs: header.xattrs });
        this.pendingMeta.push({ tmp, dest, key, xattrs: [[Buffer.from(OSTREEMETA), meta]] });
        this.pendingKeys.add(key);
        if (this.pendingMeta.length >= 1000) await this.flush();
        return;
      }
    }
    await this.renameIntoPlace(tmp, dest, key);
  }

  /** Make every content object written so far visible (bare-user batches its xattr writes). */
  async flush(): Promise<void> {
    while (this.pendingMeta.length) {
      const batch = this.pendingMeta;
      this.pendingMeta = [];
      await setXattrs(batch.map((b) => ({ path: b.tmp, xattrs: b.xattrs })));
      for (const b of batch) {
        if (await lexists(b.dest)) await unlink(b.tmp);
        else await this.renameIntoPlace(b.tmp, b.dest, b.key);
        this.pendingKeys.delete(b.key);
      }
    }
  }

  /** Read the header of a stored content object (and its size). */
  async readFileHeader(checksum: string): Promise<{ header: FileHeader; size: number }> {
    const m = await this.readFileHeaders([checksum]);
    const r = m.get(checksum);
    if (!r) throw new NotFoundError(`${this.path}: no such file object ${checksum}`, { checksum });
    return r;
  }

  /** Headers of many content objects at once (one xattr tool run per batch in bare modes). Missing ones are absent. */
  async readFileHeaders(checksums: string[]): Promise<Map<string, { header: FileHeader; size: number }>> {
    const out = new Map<string, { header: FileHeader; size: number }>();
    if (this.isArchive) {
      for (const c of checksums) {
        const p = this.objectPath(c, 'file');
        let fh;
        try {
          fh = await open(p, 'r');
        } catch {
          continue;
        }
        try {
          const first = Buffer.alloc(4096);
          const { bytesRead } = await fh.read(first, 0, 4096, 0);
          let buf = first.subarray(0, bytesRead);
          if (bytesRead >= 4) {
            const need = 8 + buf.readUInt32BE(0);
            if (need > bytesRead && need <= 16 * 1024 * 1024) {
              const big = Buffer.alloc(need);
              const r = await fh.read(big, 0, need, 0);
              buf = big.subarray(0, r.bytesRead);
            }
          }
          const { variant } = splitLenPrefixed(buf, `file object ${c}`);
          const { header, size } = decodeArchiveHeader(variant, `file object ${c}`);
          out.set(c, { header, size: Number(size) });
        } finally {
          await fh.close();
        }
      }
      return out;
    }
    const paths = checksums.map((c) => this.objectPath(c, 'file'));
    const stats = new Map<string, Awaited<ReturnType<typeof lstat>>>();
    for (const p of paths) {
      try {
        stats.set(p, await lstat(p));
      } catch {
        // missing
      }
    }
    const present = paths.filter((p) => stats.has(p));
    let xa = new Map<string, Xattr[]>();
    if (this.mode === 'bare-user') xa = await getXattrs(present, OSTREEMETA);
    else if (this.mode === 'bare') xa = await getXattrs(present);
    for (let i = 0; i < checksums.length; i++) {
      const c = checksums[i];
      const p = paths[i];
      const st = stats.get(p);
      if (!st) continue;
      if (this.mode === 'bare-user') {
        const meta = xa.get(p)?.find(([n]) => n.toString() === OSTREEMETA);
        if (!meta) throw new FormatError(`file object ${c}: missing ${OSTREEMETA} extended attribute`, { checksum: c });
        const dm = decodeDirMeta(meta[1], `file object ${c}: ${OSTREEMETA}`);
        const isLink = (dm.mode & S_IFMT) === S_IFLNK;
        let target = '';
        if (isLink) {
          const raw = await readFile(p);
          target = raw.subarray(0, raw.indexOf(0) >= 0 ? raw.indexOf(0) : raw.length).toString('utf8');
        }
        out.set(c, { header: { uid: dm.uid, gid: dm.gid, mode: dm.mode, rdev: 0, symlinkTarget: target, xattrs: dm.xattrs }, size: isLink ? 0 : Number(st.size) });
      } else {
        const isLink = st.isSymbolicLink();
        const target = isLink ? await readlink(p) : '';
        const xattrs = this.mode === 'bare' ? (xa.get(p) ?? []) : [];
        const uid = this.mode === 'bare' ? Number(st.uid) : 0;
        const gid = this.mode === 'bare' ? Number(st.gid) : 0;
        const mode = isLink ? S_IFLNK | 0o777 : S_IFREG | (Number(st.mode) & 0o7777);
        out.set(c, { header: { uid, gid, mode, rdev: 0, symlinkTarget: target, xattrs }, size: isLink ? 0 : Number(st.size) });
      }
    }
    return out;
  }

  /** Open a stored content object: header, size and a stream of its bytes. */
  async loadFile(checksum: string, known?: { header: FileHeader; size: number }): Promise<StoredFile> {
    const { header, size } = known ?? (await this.readFileHeader(checksum));
    const objectPath = this.objectPath(checksum, 'file');
    const isLink = (header.mode & S_IFMT) === S_IFLNK;
    const archive = this.isArchive;
    return {
      header,
      size,
      objectPath,
      open(): Readable {
        if (isLink) return Readable.from([]);
        if (!archive) return createReadStream(objectPath, { highWaterMark: 1 << 20 });
        const hlen = { done: false };
        // Skip the header, inflate the rest.
        const inflate = createInflateRaw({ finishFlush: zc.Z_SYNC_FLUSH });
        const src = createReadStream(objectPath, { highWaterMark: 1 << 20 });
        let buf = Buffer.alloc(0);
        const skip = new Transform({
          transform(chunk: Buffer, _e, cb) {
            if (hlen.done) return cb(null, chunk);
            buf = Buffer.concat([buf, chunk]);
            if (buf.length < 8) return cb();
            const need = 8 + buf.readUInt32BE(0);
            if (buf.length < need) return cb();
            hlen.done = true;
            cb(null, buf.subarray(need));
          },
        });
        const out = new Transform({ transform: (c: Buffer, _e, cb) => cb(null, c) });
        pipeline(src, skip, inflate, out).catch((err: unknown) => out.destroy(err as Error));
        return out;
      },
    };
  }

  /** Read a whole content object into memory (for small files and tests). */
  async readFileContent(checksum: string): Promise<{ header: FileHeader; content: Buffer }> {
    const f = await this.loadFile(checksum);
    const chunks = (await f.open().toArray()) as Buffer[];
    return { header: f.header, content: Buffer.concat(chunks) };
  }

  /** Remove a loose object (prune, fsck --delete). */
  async deleteObject(checksum: string, type: ObjectType): Promise<void> {
    this.known.delete(`${checksum}.${type}`);
    await rm(this.objectPath(checksum, type), { force: true });
  }

  /** Every loose object: [checksum, type]. */
  async *listObjects(): AsyncGenerator<[string, ObjectType]> {
    const objdir = join(this.path, 'objects');
    let dirs: string[];
    try {
      dirs = (await readdir(objdir)).sort();
    } catch {
      return;
    }
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of (await readdir(join(objdir, d))).sort()) {
        const dot = f.indexOf('.');
        if (dot !== 62) continue;
        const checksum = d + f.slice(0, 62);
        const ext = f.slice(63);
        const type: ObjectType | null = ext === 'file' || ext === 'filez' ? 'file'
          : ext === 'dirtree' || ext === 'dirmeta' || ext === 'commit' || ext === 'commitmeta' || ext === 'commit-tombstone' ? ext : null;
        if (type && isChecksum(checksum)) yield [checksum, type];
      }
    }
  }

  // ---------- refs ----------

  private refPath(ref: string): string {
    const colon = ref.indexOf(':');
    if (colon >= 0) {
      const remote = ref.slice(0, colon);
      const name = ref.slice(colon + 1);
      validateRefName(remote);
      validateRefName(name);
      return join(this.path, 'refs/remotes', remote, name);
    }
    validateRefName(ref);
    return join(this.path, 'refs/heads', ref);
  }

  /** Resolve a ref, `remote:ref`, checksum, or any of these followed by `^` (parent) repeatedly. */
  async resolveRev(rev: string, allowMissing = false): Promise<string | null> {
    let base = rev;
    let parents = 0;
    while (base.endsWith('^')) {
      base = base.slice(0, -1);
      parents++;
    }
    let checksum: string | null = null;
    if (isChecksum(base)) checksum = base;
    else {
      const candidates = [this.refPath(base)];
      if (!base.includes(':')) candidates.push(join(this.path, 'refs/remotes', base), join(this.path, 'refs/mirrors', base));
      for (const p of candidates) {
        try {
          const text = (await readFile(p, 'utf8')).trim();
          if (!isChecksum(text)) throw new FormatError(`ref ${base}: ${p} does not contain a checksum`);
          checksum = text;
          break;
        } catch (err) {
          if (err instanceof FormatError) throw err;
        }
      }
      if (!checksum) {
        if (allowMissing) return null;
        throw new NotFoundError(`${this.path}: ref '${base}' not found`, { ref: base });
      }
    }
    for (let i = 0; i < parents; i++) {
      const c = await this.readCommit(checksum);
      if (!c.parent) throw new NotFoundError(`commit ${checksum} has no parent (resolving '${rev}')`);
      checksum = c.parent;
    }
    return checksum;
  }

  /** Point a ref at a commit (atomic), or delete it with `null`. */
  async setRef(ref: string, checksum: string | null): Promise<void> {
    const p = this.refPath(ref);
    if (checksum === null) {
      await rm(p, { force: true });
      return;
    }
    if (!isChecksum(checksum)) throw new UsageError(`invalid checksum '${checksum}'`);
    await writeFileAtomic(p, `${checksum}\n`);
  }

  /** All refs (`name` for heads, `remote:name` for remotes, mirrors under `mirrors/COLLECTION:name`) → checksum. */
  async listRefs(prefix?: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const walk = async (dir: string, fn: (rel: string) => string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { recursive: true, withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isFile() && !e.isSymbolicLink()) continue;
        const full = join(e.parentPath, e.name);
        const rel = relative(dir, full);
        const text = (await readFile(full, 'utf8').catch(() => '')).trim();
        if (isChecksum(text)) out.set(fn(rel), text);
      }
    };
    await walk(join(this.path, 'refs/heads'), (r) => r);
    let remotes: string[] = [];
    try {
      remotes = await readdir(join(this.path, 'refs/remotes'));
    } catch {
      // none
    }
    for (const r of remotes) await walk(join(this.path, 'refs/remotes', r), (x) => `${r}:${x}`);
    if (prefix === undefined) return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    return new Map([...out].filter(([k]) => k === prefix || k.startsWith(prefix.endsWith('/') || prefix.endsWith(':') ? prefix : prefix + '/')).sort());
  }

  /** `stat` helper exposed for commit's hardlink recognition. */
  async objectStat(checksum: string): Promise<{ dev: number; ino: number } | null> {
    try {
      const st = await stat(this.objectPath(checksum, 'file'));
      return { dev: st.dev, ino: st.ino };
    } catch {
      return null;
    }
  }

  /** Remove stale temporary files (after a crash). */
  async cleanTmp(): Promise<void> {
    for (const f of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (f.startsWith('content-') || f.startsWith('meta-') || f.startsWith('.tmp-')) await rm(join(this.tmpDir, f), { force: true });
    }
  }
}

