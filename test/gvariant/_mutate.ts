/** Byte-level mutations of real encodings, for fuzzing the parser. */
import type { Rng } from './_random.ts';

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x28, 0x29, 0x61, 0x76, 0x73];

/** One to three random mutations: byte flips, interesting bytes, truncation, growth, splices. */
export function mutate(r: Rng, src: Buffer): Buffer {
  let b = Buffer.from(src);
  const rounds = 1 + r.int(3);
  for (let k = 0; k < rounds; k++) {
    const n = b.length;
    switch (r.int(7)) {
      case 0:
        if (n > 0) b[r.int(n)] ^= 1 << r.int(8);
        break;
      case 1:
        if (n > 0) b[r.int(n)] = INTERESTING[r.int(INTERESTING.length)];
        break;
      case 2:
        // framing offsets live at the end: hit them more often
        if (n > 0) b[n - 1 - r.int(Math.min(n, 4))] = r.int(256);
        break;
      case 3:
        b = b.subarray(0, r.int(n + 1));
        break;
      case 4: {
        const extra = Buffer.alloc(1 + r.int(4), r.int(2) ? 0 : r.int(256));
        const at = r.int(n + 1);
        b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
        break;
      }
      case 5: {
        if (n > 1) {
          const from = r.int(n);
          const len = 1 + r.int(Math.min(8, n - from));
          const at = r.int(n);
          b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
        }
        break;
      }
      default:
        if (n > 0) {
          const at = r.int(n);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        }
    }
  }
  return b;
}
