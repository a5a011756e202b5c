/**
 * The repository summary (`summary`, type `(a(s(taya{sv}))a{sv})`), delta naming and the
 * delta index files (`delta-indexes/`). Generation reads the repository; parsing is pure.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { serialize, parse, Variant, type GVariantValue } from '../gvariant/index.ts';
import { FormatError, UsageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { decodeCommit, isChecksum, metaGet } from './objects.ts';
import type { OstreeRepo } from './repo.ts';

export const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';
/** Largest summary we accept from a remote. */
export const MAX_SUMMARY_SIZE = 64 * 1024 * 1024;

export interface SummaryRef {
  checksum: string;
  /** Byte size of the commit object. */
  commitSize: bigint;
  /** Per-ref metadata (`ostree.commit.timestamp` is stored big-endian; see `timestamp`). */
  metadata: Array<[string, Variant]>;
  /** Commit timestamp (seconds) if present. */
  timestamp?: bigint;
  version?: string;
}

export interface Summary {
  refs: Map<string, SummaryRef>;
  metadata: Array<[string, Variant]>;
  /** Static deltas listed in the summary: name (`TO` or `FROM-TO`, hex) → superblock sha256 (hex). */
  deltas: Map<string, string>;
  lastModified?: bigint;
  expires?: bigint;
  mode?: string;
  indexedDeltas: boolean;
}

function be64(n: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b.readBigUInt64LE();
}

/** Modified base64 of a hex checksum: `/` → `_`, no padding (43 characters). */
export function checksumToB64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64').replace(/=+$/, '').replace(/\//g, '_');
}

/** Inverse of `checksumToB64`. */
export function checksumFromB64(b64: string): string {
  if (!/^[A-Za-z0-9+_]{43}$/.test(b64)) throw new FormatError(`invalid modified-base64 checksum '${b64}'`);
  return Buffer.from(b64.replace(/_/g, '/') + '=', 'base64').toString('hex');
}

/** Relative directory of a static delta: `deltas/XX/REST` (scratch) or `deltas/XX/REST-TO`. */
export function deltaRelDir(from: string | null, to: string): string {
  if (from) {
    const f = checksumToB64(from);
    return `deltas/${f.slice(0, 2)}/${f.slice(2)}-${checksumToB64(to)}`;
  }
  const t = checksumToB64(to);
  return `deltas/${t.slice(0, 2)}/${t.slice(2)}`;
}

/** Relative path of the delta index listing the deltas that end at `to`. */
export function deltaIndexRelPath(to: string): string {
  const t = checksumToB64(to);
  return `delta-indexes/${t.slice(0, 2)}/${t.slice(2)}.index`;
}

/** Parse a delta name (`TO` or `FROM-TO`, hex). */
export function parseDeltaName(name: string): { from: string | null; to: string } {
  const parts = name.split('-');
  if (parts.length === 1 && isChecksum(parts[0])) return { from: null, to: parts[0] };
  if (parts.length === 2 && isChecksum(parts[0]) && isChecksum(parts[1])) return { from: parts[0], to: parts[1] };
  throw new UsageError(`invalid static delta name '${name}' (expected TO or FROM-TO checksums)`);
}

/** Every static delta in the repository: name → { from, to, sha256 of its superblock }. */
export async function listStaticDeltas(repo: OstreeRepo): Promise<Map<string, { from: string | null; to: string; superblockSha256: string }>> {
  const out = new Map<string, { from: string | null; to: string; superblockSha256: string }>();
  const base = join(repo.path, 'deltas');
  let prefixes: string[];
  try {
    prefixes = (await readdir(base)).sort();
  } catch {
    return out;
  }
  for (const p of prefixes) {
    if (p.length !== 2) continue;
    let rests: string[];
    try {
      rests = (await readdir(join(base, p))).sort();
    } catch {
      continue;
    }
    for (const rest of rests) {
      let from: string | null = null;
      let to: string;
      try {
        const dash = rest.indexOf('-');
        if (dash >= 0) {
          from = checksumFromB64(p + rest.slice(0, dash));
          to = checksumFromB64(rest.slice(dash + 1));
        } else to = checksumFromB64(p + rest);
      } catch {
        continue;
      }
      let sb: Buffer;
      try {
        sb = await readFile(join(base, p, rest, 'superblock'));
      } catch {
        continue;
      }
      out.set(from ? `${from}-${to}` : to, { from, to, superblockSha256: createHash('sha256').update(sb).digest('hex') });
    }
  }
  return out;
}

