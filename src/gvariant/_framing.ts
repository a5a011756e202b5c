/** Framing-offset arithmetic shared by the serialiser and the parser. */

/** Round `pos` up to a multiple of `align` (a power of two). */
export function alignUp(pos: number, align: number): number {
  return align === 1 ? pos : pos + ((align - (pos % align)) % align);
}

/** Offset width the serialiser uses for a body of `body` bytes followed by `n` offsets (normal form). */
export function offsetWidthFor(body: number, n: number): number {
  if (n === 0) return 0;
  if (body + n <= 0xff) return 1;
  if (body + 2 * n <= 0xffff) return 2;
  if (body + 4 * n <= 0xffffffff) return 4;
  return 8;
}

/** Offset width a reader uses for a container of total size `size`. */
export function offsetWidthOf(size: number): number {
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

/** Read an unsigned little-endian integer of width 1, 2, 4 or 8 (8-byte values above 2^53 lose precision but stay huge). */
export function readOffset(buf: Uint8Array, pos: number, w: number): number {
  switch (w) {
    case 1:
      return buf[pos];
    case 2:
      return buf[pos] | (buf[pos + 1] << 8);
    case 4:
      return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16)) + buf[pos + 3] * 0x1000000;
    default:
      return readOffset(buf, pos, 4) + readOffset(buf, pos + 4, 4) * 0x100000000;
  }
}

/** Write an unsigned little-endian integer of width 1, 2, 4 or 8. */
export function writeOffset(buf: Uint8Array, pos: number, w: number, v: number): void {
  switch (w) {
    case 1:
      buf[pos] = v;
      return;
    case 2:
      buf[pos] = v & 0xff;
      buf[pos + 1] = v >>> 8;
      return;
    case 4:
      buf[pos] = v & 0xff;
      buf[pos + 1] = (v >>> 8) & 0xff;
      buf[pos + 2] = (v >>> 16) & 0xff;
      buf[pos + 3] = v >>> 24;
      return;
    default:
      writeOffset(buf, pos, 4, v >>> 0);
      writeOffset(buf, pos + 4, 4, Math.floor(v / 0x100000000));
  }
}
