/**
 * Pulling commits from a remote archive repository (HTTP or a local path) into a repository of any
 * mode: refs resolved through the (optionally signed) summary, commits verified (checksum and
 * signatures) before anything they reference is fetched, every object re-hashed before it becomes
 * visible, bounded concurrency, resumable (objects already present are skipped, partial downloads
 * continue with byte ranges, `state/C.commitpartial` marks an unfinished commit), downgrades refused.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, inflateRaw as inflateRawCb, constants as zc } from 'node:zlib';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { FedostreeError, FormatError, IntegrityError, NotFoundError, UsageError, tryContext } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { Limiter } from '../util/concurrency.ts';
import type { ProgressListener } from '../util/progress.ts';
import {
  contentStreamHeader, decodeArchiveHeader, decodeCommit, decodeDirMeta, decodeDirTree, decodeVardict, isChecksum, objectRelPath,
  sha256hex, splitLenPrefixed, validateFileHeader, type Commit, type ObjectType,
} from './objects.ts';
import { OstreeRepo } from './repo.ts';
import { KeyFile } from './keyfile.ts';
import { createFetcher, type Fetcher } from './pull-fetch.ts';
import { parseSummary, parseDeltaIndex, deltaIndexRelPath, type Summary } from './summary.ts';
import { verifySignatures, type VerifyPolicy } from './sign.ts';
import { getRemote, remotePolicy } from './remote.ts';
import { applyStaticDeltaFromFetcher } from './static-delta-apply.ts';
import { exists } from '../util/fs.ts';

/** Metadata objects larger than this are refused (as the peer tool does). */
export const MAX_METADATA_SIZE = 10 * 1024 * 1024;
/** Compressed objects up to this size are fetched and verified in memory. */
const SMALL_OBJECT = 1024 * 1024;
/** ...and inflated in memory if they announce at most this many bytes (bounds compression bombs). */
const MAX_INFLATE_IN_MEMORY = 8 * 1024 * 1024;
const inflateRaw = promisify(inflateRawCb);
/** Largest content object accepted (compressed or not). */
export const MAX_CONTENT_SIZE = 64 * 1024 * 1024 * 1024;

export interface PullOptions {
  /** Parents to pull as well: 0 = only the commit (default), -1 = all history. */
  depth?: number;
  /** Write refs under refs/heads and copy the summary (a mirror). */
  mirror?: boolean;
  /** Accept a commit older than the one the ref points at now. */
  allowDowngrade?: boolean;
  /** Parallel requests (default 8). */
  concurrency?: number;
  /** Only fetch commits and their detached metadata. */
  commitMetadataOnly?: boolean;
  /** Never use static deltas. */
  disableStaticDeltas?: boolean;
  /** Fail unless a static delta is used for every commit. */
  requireStaticDeltas?: boolean;
  onProgress?: ProgressListener;
  /** Retries per HTTP request for transient failures. */
  retries?: number;
}

export interface PullSource {
  url: string;
  /** Remote name: refs are written as `remote:ref` (unless mirroring); null for a plain URL. */
  remote: string | null;
  /** Signature checks for commits. */
  policy: VerifyPolicy;
  /** Signature checks for the summary. */
  summaryPolicy: VerifyPolicy;
}

export interface PullResult {
  /** Ref (as requested) → commit pulled. */
  refs: Map<string, string>;
  /** Refs that did not change. */
  unchanged: string[];
  objectsFetched: number;
  objectsPresent: number;
  deltasUsed: string[];
  bytesTransferred: number;
  requests: number;
}

