import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { writeFileAtomic } from '../../util/atomic.ts';
import { mapLimit } from '../../util/concurrency.ts';
import { FedostreeError, FormatError, IntegrityError } from '../../util/errors.ts';
import type { ProgressListener } from '../../util/progress.ts';
import { parseComps, type Comps } from './comps.ts';
import { Fetcher, FetchError } from './fetch.ts';
import { parseMetalink, parseRepomd, type Repomd, type RepomdRecord } from './repomd.ts';
import { parseMirrorlist, type RepoConfig } from './repofile.ts';

/** A repository whose metadata is present and verified in the cache. */
export interface LoadedRepo {
  config: RepoConfig;
  /** The base URL (ending in '/') that served this metadata; later downloads try it first. */
  baseurl: string;
  /** All base URLs to try for package downloads, in order. */
  baseurls: string[];
  repomd: Repomd;
  /** sha256 of repomd.xml: the cache key. */
  repomdSha256: string;
  /** Cache directory of this repomd revision. */
  dir: string;
  /** Local paths of the metadata files (still compressed as served). */
  primary: string;
  filelists?: string;
  /** Path of the uncompressed comps XML, when the repository has group metadata. */
  compsPath?: string;
}

export interface LoadOptions {
  cachedir: string;
  fetcher?: Fetcher;
  /** Also fetch filelists (needed for dependencies on files outside the primary subset). Default true. */
  filelists?: boolean;
  onProgress?: ProgressListener;
}

const GROUP_TYPES = ['group', 'group_gz', 'group_zst'] as const;
const MAX_COMPS_BYTES = 256 << 20;

function ensureSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}

async function fileMatches(path: string, rec: RepomdRecord): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  if (rec.size !== undefined && st.size !== rec.size) return false;
  return true;
}

/** Cache directory name for a repo id (ids are restricted to safe characters by the parser). */
function repoCacheDir(cachedir: string, id: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(id) || id === '.' || id === '..') throw new FormatError(`bad repository id '${id}'`);
  return join(cachedir, id);
}

/** Resolve the candidate base URLs of a repository: baseurl, else mirrorlist, else metalink. */
async function candidateBaseurls(cfg: RepoConfig, fetcher: Fetcher): Promise<{ urls: string[]; metalinkHashes?: Array<{ type: string; value: string }> }> {
  if (cfg.baseurls.length) return { urls: cfg.baseurls.map(ensureSlash) };
  if (cfg.mirrorlist) {
    const { text } = await fetcher.fetchText(cfg.mirrorlist, `repo ${cfg.id}: mirrorlist`, 4 << 20);
    return { urls: parseMirrorlist(text, `repo ${cfg.id}: mirrorlist ${cfg.mirrorlist}`).map(ensureSlash) };
  }
  const { text } = await fetcher.fetchText(cfg.metalink!, `repo ${cfg.id}: metalink`, 4 << 20);
  const ml = parseMetalink(text, `repo ${cfg.id}: metalink ${cfg.metalink}`);
  return { urls: ml.baseurls.map(ensureSlash), metalinkHashes: ml.hashes };
}

/**
 * Fetch repomd.xml (always; it is small and decides freshness), then make sure every metadata
 * file it names is in the cache directory keyed by repomd.xml's sha256, downloading and verifying
 * what is missing. A changed repomd.xml therefore never reuses older metadata.
 */
export async function loadRepo(cfg: RepoConfig, opts: LoadOptions): Promise<LoadedRepo> {
  const fetcher = opts.fetcher ?? new Fetcher();
  try {
    return await loadRepoWith(cfg, opts, fetcher);
  } finally {
    if (!opts.fetcher) await fetcher.close();
  }
}

async function loadRepoWith(cfg: RepoConfig, opts: LoadOptions, fetcher: Fetcher): Promise<LoadedRepo> {
  const what = `repo ${cfg.id}`;
  const { urls, metalinkHashes } = await candidateBaseurls(cfg, fetcher);
  let lastErr: unknown;
  for (const base of urls) {
    try {
      return await loadFromBase(cfg, base, urls, opts, fetcher, metalinkHashes);
    } catch (err) {
      // Integrity and format problems are not retried on another mirror only if there is none.
      if (!(err instanceof FedostreeError)) throw err;
      lastErr = err;
    }
  }
  if (lastErr instanceof FedostreeError && urls.length > 1 && lastErr instanceof FetchError) {
    lastErr.message = `${what}: no mirror worked (${urls.length} tried); last: ${lastErr.message}`;
  }
  throw lastErr;
}

