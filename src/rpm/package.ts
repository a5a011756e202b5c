import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { FormatError, IntegrityError, withContext } from '../util/errors.ts';
import { RpmHeader } from './header.ts';
import { SigTag, Tag } from './tags.ts';
import { LEAD_SIZE, parseLead, type RpmLead } from './lead.ts';
import { parseSignature, type SignatureInfo } from './signature.ts';

/**
 * A package file's headers: lead, signature header (padded to 8 bytes), main header.
 * The payload starts at `payloadOffset` and runs to the end of the file.
 */
export interface RpmPackage {
  /** File path ('' when parsed from a buffer). */
  path: string;
  /** Short name for messages (the file's base name). */
  what: string;
  lead: RpmLead;
  signature: RpmHeader;
  header: RpmHeader;
  /** Offset of the main header's magic. */
  headerOffset: number;
  payloadOffset: number;
  /** Total file size (bytes). */
  fileSize: number;
}

/** Parse lead and headers from the start of a package file (`buf` must hold at least the headers). Pure. */
export function parsePackageHeaders(buf: Uint8Array, what: string, fileSize = buf.byteLength): RpmPackage {
  try {
    const lead = parseLead(buf, what);
    const sig = RpmHeader.parseWithMagic(buf, LEAD_SIZE, `${what}: signature header`);
    const headerOffset = (sig.end + 7) & ~7;
    const main = RpmHeader.parseWithMagic(buf, headerOffset, `${what}: main header`);
    if (main.end > fileSize) throw new FormatError(`${what}: main header runs past the end of the file`);
    return { path: '', what, lead, signature: sig.header, header: main.header, headerOffset, payloadOffset: main.end, fileSize };
  } catch (err) {
    if (err instanceof RangeError) throw new FormatError(`${what}: malformed header: ${err.message}`);
    throw err;
  }
}

async function readAt(fh: FileHandle, pos: number, len: number, what: string, fileSize: number): Promise<Buffer> {
  if (pos + len > fileSize) throw new FormatError(`${what}: truncated: needs ${pos + len} bytes but the file has ${fileSize}`, { fileSize });
  const b = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(b, got, len - got, pos + got);
    if (bytesRead === 0) throw new FormatError(`${what}: truncated at byte ${pos + got}`);
    got += bytesRead;
  }
  return b;
}

function headerLength(b: Buffer, at: number, what: string): number {
  const il = b.readUInt32BE(at + 8);
  const dl = b.readUInt32BE(at + 12);
  if (il > 0xffff || dl > 256 * 1024 * 1024) throw new FormatError(`${what}: absurd header size: ${il} entries, ${dl} bytes of data`, { il, dl });
  return 16 + il * 16 + dl;
}

/** Open a package file and parse its headers (the payload is not read). */
export async function openPackage(path: string): Promise<RpmPackage> {
  const what = basename(path);
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const fileSize = (await fh.stat()).size;
    // Read only as much as the headers need: lead + sig intro, sig, main intro, main.
    let buf = await readAt(fh, 0, LEAD_SIZE + 16, what, fileSize);
    parseLead(buf, what);
    const sigLen = headerLength(buf, LEAD_SIZE, `${what}: signature header`);
    const mainAt = (LEAD_SIZE + sigLen + 7) & ~7;
    buf = Buffer.concat([buf, await readAt(fh, buf.length, mainAt + 16 - buf.length, what, fileSize)]);
    const mainLen = headerLength(buf, mainAt, `${what}: main header`);
    buf = Buffer.concat([buf, await readAt(fh, buf.length, mainAt + mainLen - buf.length, what, fileSize)]);
    const pkg = parsePackageHeaders(buf, what, fileSize);
    pkg.path = path;
    return pkg;
  } catch (err) {
    return withContext(`reading package ${path}`, err);
  } finally {
    await fh?.close();
  }
}

/** The descriptive fields of a package (what `rpm -qi` shows and more). */
export interface PackageInfo {
  name: string;
  epoch: number | undefined;
  version: string;
  release: string;
  arch: string;
  /** `name-[epoch:]version-release.arch` */
  nevra: string;
  summary: string;
  description: string;
  license: string;
  url: string | undefined;
  vendor: string | undefined;
  packager: string | undefined;
  group: string | undefined;
  buildtime: number;
  buildhost: string | undefined;
  sourcerpm: string | undefined;
  os: string | undefined;
  /** Installed size (LONGSIZE, else SIZE). */
  size: number;
  /** Uncompressed payload (cpio archive) size, from the signature header, when recorded. */
  archiveSize: number | undefined;
  payloadFormat: string;
  payloadCompressor: string;
  payloadFlags: string | undefined;
  sourcePackage: boolean;
  signature: SignatureInfo | undefined;
}