function tmpName(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

/** `state/C.commitpartial`: present while a commit's tree is incomplete. */
export function commitPartialPath(repo: OstreeRepo, commit: string): string {
  return join(repo.path, 'state', `${commit}.commitpartial`);
}

/**
 * Verify a downloaded `.filez` file (header + raw deflate) against `checksum`. Returns its header
 * and, if `rawOut` is given, leaves the inflated content there.
 */
/** Read and validate the header of a downloaded `.filez` file. */
async function readFilezHeader(path: string, checksum: string): Promise<{ header: ReturnType<typeof decodeArchiveHeader>['header']; size: bigint; payloadStart: number }> {
  const what = `file object ${checksum}`;
  const fh = await open(path, 'r');
  let headBuf: Buffer;
  try {
    const first = Buffer.alloc(8);
    const { bytesRead } = await fh.read(first, 0, 8, 0);
    if (bytesRead < 8) throw new FormatError(`${what}: truncated header`);
    const len = first.readUInt32BE(0);
    if (len > 16 * 1024 * 1024) throw new FormatError(`${what}: header length ${len} too large`);
    headBuf = Buffer.alloc(8 + len);
    const r = await fh.read(headBuf, 0, 8 + len, 0);
    if (r.bytesRead < 8 + len) throw new FormatError(`${what}: truncated header`);
  } finally {
    await fh.close();
  }
  const { variant, payloadStart } = splitLenPrefixed(headBuf, what);
  const { header, size } = decodeArchiveHeader(variant, what);
  validateFileHeader(header, what);
  if (size > BigInt(MAX_CONTENT_SIZE)) throw new FormatError(`${what}: announced size ${size} too large`);
  return { header, size, payloadStart };
}

export async function verifyFilez(path: string, checksum: string, rawOut?: string): Promise<{ header: ReturnType<typeof decodeArchiveHeader>['header']; size: number }> {
  const what = `file object ${checksum}`;
  const { header, size, payloadStart } = await readFilezHeader(path, checksum);
  const hash = createHash('sha256').update(contentStreamHeader(header));
  let n = 0n;
  const tap = new Transform({
    transform(c: Buffer, _e, cb) {
      n += BigInt(c.length);
      if (n > size) return cb(new IntegrityError(`${what}: content longer than the ${size} bytes announced`));
      hash.update(c);
      cb(null, rawOut ? c : undefined);
    },
  });
  const src = createReadStream(path, { start: payloadStart, highWaterMark: 1 << 20 });
  try {
    if (rawOut) await pipeline(src, createInflateRaw({ finishFlush: zc.Z_SYNC_FLUSH }), tap, createWriteStream(rawOut, { mode: 0o600 }));
    else {
      tap.resume();
      await pipeline(src, createInflateRaw({ finishFlush: zc.Z_SYNC_FLUSH }), tap);
    }
  } catch (err) {
    if (err instanceof FedostreeError) throw err;
    throw new IntegrityError(`${what}: corrupt compressed content: ${(err as Error).message}`);
  }
  if (n !== size) throw new IntegrityError(`${what}: content is ${n} bytes, header says ${size}`);
  const got = hash.digest('hex');
  if (got !== checksum) throw new IntegrityError(`${what}: content hashes to ${got}`, { checksum, got });
  return { header, size: Number(size) };
}

/** Verify `.filez` bytes held in memory; returns the header and the inflated content (null: too big to inflate in memory). */
export async function verifyFilezBuffer(data: Buffer, checksum: string): Promise<{ header: ReturnType<typeof decodeArchiveHeader>['header']; content: Buffer } | null> {
  const what = `file object ${checksum}`;
  const { variant, payloadStart } = splitLenPrefixed(data, what);
  const { header, size } = decodeArchiveHeader(variant, what);
  validateFileHeader(header, what);
  if (size > BigInt(MAX_INFLATE_IN_MEMORY)) return null;
  let content: Buffer;
  try {
    content = payloadStart === data.length ? Buffer.alloc(0)
      : await inflateRaw(data.subarray(payloadStart), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: Number(size) + 1 });
  } catch (err) {
    throw new IntegrityError(`${what}: corrupt compressed content: ${(err as Error).message}`);
  }
  if (BigInt(content.length) !== size) throw new IntegrityError(`${what}: content is ${content.length} bytes, header says ${size}`);
  const got = createHash('sha256').update(contentStreamHeader(header)).update(content).digest('hex');
  if (got !== checksum) throw new IntegrityError(`${what}: content hashes to ${got}`, { checksum, got });
  return { header, content };
}

/** Split `REF@CHECKSUM` into its parts. */
function parseRefSpec(spec: string): { ref: string | null; commit: string | null } {
  const at = spec.lastIndexOf('@');
  if (at > 0 && isChecksum(spec.slice(at + 1))) return { ref: spec.slice(0, at), commit: spec.slice(at + 1) };
  if (isChecksum(spec)) return { ref: null, commit: spec };
  return { ref: spec, commit: null };
}

