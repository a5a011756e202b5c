import { FormatError } from '../../util/errors.ts';
import { child, childText, childrenNamed, parseXml } from './xml.ts';

/** Digest algorithms allowed in repository metadata ("sha" is the old name of sha1). */
export const CHECKSUM_TYPES = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type ChecksumType = (typeof CHECKSUM_TYPES)[number];

export interface Checksum {
  type: ChecksumType;
  value: string;
}

/** One `<data type="…">` record of repomd.xml. */
export interface RepomdRecord {
  type: string;
  /** Path relative to the repository base URL, e.g. `repodata/<hash>-primary.xml.gz`. */
  location: string;
  checksum: Checksum;
  openChecksum?: Checksum;
  size?: number;
  openSize?: number;
  timestamp?: number;
}

/** Parsed repomd.xml. */
export interface Repomd {
  revision: string;
  records: Map<string, RepomdRecord>;
}

/** Normalise a checksum type name; unknown algorithms are a FormatError naming `what`. */
export function checksumType(t: string | undefined, what: string): ChecksumType {
  const s = (t ?? '').toLowerCase();
  const norm = s === 'sha' ? 'sha1' : s;
  if (!(CHECKSUM_TYPES as readonly string[]).includes(norm)) throw new FormatError(`${what}: unsupported checksum type '${t ?? ''}'`);
  return norm as ChecksumType;
}

const HEX_LEN: Record<ChecksumType, number> = { sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

function parseChecksum(el: ReturnType<typeof child>, what: string): Checksum | undefined {
  if (!el) return undefined;
  const type = checksumType(el.attrs.type, what);
  const value = el.text.trim().toLowerCase();
  if (value.length !== HEX_LEN[type] || !/^[0-9a-f]+$/.test(value)) throw new FormatError(`${what}: '${value}' is not a ${type} digest`);
  return { type, value };
}

function optInt(s: string | undefined, what: string): number | undefined {
  if (s === undefined || s === '') return undefined;
  if (!/^\d+$/.test(s)) throw new FormatError(`${what}: '${s}' is not a non-negative integer`);
  return Number(s);
}

/**
 * A location from metadata must stay inside the repository: relative, no `..`, no scheme.
 * Returns it unchanged or throws a FormatError naming `what`.
 */
export function safeLocation(href: string, what: string): string {
  if (href === '' || href.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(href) || href.split('/').some((p) => p === '..') || href.includes('\\') || href.includes('\0')) {
    throw new FormatError(`${what}: unsafe location '${href}'`);
  }
  return href;
}

/** Parse repomd.xml text. `what` names the repository in errors. */
export function parseRepomd(text: string, what: string): Repomd {
  const root = parseXml(text, what);
  if (root.name !== 'repomd' && !root.name.endsWith(':repomd')) throw new FormatError(`${what}: root element is <${root.name}>, expected <repomd>`);
  const revision = childText(root, 'revision') ?? '';
  const records = new Map<string, RepomdRecord>();
  for (const d of childrenNamed(root, 'data')) {
    const type = d.attrs.type;
    if (!type) throw new FormatError(`${what}: <data> without a type`);
    const w = `${what}: ${type}`;
    const loc = child(d, 'location');
    const href = loc?.attrs.href;
    if (!href) throw new FormatError(`${w}: missing <location href>`);
    const checksum = parseChecksum(child(d, 'checksum'), `${w} checksum`);
    if (!checksum) throw new FormatError(`${w}: missing <checksum>`);
    if (records.has(type)) throw new FormatError(`${what}: <data type="${type}"> given twice`);
    records.set(type, {
      type,
      location: safeLocation(href, w),
      checksum,
      openChecksum: parseChecksum(child(d, 'open-checksum'), `${w} open-checksum`),
      size: optInt(childText(d, 'size'), `${w} size`),
      openSize: optInt(childText(d, 'open-size'), `${w} open-size`),
      timestamp: optInt(childText(d, 'timestamp')?.replace(/\.\d+$/, ''), `${w} timestamp`),
    });
  }
  return { revision, records };
}

/** What a metalink says about repomd.xml: accepted digests, size, and the mirrors' base URLs. */
export interface Metalink {
  hashes: Checksum[];
  size?: number;
  baseurls: string[];
}

/** Parse a metalink document for `repomd.xml` (the simple form: one file, a list of URLs). */
export function parseMetalink(text: string, what: string): Metalink {
  const root = parseXml(text, what);
  const files = child(root, 'files');
  const file = files && childrenNamed(files, 'file').find((f) => f.attrs.name === 'repomd.xml');
  if (!file) throw new FormatError(`${what}: no <file name="repomd.xml">`);
  const hashes: Checksum[] = [];
  const collect = (parent: ReturnType<typeof child>): void => {
    const v = parent && child(parent, 'verification');
    for (const h of v ? childrenNamed(v, 'hash') : []) {
      const t = (h.attrs.type ?? '').toLowerCase();
      if ((CHECKSUM_TYPES as readonly string[]).includes(t)) hashes.push({ type: t as ChecksumType, value: h.text.trim().toLowerCase() });
    }
  };
  collect(file);
  const alts = child(file, 'alternates');
  for (const a of alts ? childrenNamed(alts, 'alternate') : []) collect(a);
  const resources = child(file, 'resources');
  const urls = (resources ? childrenNamed(resources, 'url') : [])
    .map((u) => ({ url: u.text.trim(), pref: Number(u.attrs.preference ?? '0') }))
    .filter((u) => /^(https?|file):\/\//.test(u.url) && u.url.endsWith('repodata/repomd.xml'))
    .sort((a, b) => b.pref - a.pref)
    .map((u) => u.url.slice(0, -'repodata/repomd.xml'.length));
  if (urls.length === 0) throw new FormatError(`${what}: no usable <url> for repomd.xml`);
  return { hashes, size: optInt(childText(file, 'size'), `${what}: size`), baseurls: urls };
}
