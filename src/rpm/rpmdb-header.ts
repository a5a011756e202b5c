import { FormatError } from '../util/errors.ts';
import { HeaderBuilder, type RpmHeader } from './header.ts';
import { FileState, SigTag, Tag, Type } from './tags.ts';

/**
 * The header rpm stores in its database for an installed package: the package's main header
 * region kept byte for byte, followed by the signature-header tags rpm merges in and the tags it
 * adds at install time. Pure.
 */

/** Signature tag → main-header tag, expected type and count (0 = any), in rpm's merge order. */
const SIG_MERGE: ReadonlyArray<{ sig: number; tag: number; type: number; count: number; eitherHeader?: true }> = [
  { sig: SigTag.SIZE, tag: Tag.SIGSIZE, type: Type.INT32, count: 1 },
  { sig: SigTag.PGP, tag: Tag.SIGPGP, type: Type.BIN, count: 0 },
  { sig: SigTag.MD5, tag: Tag.SIGMD5, type: Type.BIN, count: 16 },
  { sig: SigTag.GPG, tag: Tag.SIGGPG, type: Type.BIN, count: 0 },
  { sig: SigTag.PAYLOADSIZE, tag: Tag.ARCHIVESIZE, type: Type.INT32, count: 1, eitherHeader: true },
  { sig: SigTag.FILESIGNATURES, tag: Tag.FILESIGNATURES, type: Type.STRING_ARRAY, count: 0, eitherHeader: true },
  { sig: SigTag.FILESIGNATURELENGTH, tag: Tag.FILESIGNATURELENGTH, type: Type.INT32, count: 1, eitherHeader: true },
  { sig: SigTag.VERITYSIGNATURES, tag: Tag.VERITYSIGNATURES, type: Type.STRING_ARRAY, count: 0 },
  { sig: SigTag.VERITYSIGNATUREALGO, tag: Tag.VERITYSIGNATUREALGO, type: Type.INT32, count: 1 },
  { sig: SigTag.SHA1, tag: Tag.SHA1HEADER, type: Type.STRING, count: 1 },
  { sig: SigTag.SHA256, tag: Tag.SHA256HEADER, type: Type.STRING, count: 1 },
  { sig: SigTag.DSA, tag: Tag.DSAHEADER, type: Type.BIN, count: 0 },
  { sig: SigTag.RSA, tag: Tag.RSAHEADER, type: Type.BIN, count: 0 },
  { sig: SigTag.LONGSIZE, tag: Tag.LONGSIGSIZE, type: Type.INT64, count: 1 },
  { sig: SigTag.LONGARCHIVESIZE, tag: Tag.LONGARCHIVESIZE, type: Type.INT64, count: 1 },
];

/** What rpm records at install time. */
export interface InstallInfo {
  /** INSTALLTIME (seconds since the epoch). */
  installTime: number;
  /** INSTALLTID, the transaction id (rpm uses the transaction's start time). */
  installTid: number;
  /** INSTALLCOLOR, the transaction color (3 on 64-bit multilib platforms such as x86_64/aarch64). */
  installColor: number;
  /** Per-file FILESTATES; default all NORMAL. */
  fileStates?: readonly number[] | undefined;
}

/**
 * Build the installed form of a package header.
 * @param header the package's main header (must carry the HEADERIMMUTABLE region)
 * @param signature the package's signature header, if the package had one
 */
export function installedHeader(header: RpmHeader, signature: RpmHeader | undefined, info: InstallInfo): RpmHeader {
  if (header.region?.tag !== Tag.HEADERIMMUTABLE) {
    throw new FormatError(`${header.what}: no immutable header region; legacy headers cannot be installed`);
  }
  if (header.region.ril !== header.entryList.length) {
    throw new FormatError(`${header.what}: header already carries tags outside its immutable region (an installed header?)`);
  }
  const b = HeaderBuilder.extend(header);
  if (signature) mergeSignature(b, header, signature);

  b.add(Tag.INSTALLTIME, Type.INT32, info.installTime);
  const nfiles = header.entries.get(Tag.BASENAMES)?.count ?? 0;
  if (nfiles > 0) {
    const states = info.fileStates ?? new Array<number>(nfiles).fill(FileState.NORMAL);
    if (states.length !== nfiles) throw new RangeError(`${header.what}: ${states.length} file states for ${nfiles} files`);
    b.add(Tag.FILESTATES, Type.CHAR, states.map((s) => s & 0xff));
  }
  b.add(Tag.INSTALLCOLOR, Type.INT32, info.installColor);
  b.add(Tag.INSTALLTID, Type.INT32, info.installTid);
  const prefixes = header.has(Tag.PREFIXES) ? header.strings(Tag.PREFIXES) : undefined;
  if (prefixes && !header.has(Tag.INSTPREFIXES)) b.add(Tag.INSTPREFIXES, Type.STRING_ARRAY, prefixes);
  return b.toHeader(`${header.what} (installed)`);
}

function mergeSignature(b: HeaderBuilder, header: RpmHeader, sig: RpmHeader): void {
  // A tag may not be in both headers (rpm then merges nothing).
  for (const m of SIG_MERGE) {
    if (header.has(m.tag)) {
      if (m.eitherHeader && !sig.has(m.sig)) continue;
      return;
    }
  }
  for (const m of SIG_MERGE) {
    const e = sig.entries.get(m.sig);
    if (!e) continue;
    // Like rpm: stop merging at the first tag of unexpected type or size.
    if (e.type !== m.type || e.count < 1 || e.count > 16 * 1024 * 1024 || (m.count && e.count !== m.count)) return;
    switch (m.type) {
      case Type.INT32:
        b.add(m.tag, m.type, sig.numbers(m.sig) ?? []);
        break;
      case Type.INT64:
        b.add(m.tag, m.type, sig.bigints(m.sig) ?? []);
        break;
      case Type.STRING:
        b.add(m.tag, m.type, sig.string(m.sig) ?? '');
        break;
      case Type.STRING_ARRAY:
        b.add(m.tag, m.type, sig.strings(m.sig) ?? []);
        break;
      default:
        b.add(m.tag, m.type, sig.binary(m.sig) ?? Buffer.alloc(0));
    }
  }
}