/** Delta dictionary order: FROM-TO entries first, then scratch ones, each by name (matches the real tool's output for small sets). */
function deltaEntries(deltas: Map<string, { superblockSha256: string }>): Array<[string, Variant]> {
  return [...deltas].sort((a, b) => {
    const ad = a[0].includes('-') ? 0 : 1;
    const bd = b[0].includes('-') ? 0 : 1;
    return ad - bd || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  }).map(([name, d]) => [name, new Variant('ay', Buffer.from(d.superblockSha256, 'hex'))]);
}

export interface SummaryOptions {
  /** Wall clock for `ostree.summary.last-modified` (seconds); default now (or SOURCE_DATE_EPOCH). */
  now?: bigint;
  /** `ostree.summary.expires` (seconds since the epoch). */
  expires?: bigint;
  /** Extra `a{sv}` metadata entries (`--add-metadata`). */
  extraMetadata?: Array<[string, Variant]>;
}

/** Build the summary bytes for the repository's current refs and deltas (no write). */
export async function generateSummary(repo: OstreeRepo, options: SummaryOptions = {}): Promise<Buffer> {
  const refs = await repo.listRefs();
  const names = [...refs.keys()].filter((r) => !r.includes(':')).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const refEntries: GVariantValue[] = [];
  for (const name of names) {
    const checksum = refs.get(name) as string;
    const bytes = await repo.loadMetadata('commit', checksum);
    const commit = decodeCommit(bytes, `commit ${checksum} (ref ${name})`);
    const meta: Array<[string, Variant]> = [['ostree.commit.timestamp', new Variant('t', be64(commit.timestamp))]];
    const v = metaGet(commit.metadata, 'version');
    if (v && v.type === 's') meta.push(['ostree.commit.version', new Variant('s', parse('s', v.data))]);
    refEntries.push([name, [BigInt(bytes.length), Buffer.from(checksum, 'hex'), meta]]);
  }
  const now = options.now ?? (process.env.SOURCE_DATE_EPOCH && /^\d+$/.test(process.env.SOURCE_DATE_EPOCH)
    ? BigInt(process.env.SOURCE_DATE_EPOCH) : BigInt(Math.floor(Date.now() / 1000)));
  const md: Array<[string, Variant]> = [
    ['ostree.summary.mode', new Variant('s', repo.isArchive ? 'archive-z2' : repo.mode)],
    ['ostree.summary.last-modified', new Variant('t', be64(now))],
  ];
  if (options.expires !== undefined) md.push(['ostree.summary.expires', new Variant('t', be64(options.expires))]);
  md.push(['ostree.summary.tombstone-commits', new Variant('b', repo.config.getBool('core', 'tombstone-commits'))]);
  const collectionId = repo.config.get('core', 'collection-id');
  if (collectionId) md.push(['ostree.summary.collection-id', new Variant('s', collectionId)]);
  if (!repo.config.getBool('core', 'no-deltas-in-summary')) {
    const deltas = await listStaticDeltas(repo);
    if (deltas.size) md.push(['ostree.static-deltas', new Variant('a{sv}', deltaEntries(deltas))]);
  }
  md.push(['ostree.summary.indexed-deltas', new Variant('b', true)]);
  for (const e of options.extraMetadata ?? []) md.push(e);
  return serialize(SUMMARY_TYPE, [refEntries, md]);
}

/** Rewrite `delta-indexes/` from the deltas present (one index per TO commit). */
export async function updateDeltaIndexes(repo: OstreeRepo): Promise<void> {
  const deltas = await listStaticDeltas(repo);
  const byTo = new Map<string, Map<string, { superblockSha256: string }>>();
  for (const [name, d] of deltas) {
    let m = byTo.get(d.to);
    if (!m) byTo.set(d.to, (m = new Map<string, { superblockSha256: string }>()));
    m.set(name, d);
  }
  const keep = new Set<string>();
  for (const [to, m] of byTo) {
    const rel = deltaIndexRelPath(to);
    keep.add(rel);
    const data = serialize('a{sv}', [['ostree.static-deltas', new Variant('a{sv}', deltaEntries(m))]]);
    await writeFileAtomic(join(repo.path, rel), data, { tmpDir: repo.tmpDir });
  }
  // Remove indexes of deltas that no longer exist.
  const base = join(repo.path, 'delta-indexes');
  for (const p of await readdir(base).catch(() => [] as string[])) {
    for (const f of await readdir(join(base, p)).catch(() => [] as string[])) {
      if (f.endsWith('.index') && !keep.has(`delta-indexes/${p}/${f}`)) await rm(join(base, p, f), { force: true });
    }
  }
}