function bigToNumber(v: bigint | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Extract the descriptive fields of a package. */
export function packageInfo(pkg: RpmPackage): PackageInfo {
  const h = pkg.header;
  const need = (tag: number, name: string): string => {
    const v = h.string(tag);
    if (v === undefined) throw new FormatError(`${pkg.what}: main header has no ${name} tag`);
    return v;
  };
  const name = need(Tag.NAME, 'NAME');
  const version = need(Tag.VERSION, 'VERSION');
  const release = need(Tag.RELEASE, 'RELEASE');
  const epoch = h.number(Tag.EPOCH);
  const sourcePackage = !h.has(Tag.SOURCERPM);
  const arch = sourcePackage ? (h.has(Tag.NOSOURCE) || h.has(Tag.NOPATCH) ? 'nosrc' : 'src') : (h.string(Tag.ARCH) ?? 'noarch');
  const s = pkg.signature;
  return {
    name,
    epoch,
    version,
    release,
    arch,
    nevra: `${name}-${epoch !== undefined ? `${epoch}:` : ''}${version}-${release}.${arch}`,
    summary: h.string(Tag.SUMMARY) ?? '',
    description: h.string(Tag.DESCRIPTION) ?? '',
    license: h.string(Tag.LICENSE) ?? '',
    url: h.string(Tag.URL),
    vendor: h.string(Tag.VENDOR),
    packager: h.string(Tag.PACKAGER),
    group: h.string(Tag.GROUP),
    buildtime: h.number(Tag.BUILDTIME) ?? 0,
    buildhost: h.string(Tag.BUILDHOST),
    sourcerpm: h.string(Tag.SOURCERPM),
    os: h.string(Tag.OS),
    size: bigToNumber(h.bigints(Tag.LONGSIZE)?.[0]) ?? h.number(Tag.SIZE) ?? 0,
    archiveSize: bigToNumber(s.bigints(SigTag.LONGARCHIVESIZE)?.[0]) ?? s.number(SigTag.PAYLOADSIZE),
    payloadFormat: h.string(Tag.PAYLOADFORMAT) ?? 'cpio',
    payloadCompressor: h.string(Tag.PAYLOADCOMPRESSOR) ?? 'gzip',
    payloadFlags: h.string(Tag.PAYLOADFLAGS),
    sourcePackage,
    signature: packageSignature(pkg),
  };
}

/** The OpenPGP signature a package carries (header-only RSA/DSA preferred), or undefined if unsigned. */
export function packageSignature(pkg: RpmPackage): SignatureInfo | undefined {
  const s = pkg.signature;
  for (const [tag, name] of [
    [SigTag.RSA, 'RSAHEADER'],
    [SigTag.DSA, 'DSAHEADER'],
    [SigTag.GPG, 'SIGGPG'],
    [SigTag.PGP, 'SIGPGP'],
  ] as const) {
    const b = s.has(tag) ? s.binary(tag) : undefined;
    if (b) return parseSignature(b, `${pkg.what}: signature tag ${name}`);
  }
  return undefined;
}

/** What verifyHeaderDigests checked. */
export interface HeaderDigestResult {
  sha256: 'ok' | 'absent';
  sha1: 'ok' | 'absent';
  /** Size of header + payload recorded in the signature header matches the file. */
  size: 'ok' | 'absent';
}

/**
 * Check the signature header's digests of the main header's immutable region (SHA256, SHA1)
 * and the recorded header+payload size. Throws IntegrityError on mismatch.
 */
export function verifyHeaderDigests(pkg: RpmPackage): HeaderDigestResult {
  const s = pkg.signature;
  const region = pkg.header.region ? pkg.header.immutableRegion() : undefined;
  const check = (tag: number, algo: string, label: string): 'ok' | 'absent' => {
    const want = s.has(tag) ? s.string(tag) : undefined;
    if (want === undefined) return 'absent';
    if (!region) throw new IntegrityError(`${pkg.what}: main header has no immutable region to check its ${label} digest against`);
    const got = createHash(algo).update(region).digest('hex');
    if (got !== want.toLowerCase()) throw new IntegrityError(`${pkg.what}: header ${label} digest mismatch: expected ${want}, got ${got}`, { expected: want, got });
    return 'ok';
  };
  const sha256 = check(SigTag.SHA256, 'sha256', 'SHA256');
  const sha1 = check(SigTag.SHA1, 'sha1', 'SHA1');
  const recorded = bigToNumber(s.bigints(SigTag.LONGSIZE)?.[0]) ?? s.number(SigTag.SIZE);
  let size: 'ok' | 'absent' = 'absent';
  if (recorded !== undefined) {
    const actual = pkg.fileSize - pkg.headerOffset;
    if (recorded !== actual) throw new IntegrityError(`${pkg.what}: header+payload size is ${actual} bytes but the signature header records ${recorded} (truncated or padded file)`);
    size = 'ok';
  }
  return { sha256, sha1, size };
}