class Puller {
  readonly repo: OstreeRepo;
  readonly src: PullSource;
  readonly o: PullOptions;
  readonly fetcher: Fetcher;
  readonly limiter: Limiter;
  fetched = 0;
  present = 0;
  private readonly inFlight = new Map<string, Promise<void>>();
  private firstError: Error | null = null;
  private readonly pending: Array<Promise<void>> = [];
  private total = 0;

  constructor(repo: OstreeRepo, src: PullSource, o: PullOptions) {
    this.repo = repo;
    this.src = src;
    this.o = o;
    this.fetcher = createFetcher(src.url, { retries: o.retries, maxSockets: Math.max(1, o.concurrency ?? 8) });
    this.limiter = new Limiter(Math.max(1, o.concurrency ?? 8));
  }

  progress(message?: string): void {
    this.o.onProgress?.({ stage: 'pull', done: this.fetched + this.present, total: this.total || undefined, unit: 'objects', message });
  }

  /** Run `fn` (bounded), remembering the first error; the walk stops scheduling after one. */
  spawn(fn: () => Promise<void>): void {
    if (this.firstError) return;
    this.total++;
    this.pending.push(this.limiter.run(fn).catch((err: unknown) => {
      this.firstError ??= err instanceof Error ? err : new Error(String(err));
    }));
  }

  async drain(): Promise<void> {
    while (this.pending.length) await Promise.all(this.pending.splice(0));
    if (this.firstError) throw this.firstError;
  }

  async fetchMetadata(type: ObjectType, checksum: string, optional = false): Promise<Buffer | null> {
    const rel = objectRelPath(checksum, type, true);
    const data = await this.fetcher.get(rel, MAX_METADATA_SIZE);
    if (!data) {
      if (optional) return null;
      throw new NotFoundError(`remote ${this.src.url}: ${type} object ${checksum} not found`, { checksum, type });
    }
    if (type !== 'commitmeta') {
      const got = sha256hex(data);
      if (got !== checksum) throw new IntegrityError(`remote ${this.src.url}: ${type} object ${checksum}: content hashes to ${got}`, { checksum, got });
    }
    return data;
  }

  /** Ensure a dirtree or dirmeta object is present; returns its bytes. */
  async ensureMeta(type: 'dirtree' | 'dirmeta', checksum: string): Promise<Buffer> {
    if (await this.repo.hasObject(checksum, type)) {
      this.present++;
      return this.repo.loadMetadata(type, checksum);
    }
    const data = (await this.fetchMetadata(type, checksum)) as Buffer;
    if (type === 'dirtree') decodeDirTree(data, `dirtree ${checksum}`);
    else decodeDirMeta(data, `dirmeta ${checksum}`);
    await this.repo.writeMetadata(type, data, checksum);
    this.fetched++;
    this.progress();
    return data;
  }

