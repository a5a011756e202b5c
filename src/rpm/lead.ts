import { FormatError } from '../util/errors.ts';

/** Size of the lead at the start of every package file. */
export const LEAD_SIZE = 96;
/** The lead magic: ed ab ee db. */
export const LEAD_MAGIC = 0xedabeedb;

/** The legacy 96-byte lead: only the magic, version, type and signature type still matter. */
export interface RpmLead {
  major: number;
  minor: number;
  /** 0 = binary package, 1 = source package. */
  type: number;
  archnum: number;
  /** NEVR-ish name, truncated to 65 bytes by the writer. */
  name: string;
  osnum: number;
  /** 5 = header-style signature (the only kind still written). */
  signatureType: number;
}

/** Parse the lead from the first 96 bytes of a package. Pure. */
export function parseLead(buf: Uint8Array, what: string): RpmLead {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < LEAD_SIZE) throw new FormatError(`${what}: truncated lead: ${b.length} of ${LEAD_SIZE} bytes`);
  const magic = b.readUInt32BE(0);
  if (magic !== LEAD_MAGIC) throw new FormatError(`${what}: not an RPM package (bad lead magic ${b.subarray(0, 4).toString('hex')})`);
  const major = b[4];
  if (major !== 3 && major !== 4) throw new FormatError(`${what}: unsupported RPM format version ${major}.${b[5]}`);
  const nameEnd = b.indexOf(0, 10);
  const name = b.toString('latin1', 10, nameEnd < 0 || nameEnd > 76 ? 76 : nameEnd);
  const signatureType = b.readUInt16BE(78);
  if (signatureType !== 5) throw new FormatError(`${what}: unsupported signature type ${signatureType} in lead (expected 5)`);
  return { major, minor: b[5], type: b.readUInt16BE(6), archnum: b.readUInt16BE(8), name, osnum: b.readUInt16BE(76), signatureType };
}