/**
 * Regenerate `summary` (like `ostree summary -u`): writes delta indexes, sets `indexed-deltas=true`
 * in the config, replaces the summary atomically and drops a stale `summary.sig`.
 */
export async function updateSummary(repo: OstreeRepo, options: SummaryOptions = {}): Promise<Buffer> {
  await updateDeltaIndexes(repo);
  if (repo.config.get('core', 'indexed-deltas') !== 'true') {
    repo.config.set('core', 'indexed-deltas', 'true');
    await writeFileAtomic(join(repo.path, 'config'), repo.config.toString(), { tmpDir: repo.tmpDir });
  }
  const data = await generateSummary(repo, options);
  await rm(join(repo.path, 'summary.sig'), { force: true });
  await writeFileAtomic(join(repo.path, 'summary'), data, { tmpDir: repo.tmpDir });
  return data;
}

function lookup(md: Array<[string, Variant]>, key: string, type: string): GVariantValue | undefined {
  const e = md.find(([k]) => k === key);
  return e && e[1].type === type ? e[1].value : undefined;
}

function leToBe(v: GVariantValue | undefined): bigint | undefined {
  return typeof v === 'bigint' ? be64(v) : undefined;
}

/** Parse summary bytes (untrusted): refs, metadata, listed deltas. `what` names the source in errors. */
export function parseSummary(data: Uint8Array, what = 'summary'): Summary {
  if (data.length > MAX_SUMMARY_SIZE) throw new FormatError(`${what}: ${data.length} bytes is larger than the ${MAX_SUMMARY_SIZE} byte limit`);
  let value: GVariantValue;
  try {
    value = parse(SUMMARY_TYPE, data);
  } catch (err) {
    throw new FormatError(`${what}: not a valid summary: ${(err as Error).message}`);
  }
  const [refList, mdRaw] = value as [Array<[string, [bigint, Uint8Array, Array<[string, Variant]>]]>, Array<[string, Variant]>];
  const refs = new Map<string, SummaryRef>();
  for (const [name, [size, csum, meta]] of refList) {
    if (csum.length !== 32) throw new FormatError(`${what}: ref ${name}: checksum has ${csum.length} bytes, expected 32`);
    const ver = lookup(meta, 'ostree.commit.version', 's');
    refs.set(name, {
      checksum: Buffer.from(csum).toString('hex'), commitSize: size, metadata: meta,
      timestamp: leToBe(lookup(meta, 'ostree.commit.timestamp', 't')),
      version: typeof ver === 'string' ? ver : undefined,
    });
  }
  const deltas = new Map<string, string>();
  const sd = lookup(mdRaw, 'ostree.static-deltas', 'a{sv}') as Array<[string, Variant]> | undefined;
  for (const [name, v] of sd ?? []) {
    if (v.type === 'ay' && (v.value as Uint8Array).length === 32) deltas.set(name, Buffer.from(v.value as Uint8Array).toString('hex'));
  }
  const mode = lookup(mdRaw, 'ostree.summary.mode', 's');
  return {
    refs, metadata: mdRaw, deltas,
    lastModified: leToBe(lookup(mdRaw, 'ostree.summary.last-modified', 't')),
    expires: leToBe(lookup(mdRaw, 'ostree.summary.expires', 't')),
    mode: typeof mode === 'string' ? mode : undefined,
    indexedDeltas: lookup(mdRaw, 'ostree.summary.indexed-deltas', 'b') === true,
  };
}

/** Parse a delta index file (`a{sv}` with `ostree.static-deltas`): name → superblock sha256 (hex). */
export function parseDeltaIndex(data: Uint8Array, what = 'delta index'): Map<string, string> {
  let value: GVariantValue;
  try {
    value = parse('a{sv}', data);
  } catch (err) {
    throw new FormatError(`${what}: ${(err as Error).message}`);
  }
  const out = new Map<string, string>();
  const sd = lookup(value as Array<[string, Variant]>, 'ostree.static-deltas', 'a{sv}') as Array<[string, Variant]> | undefined;
  for (const [name, v] of sd ?? []) {
    if (v.type === 'ay' && (v.value as Uint8Array).length === 32) out.set(name, Buffer.from(v.value as Uint8Array).toString('hex'));
  }
  return out;
}