  async ensureFile(checksum: string): Promise<void> {
    if (await this.repo.hasObject(checksum, 'file')) {
      this.present++;
      return;
    }
    const part = join(this.repo.tmpDir, `pull-${checksum}.filez.part`);
    const got = await this.fetcher.fetchSpill(objectRelPath(checksum, 'file', true), part, MAX_CONTENT_SIZE, SMALL_OBJECT);
    if (!got) throw new NotFoundError(`remote ${this.src.url}: file object ${checksum} not found`, { checksum });
    const small = got === 'file' ? null : await verifyFilezBuffer(got, checksum);
    if (got !== 'file' && !small) await writeFile(part, got, { mode: 0o644 });
    if (small && got !== 'file') {
      const { header, content } = small;
      if (this.repo.isArchive) {
        const tmp = join(this.repo.tmpDir, tmpName('pull'));
        await writeFile(tmp, got, { mode: 0o644 });
        await this.placeArchiveObject(tmp, checksum);
      } else {
        const stored = await this.repo.writeContent(header, { kind: 'buffer', data: content });
        if (stored !== checksum) throw new IntegrityError(`file object ${checksum}: stored as ${stored}`);
      }
      this.fetched++;
      this.progress();
      return;
    }
    try {
      if (this.repo.isArchive) {
        await verifyFilez(part, checksum);
        await this.placeArchiveObject(part, checksum);
      } else {
        // Inflate straight into the repository's writer, which hashes while writing and names the
        // object by what it hashed; a mismatch is then an error (the stray object is valid for its own name).
        const { header, size, payloadStart } = await readFilezHeader(part, checksum);
        const inflated = new PassThrough();
        let seen = 0n;
        const cap = new Transform({
          transform(c: Buffer, _e, cb) {
            seen += BigInt(c.length);
            cb(seen > size ? new Error(`content longer than the ${size} bytes announced`) : null, c);
          },
        });
        pipeline(createReadStream(part, { start: payloadStart, highWaterMark: 1 << 20 }), createInflateRaw({ finishFlush: zc.Z_SYNC_FLUSH }), cap, inflated)
          .catch((err: unknown) => inflated.destroy(new IntegrityError(`file object ${checksum}: corrupt compressed content: ${(err as Error).message}`)));
        const stored = await this.repo.writeContent(header, { kind: 'stream', stream: inflated, size: Number(size) });
        if (stored !== checksum) throw new IntegrityError(`file object ${checksum}: content hashes to ${stored}`, { checksum, got: stored });
      }
    } catch (err) {
      // A corrupt download must not be resumed from.
      await rm(part, { force: true });
      throw err;
    }
    await rm(part, { force: true });
    this.fetched++;
    this.progress();
  }

  /** Rename a verified `.filez` into place (archive destinations store it as received). */
  private async placeArchiveObject(tmp: string, checksum: string): Promise<void> {
    const dest = this.repo.objectPath(checksum, 'file');
    try {
      await rename(tmp, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(dest), { recursive: true });
      await rename(tmp, dest);
    }
  }

  walkTree(tree: string, meta: string): void {
    const key = `${tree}.${meta}`;
    if (this.inFlight.has(key)) return;
    this.inFlight.set(key, Promise.resolve());
    this.spawn(async () => {
      await this.ensureMeta('dirmeta', meta);
    });
    this.spawn(async () => {
      const data = await this.ensureMeta('dirtree', tree);
      const t = decodeDirTree(data, `dirtree ${tree}`);
      for (const f of t.files) {
        if (this.inFlight.has(f.checksum)) continue;
        this.inFlight.set(f.checksum, Promise.resolve());
        this.spawn(() => this.ensureFile(f.checksum));
      }
      for (const d of t.dirs) this.walkTree(d.tree, d.meta);
    });
  }
}

async function readLocalTimestamp(repo: OstreeRepo, checksum: string): Promise<bigint | null> {
  try {
    return (await repo.readCommit(checksum)).timestamp;
  } catch {
    return null;
  }
}

