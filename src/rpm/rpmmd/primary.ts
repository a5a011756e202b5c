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

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? m[1] : undefined;
}

function parsePackage(xml: string, what: string): PrimaryPackage | undefined {
  if (!/^<package[^>]*type="rpm"/.test(xml)) return undefined;
  const text = (tag: string): string | undefined => {
    const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`).exec(xml);
    return m ? decodeEntities(m[1], what) : undefined;
  };
  const tag = (name: string): string | undefined => new RegExp(`<${name}\\s[^>]*>`).exec(xml)?.[0];
  const name = text('name');
  const arch = text('arch');
  const ver = tag('version');
  const loc = tag('location');
  const ck = /<checksum\s[^>]*type="([^"]*)"[^>]*>([^<]*)<\/checksum>/.exec(xml);
  if (!name || !arch || !ver || !loc || !ck) throw new FormatError(`${what}: package entry without name, arch, version, location or checksum`);
  const w = `${what}: package ${name}`;
  const epochS = attr(ver, 'epoch') ?? '0';
  if (!/^\d*$/.test(epochS)) throw new FormatError(`${w}: bad epoch '${epochS}'`);
  const sizeTag = tag('size');
  const sizeS = sizeTag && attr(sizeTag, 'package');
  const p = {
    name,
    epoch: Number(epochS || '0'),
    version: decodeEntities(attr(ver, 'ver') ?? '', w),
    release: decodeEntities(attr(ver, 'rel') ?? '', w),
    arch,
    location: safeLocation(decodeEntities(attr(loc, 'href') ?? '', w), w),
    checksum: { type: checksumType(ck[1], w), value: ck[2].trim().toLowerCase() },
    size: sizeS && /^\d+$/.test(sizeS) ? Number(sizeS) : undefined,
    summary: text('summary') ?? '',
  };
  return { ...p, nevra: formatNevra(p) };
}

/**
 * Stream the packages of a primary.xml[.gz|.zst|.xz] file without holding the document in memory.
 * Only the listing and download fields are extracted; dependency data is left to the solver.
 */
export async function* scanPrimary(path: string, what: string): AsyncGenerator<PrimaryPackage> {
  const stream = openDecompressed(path);
  let buf = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buf += chunk.toString('utf8');
      for (;;) {
        const start = buf.indexOf('<package ');
        if (start < 0) {
          buf = buf.slice(Math.max(0, buf.length - 16));
          break;
        }
        const end = buf.indexOf('</package>', start);
        if (end < 0) {
          buf = buf.slice(start);
          if (buf.length > MAX_PACKAGE_XML) throw new FormatError(`${what}: a package entry exceeds ${MAX_PACKAGE_XML} bytes`);
          break;
        }
        const pkg = parsePackage(buf.slice(start, end), what);
        buf = buf.slice(end + 10);
        if (pkg) yield pkg;
      }
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