async function loadFromBase(
  cfg: RepoConfig,
  base: string,
  urls: string[],
  opts: LoadOptions,
  fetcher: Fetcher,
  metalinkHashes?: Array<{ type: string; value: string }>,
): Promise<LoadedRepo> {
  const what = `repo ${cfg.id}`;
  const { text, sha256 } = await fetcher.fetchText(`${base}repodata/repomd.xml`, `${what}: repodata/repomd.xml`);
  if (metalinkHashes?.length) {
    const ok = metalinkHashes.some((h) => h.value === createHash(h.type).update(text).digest('hex'));
    if (!ok) throw new IntegrityError(`${what}: repodata/repomd.xml from ${base} matches none of the metalink's checksums (stale mirror?)`);
  }
  const repomd = parseRepomd(text, `${what}: repodata/repomd.xml`);
  const primaryRec = repomd.records.get('primary');
  if (!primaryRec) throw new FormatError(`${what}: repodata/repomd.xml has no primary metadata`);
  const want: RepomdRecord[] = [primaryRec];
  const filelistsRec = repomd.records.get('filelists');
  if (filelistsRec && opts.filelists !== false) want.push(filelistsRec);
  const groupRec = GROUP_TYPES.map((t) => repomd.records.get(t)).find((r) => r !== undefined);
  if (groupRec) want.push(groupRec);

  const rdir = repoCacheDir(opts.cachedir, cfg.id);
  const dir = join(rdir, sha256.slice(0, 32));
  await mkdir(dir, { recursive: true });
  const local = (rec: RepomdRecord): string => join(dir, rec.location.split('/').pop()!);
  let bytesDone = 0;
  const total = want.reduce((s, r) => s + (r.size ?? 0), 0);
  await mapLimit(want, 3, async (rec) => {
    const path = local(rec);
    if (await fileMatches(path, rec)) return;
    await fetcher.fetchToFile(base + rec.location, path, {
      what: `${what}: ${rec.location}`,
      expected: { checksum: rec.checksum, size: rec.size },
      onBytes: (n) => {
        bytesDone += n;
        opts.onProgress?.({ stage: 'metadata', done: bytesDone, total: total || undefined, unit: 'bytes', message: cfg.id });
      },
    });
  });
  let compsPath: string | undefined;
  if (groupRec) {
    compsPath = join(dir, 'comps.xml');
    if (!(await stat(compsPath).catch(() => undefined))) {
      const data = await decompressSmall(local(groupRec), groupRec.type, `${what}: ${groupRec.location}`);
      await writeFileAtomic(compsPath, data);
    }
  }
  await writeFileAtomic(join(rdir, 'repomd.xml'), text, { noSync: true });
  await pruneOld(rdir, sha256.slice(0, 32));
  return {
    config: cfg,
    baseurl: base,
    baseurls: [base, ...urls.filter((u) => u !== base)],
    repomd,
    repomdSha256: sha256,
    dir,
    primary: local(primaryRec),
    filelists: filelistsRec && opts.filelists !== false ? local(filelistsRec) : undefined,
    compsPath,
  };
}

/** Remove cache directories of older repomd revisions (best effort). */
async function pruneOld(rdir: string, keep: string): Promise<void> {
  const entries = await readdir(rdir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isDirectory() && /^[0-9a-f]{32}$/.test(e.name) && e.name !== keep) await rm(join(rdir, e.name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function decompressSmall(path: string, type: string, what: string): Promise<Buffer> {
  const src = createReadStream(path);
  const stream = type.endsWith('_gz') ? src.pipe(createGunzip()) : type.endsWith('_zst') ? src.pipe(createZstdDecompress()) : src;
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_COMPS_BYTES) throw new FormatError(`${what}: decompresses to more than ${MAX_COMPS_BYTES} bytes`);
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof FedostreeError) throw err;
    throw new FormatError(`${what}: cannot decompress: ${(err as Error).message}`);
  } finally {
    src.destroy();
  }
  return Buffer.concat(chunks);
}

/** Read and parse the comps groups of a loaded repository (empty when it has none). */
export async function readComps(repo: LoadedRepo): Promise<Comps> {
  if (!repo.compsPath) return { groups: [], environments: [] };
  const text = await readFile(repo.compsPath, 'utf8');
  return parseComps(text, `repo ${repo.config.id}: comps`);
}