/** Pull `refs` (names, `REF@CHECKSUM`, or checksums) from `source` into `repo`. */
export async function pullFrom(repo: OstreeRepo, source: PullSource, refs: string[], options: PullOptions = {}): Promise<PullResult> {
  const p = new Puller(repo, source, options);
  const result: PullResult = { refs: new Map(), unchanged: [], objectsFetched: 0, objectsPresent: 0, deltasUsed: [], bytesTransferred: 0, requests: 0 };
  const lock = await repo.lock();
  try {
    await mkdir(join(repo.path, 'state'), { recursive: true });
    // 1. summary (optional unless its signature is required) and remote config.
    let summary: Summary | null = null;
    let summaryBytes: Buffer | null = null;
    let sigBytes: Buffer | null = null;
    const specs = refs.map(parseRefSpec);
    const needSummary = options.mirror || specs.some((s) => s.ref && !s.commit);
    const summaryChecked = Boolean(source.summaryPolicy.ed25519Keys?.length || source.summaryPolicy.gpgKeyrings?.length);
    if (needSummary || summaryChecked) {
      sigBytes = await p.fetcher.get('summary.sig', MAX_METADATA_SIZE);
      summaryBytes = await p.fetcher.get('summary', 64 * 1024 * 1024);
      if (summaryChecked) {
        if (!summaryBytes) throw new IntegrityError(`remote ${source.url}: summary signature verification is on but the remote has no summary`);
        await verifySignatures(summaryBytes, sigBytes, source.summaryPolicy, `summary of ${source.remote ?? source.url}`);
      }
      if (summaryBytes) summary = parseSummary(summaryBytes, `summary of ${source.remote ?? source.url}`);
    }
    const remoteConfigBytes = await p.fetcher.get('config', 1024 * 1024);
    let remoteIndexedDeltas = false;
    if (remoteConfigBytes) {
      const kf = KeyFile.parse(remoteConfigBytes.toString('utf8'), `${source.url}config`);
      const mode = kf.get('core', 'mode');
      if (mode && mode !== 'archive-z2' && mode !== 'archive') {
        throw new UsageError(`remote ${source.url}: repository mode is '${mode}'; only archive repositories can be pulled from`);
      }
      remoteIndexedDeltas = kf.getBool('core', 'indexed-deltas');
    }
    // 2. resolve refs.
    let wanted: Array<{ spec: string; ref: string | null; commit: string }> = [];
    if (options.mirror && refs.length === 0) {
      if (!summary) throw new NotFoundError(`remote ${source.url}: no summary, so refs to mirror must be named`);
      wanted = [...summary.refs].map(([ref, r]) => ({ spec: ref, ref, commit: r.checksum }));
    }
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i];
      if (s.commit) {
        wanted.push({ spec: refs[i], ref: s.ref, commit: s.commit });
        continue;
      }
      const ref = s.ref as string;
      let commit = summary?.refs.get(ref)?.checksum;
      if (!commit && !summary) {
        const txt = await p.fetcher.get(`refs/heads/${ref}`, 1024);
        const t = txt?.toString('utf8').trim();
        if (t && isChecksum(t)) commit = t;
      }
      if (!commit) throw new NotFoundError(`remote ${source.remote ?? source.url}: no such ref '${ref}'`, { ref });
      wanted.push({ spec: refs[i], ref, commit });
    }
    if (!wanted.length) throw new UsageError('nothing to pull: give at least one ref');
    const localRefName = (ref: string): string => (options.mirror || !source.remote ? ref : `${source.remote}:${ref}`);

    // 3. commits: fetch, verify, refuse downgrades, then walk (or apply a delta).
    const depth = options.depth ?? 0;
    for (const w of wanted) {
      const current = w.ref ? await repo.resolveRev(localRefName(w.ref), true) : null;
      let checksum: string | null = w.commit;
      const refuseDowngrade = async (commit: Commit): Promise<void> => {
        if (!current || current === w.commit || options.allowDowngrade) return;
        const curTs = await readLocalTimestamp(repo, current);
        if (curTs !== null && commit.timestamp < curTs) {
          throw new FedostreeError('EDOWNGRADE', `refusing to pull ${w.spec}: commit ${w.commit} (${new Date(Number(commit.timestamp) * 1000).toISOString()}) is older than ${current} (${new Date(Number(curTs) * 1000).toISOString()}) that ${localRefName(w.ref ?? '')} points at; use --allow-downgrade`, { commit: w.commit, current });
        }
      };
      for (let level = 0; checksum && (depth < 0 || level <= depth); level++) {
        const partial = commitPartialPath(repo, checksum);
        const complete = (await repo.hasObject(checksum, 'commit')) && !(await exists(partial));
        let commit: Commit;
        if (complete && !options.commitMetadataOnly) {
          commit = await repo.readCommit(checksum);
          if (level === 0) await refuseDowngrade(commit);
          if (level === 0 && w.ref && current === checksum) result.unchanged.push(w.spec);
        } else {
          const metaBytes = await p.fetchMetadata('commitmeta', checksum, true);
          const bytes = await p.fetchMetadata('commit', checksum, level > 0);
          if (!bytes) break; // history not on the server
          commit = decodeCommit(bytes, `commit ${checksum}`);
          if (metaBytes) decodeVardict(metaBytes, `commitmeta ${checksum}`);
          await verifySignatures(bytes, metaBytes, source.policy, `commit ${checksum}`);
          if (level === 0) await refuseDowngrade(commit);
          // Marked partial until its tree is here; a metadata-only pull leaves the mark so a later
          // full pull fetches the content (a commit already complete stays unmarked).
          if (!options.commitMetadataOnly || !complete) await writeFileAtomic(partial, '', { tmpDir: repo.tmpDir });
          if (metaBytes) await repo.writeCommitMeta(checksum, metaBytes);
          await repo.writeMetadata('commit', bytes, checksum);
          p.fetched++;
          if (!options.commitMetadataOnly) {
            let usedDelta = false;
            if (level === 0 && !repo.isArchive && !options.disableStaticDeltas) {
              usedDelta = await tryContext(`applying static delta for ${checksum}`, () => tryDelta(repo, p, summary, remoteIndexedDeltas, current, checksum as string, result));
            }
            if (!usedDelta && options.requireStaticDeltas && level === 0) throw new NotFoundError(`remote ${source.url}: no static delta to ${checksum} (and --require-static-deltas)`);
            p.walkTree(commit.rootTree, commit.rootMeta);
            await p.drain();
            await repo.flush();
            await unlink(partial).catch(() => undefined);
          }
        }
        checksum = commit.parent;
      }
      if (w.ref) result.refs.set(w.ref, w.commit);
      else result.refs.set(w.spec, w.commit);
    }
    // 4. refs (atomic each), summary copy for mirrors.
    for (const w of wanted) if (w.ref) await repo.setRef(localRefName(w.ref), w.commit);
    if (options.mirror && summaryBytes) {
      await writeFileAtomic(join(repo.path, 'summary'), summaryBytes, { tmpDir: repo.tmpDir });
      if (sigBytes) await writeFileAtomic(join(repo.path, 'summary.sig'), sigBytes, { tmpDir: repo.tmpDir });
      else await rm(join(repo.path, 'summary.sig'), { force: true });
    } else if (source.remote && summaryBytes) {
      const dir = join(repo.path, 'tmp/cache/summaries');
      await writeFileAtomic(join(dir, source.remote), summaryBytes, { tmpDir: repo.tmpDir });
      if (sigBytes) await writeFileAtomic(join(dir, `${source.remote}.sig`), sigBytes, { tmpDir: repo.tmpDir });
    }
  } finally {
    p.fetcher.close();
    await lock.release();
  }
  result.objectsFetched = p.fetched;
  result.objectsPresent = p.present;
  result.bytesTransferred = p.fetcher.bytes;
  result.requests = p.fetcher.requests;
  return result;
}

