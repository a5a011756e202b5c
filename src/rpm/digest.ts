import { FormatError } from '../util/errors.ts';

/** OpenPGP hash algorithm numbers as RPM stores them (FILEDIGESTALGO, PAYLOADDIGESTALGO). */
export const HashAlgo = {
  MD5: 1,
  SHA1: 2,
  RIPEMD160: 3,
  SHA256: 8,
  SHA384: 9,
  SHA512: 10,
  SHA224: 11,
} as const;

const NODE_NAMES: Record<number, string> = { 1: 'md5', 2: 'sha1', 3: 'ripemd160', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };
const HEX_LENGTHS: Record<number, number> = { 1: 32, 2: 40, 3: 40, 8: 64, 9: 96, 10: 128, 11: 56 };

/** node:crypto name of an RPM hash algorithm number; throws FormatError naming `what` if unknown. */
export function hashName(algo: number, what: string): string {
  const n = NODE_NAMES[algo];
  if (!n) throw new FormatError(`${what}: unknown digest algorithm ${algo}`, { algo });
  return n;
}

/** Length in hex characters of a digest of `algo` (0 if unknown). */
export function hexLength(algo: number): number {
  return HEX_LENGTHS[algo] ?? 0;
}
