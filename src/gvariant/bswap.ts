/** Byte swaps for the integer fields OSTree stores big-endian inside little-endian GVariants. */

/** Reverse the bytes of a 32-bit unsigned integer: `bswap32(0x41ed) === 0xed410000`. */
export function bswap32(n: number): number {
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | ((n >>> 24) & 0xff)) >>> 0;
}

/** Reverse the bytes of a 64-bit unsigned integer (as bigint, in 0..2^64-1). */
export function bswap64(n: bigint): bigint {
  const lo = Number(n & 0xffffffffn);
  const hi = Number((n >> 32n) & 0xffffffffn);
  return (BigInt(bswap32(lo)) << 32n) | BigInt(bswap32(hi));
}