/** Find and apply a static delta to `to` (FROM = the current ref if complete locally, else scratch). */
async function tryDelta(repo: OstreeRepo, p: Puller, summary: Summary | null, indexed: boolean, current: string | null, to: string, result: PullResult): Promise<boolean> {
  let listed: Map<string, string> | null = null;
  if (indexed) {
    const idx = await p.fetcher.get(deltaIndexRelPath(to), MAX_METADATA_SIZE);
    if (idx) listed = parseDeltaIndex(idx, `delta index for ${to}`);
  }
  listed ??= summary?.deltas ?? new Map<string, string>();
  let from: string | null = null;
  let sha: string | undefined;
  if (current && current !== to && listed.has(`${current}-${to}`) && (await repo.hasObject(current, 'commit')) && !(await exists(commitPartialPath(repo, current)))) {
    from = current;
    sha = listed.get(`${current}-${to}`);
  } else sha = listed.get(to);
  if (!sha) return false;
  await applyStaticDeltaFromFetcher(repo, p.fetcher, from, to, sha, p.limiter);
  result.deltasUsed.push(from ? `${from}-${to}` : to);
  return true;
}

/** Pull from a configured remote (its URL and verification settings). */
export async function pull(repo: OstreeRepo, remoteName: string, refs: string[], options: PullOptions = {}): Promise<PullResult> {
  const remote = await getRemote(repo, remoteName);
  let list = refs;
  if (!list.length && !options.mirror) list = remote.branches;
  if (!list.length && !options.mirror) throw new UsageError(`nothing to pull from '${remoteName}': give a ref (the remote has no default branches)`);
  return pullFrom(repo, {
    url: remote.url, remote: remoteName,
    policy: await remotePolicy(repo, remote), summaryPolicy: await remotePolicy(repo, remote, true),
  }, list, options);
}

