import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { FormatError } from '../../util/errors.ts';
import { decodeEntities } from './xml.ts';
import { checksumType, safeLocation, type Checksum } from './repomd.ts';

/** The fields of a primary.xml `<package>` needed to list and download it. */
export interface PrimaryPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  /** name-[epoch:]version-release.arch, epoch only when non-zero. */
  nevra: string;
  location: string;
  checksum: Checksum;
  size?: number;
  summary: string;
}

/** Format a NEVRA the way the CLI prints it: `name-[epoch:]version-release.arch`. */
export function formatNevra(p: { name: string; epoch: number; version: string; release: string; arch: string }): string {
  return `${p.name}-${p.epoch ? `${p.epoch}:` : ''}${p.version}-${p.release}.${p.arch}`;
}

/** Open a metadata file, decompressing by suffix (.gz, .zst, .xz, .bz2 or plain). */
export function openDecompressed(path: string): Readable {
  const src = createReadStream(path);
  if (path.endsWith('.gz')) return src.pipe(createGunzip());
  if (path.endsWith('.zst')) return src.pipe(createZstdDecompress());
  if (path.endsWith('.xz') || path.endsWith('.bz2')) {
    src.destroy();
    const child = spawn(path.endsWith('.xz') ? 'xz' : 'bzip2', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'ignore'] });
    return child.stdout;
  }
  return src;
}

const MAX_PACKAGE_XML = 64 << 20;

const RE = {
  name: /<name>([^<]*)<\/name>/,
  arch: /<arch>([^<]*)<\/arch>/,
  summary: /<summary>([^<]*)<\/summary>/,
  version: /<version\s[^>]*>/,
  location: /<location\s[^>]*>/,
  size: /<size\s[^>]*>/,
  checksum: /<checksum\s[^>]*type="([^"]*)"[^>]*>([^<]*)<\/checksum>/,
  epoch: /\sepoch="([^"]*)"/,
  ver: /\sver="([^"]*)"/,
  rel: /\srel="([^"]*)"/,
  href: /\shref="([^"]*)"/,
  packageSize: /\spackage="([^"]*)"/,
} as const;

function parsePackage(xml: string, what: string): PrimaryPackage | undefined {
  if (!/^<package[^>]*type="rpm"/.test(xml)) return undefined;
  const name = RE.name.exec(xml)?.[1];
  const arch = RE.arch.exec(xml)?.[1];
  const ver = RE.version.exec(xml)?.[0];
  const loc = RE.location.exec(xml)?.[0];
  const ck = RE.checksum.exec(xml);
  if (!name || !arch || !ver || !loc || !ck) throw new FormatError(`${what}: package entry without name, arch, version, location or checksum`);
  const w = `${what}: package ${name}`;
  const epochS = RE.epoch.exec(ver)?.[1] ?? '0';
  if (!/^\d*$/.test(epochS)) throw new FormatError(`${w}: bad epoch '${epochS}'`);
  const sizeTag = RE.size.exec(xml)?.[0];
  const sizeS = sizeTag && RE.packageSize.exec(sizeTag)?.[1];
  const p = {
    name: decodeEntities(name, w),
    epoch: Number(epochS || '0'),
    version: decodeEntities(RE.ver.exec(ver)?.[1] ?? '', w),
    release: decodeEntities(RE.rel.exec(ver)?.[1] ?? '', w),
    arch: decodeEntities(arch, w),
    location: safeLocation(decodeEntities(RE.href.exec(loc)?.[1] ?? '', w), w),
    checksum: { type: checksumType(ck[1], w), value: ck[2].trim().toLowerCase() },
    size: sizeS && /^\d+$/.test(sizeS) ? Number(sizeS) : undefined,
    summary: decodeEntities(RE.summary.exec(xml)?.[1] ?? '', w),
  };
  return { ...p, nevra: formatNevra(p) };
}

/**
 * Stream the packages of a primary.xml[.gz|.zst|.xz] file without holding the document in memory.
 * Only the listing and download fields are extracted; dependency data is left to the solver.
 */
export function scanPrimary(path: string, what: string): AsyncGenerator<PrimaryPackage> {
  return scanPackages(path, what, parsePackage);
}

/** One `<rpm:entry>` of a dependency list. */
export interface DepEntry {
  name: string;
  /** LT, LE, EQ, GE, GT; absent when unversioned. */
  flags?: string;
  epoch?: string;
  ver?: string;
  rel?: string;
}

/** A package that obsoletes others. */
export interface ObsoletingPackage {
  name: string;
  nevra: string;
  obsoletes: DepEntry[];
}

const OBSOLETES_RE = /<rpm:obsoletes>([\s\S]*?)<\/rpm:obsoletes>/;
const ENTRY_RE = /<rpm:entry\s([^>]*)\/?>/g;
const ATTR_RE = /(\w+)="([^"]*)"/g;

function parseObsoleting(xml: string, what: string): ObsoletingPackage | undefined {
  const block = OBSOLETES_RE.exec(xml);
  if (!block) return undefined;
  const p = parsePackage(xml, what);
  if (!p) return undefined;
  const obsoletes: DepEntry[] = [];
  for (const m of block[1].matchAll(ENTRY_RE)) {
    const a: Record<string, string> = {};
    for (const am of m[1].matchAll(ATTR_RE)) a[am[1]] = decodeEntities(am[2], what);
    if (!a.name) continue;
    obsoletes.push({ name: a.name, flags: a.flags, epoch: a.epoch, ver: a.ver, rel: a.rel });
  }
  return { name: p.name, nevra: p.nevra, obsoletes };
}

/** Stream the packages of a primary file that carry Obsoletes, with those entries. */
export function scanObsoletes(path: string, what: string): AsyncGenerator<ObsoletingPackage> {
  return scanPackages(path, what, parseObsoleting);
}

async function* scanPackages<T>(path: string, what: string, parse: (xml: string, what: string) => T | undefined): AsyncGenerator<T> {
  const stream = openDecompressed(path);
  let buf = '';
  try {
    const decoder = new TextDecoder('utf-8');
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buf += decoder.decode(chunk, { stream: true });
      let pos = 0;
      for (;;) {
        const start = buf.indexOf('<package ', pos);
        if (start < 0) {
          pos = Math.max(pos, buf.length - 16);
          break;
        }
        const end = buf.indexOf('</package>', start);
        if (end < 0) {
          pos = start;
          if (buf.length - start > MAX_PACKAGE_XML) throw new FormatError(`${what}: a package entry exceeds ${MAX_PACKAGE_XML} bytes`);
          break;
        }
        const pkg = parse(buf.slice(start, end), what);
        pos = end + 10;
        if (pkg) yield pkg;
      }
      buf = buf.slice(pos);
    }
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(`${what}: cannot read: ${(err as Error).message}`);
  } finally {
    stream.destroy();
  }
}

/** Read the `packages="N"` count from the start of a primary file. */
export async function primaryPackageCount(path: string, what: string): Promise<number> {
  const stream = openDecompressed(path);
  let head = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      head += chunk.toString('utf8');
      const m = /<metadata\s[^>]*packages="(\d+)"/.exec(head);
      if (m) return Number(m[1]);
      if (head.length > 65536) break;
    }
  } finally {
    stream.destroy();
  }
  throw new FormatError(`${what}: no <metadata packages="…"> header`);
}