/** Pull refs from another local repository (archive or not) without HTTP: like `pull-local`. */
export async function pullLocal(repo: OstreeRepo, srcPath: string, refs: string[], options: PullOptions & { remote?: string; policy?: VerifyPolicy } = {}): Promise<PullResult> {
  const src = await OstreeRepo.open(srcPath);
  if (!src.isArchive) return copyFromRepo(repo, src, refs, options);
  return pullFrom(repo, { url: src.path, remote: options.remote ?? null, policy: options.policy ?? {}, summaryPolicy: {} }, refs, options);
}

/** Copy commits from a non-archive local repository (objects re-hashed on write). */
async function copyFromRepo(repo: OstreeRepo, src: OstreeRepo, refs: string[], options: PullOptions & { remote?: string }): Promise<PullResult> {
  const result: PullResult = { refs: new Map(), unchanged: [], objectsFetched: 0, objectsPresent: 0, deltasUsed: [], bytesTransferred: 0, requests: 0 };
  const limiter = new Limiter(Math.max(1, options.concurrency ?? 8));
  const seen = new Set<string>();
  const lock = await repo.lock();
  try {
    const copyMeta = async (type: ObjectType, c: string): Promise<Buffer> => {
      if (await repo.hasObject(c, type)) {
        result.objectsPresent++;
        return repo.loadMetadata(type, c);
      }
      const b = await src.loadMetadata(type, c);
      await repo.writeMetadata(type, b, c);
      result.objectsFetched++;
      return b;
    };
    const walk = async (tree: string, meta: string): Promise<void> => {
      if (seen.has(tree + meta)) return;
      seen.add(tree + meta);
      await copyMeta('dirmeta', meta);
      const t = decodeDirTree(await copyMeta('dirtree', tree), `dirtree ${tree}`);
      await Promise.all(t.files.map((f) => limiter.run(async () => {
        if (seen.has(f.checksum)) return;
        seen.add(f.checksum);
        if (await repo.hasObject(f.checksum, 'file')) {
          result.objectsPresent++;
          return;
        }
        const sf = await src.loadFile(f.checksum);
        const got = await repo.writeContent(sf.header, { kind: 'stream', stream: sf.open(), size: sf.size });
        if (got !== f.checksum) throw new IntegrityError(`${src.path}: file object ${f.checksum} hashes to ${got}`);
        result.objectsFetched++;
      })));
      for (const d of t.dirs) await walk(d.tree, d.meta);
    };
    for (const spec of refs) {
      const s = parseRefSpec(spec);
      const commit = s.commit ?? (await src.resolveRev(s.ref ?? ''));
      if (!commit) throw new NotFoundError(`${src.path}: ref '${spec}' not found`);
      const name = s.ref?.includes(':') ? s.ref.slice(s.ref.indexOf(':') + 1) : s.ref;
      const local = name ? (options.remote ? `${options.remote}:${name}` : name) : null;
      const current = local ? await repo.resolveRev(local, true) : null;
      const bytes = await src.loadMetadata('commit', commit);
      const c = decodeCommit(bytes, `commit ${commit}`);
      if (current && current !== commit && !options.allowDowngrade) {
        const ts = await readLocalTimestamp(repo, current);
        if (ts !== null && c.timestamp < ts) throw new FedostreeError('EDOWNGRADE', `refusing to pull ${spec}: commit ${commit} is older than ${current} that ${local} points at; use --allow-downgrade`);
      }
      const partial = commitPartialPath(repo, commit);
      await writeFileAtomic(partial, '', { tmpDir: repo.tmpDir });
      const meta = await src.readCommitMeta(commit);
      if (meta) await repo.writeCommitMeta(commit, meta);
      await repo.writeMetadata('commit', bytes, commit);
      await walk(c.rootTree, c.rootMeta);
      await repo.flush();
      await unlink(partial).catch(() => undefined);
      if (local) await repo.setRef(local, commit);
      result.refs.set(name ?? spec, commit);
    }
  } finally {
    await lock.release();
  }
  return result;
}

