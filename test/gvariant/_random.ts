/** Seeded random GVariant types and values for property, fuzz and differential tests. */
import { Variant, typeInfo, type GVariantValue, type TypeInfo } from '../../src/gvariant/index.ts';

/** Small fast seeded PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

const BASIC = 'bynqiuxthdsog';

/** A random definite type string, at most `depth` containers deep. */
export function randomType(r: Rng, depth = 4): string {
  const roll = r.int(10);
  if (depth <= 0 || roll < 4) return r.pick([...BASIC, 'v']);
  switch (r.int(6)) {
    case 0:
    case 1:
      return 'a' + randomType(r, depth - 1);
    case 2:
      return 'm' + randomType(r, depth - 1);
    case 3:
      return `a{${r.pick([...BASIC])}${randomType(r, depth - 1)}}`;
    case 4:
      return `{${r.pick([...BASIC])}${randomType(r, depth - 1)}}`;
    default: {
      const n = r.int(5);
      let s = '(';
      for (let i = 0; i < n; i++) s += randomType(r, depth - 1);
      return s + ')';
    }
  }
}

const STR_POOL = ['', 'a', 'hello', "it's", 'say "hi"', 'back\\slash', 'tab\tnew\nline', 'ünï', '日本', '\u0001ctl', '😀', '\u00ad', 'x'.repeat(300)];

function randomString(r: Rng, big: boolean): string {
  if (big && r.int(40) === 0) return 'L'.repeat(200 + r.int(2000));
  if (r.int(3) === 0) return r.pick(STR_POOL);
  const n = r.int(12);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + r.int(0x5f));
  return s;
}

function randomPath(r: Rng): string {
  const n = r.int(3);
  if (n === 0) return '/';
  let p = '';
  for (let i = 0; i < n; i++) p += '/' + r.pick(['org', 'a_b', 'x1', 'Z']);
  return p;
}

function randomDouble(r: Rng): number {
  switch (r.int(8)) {
    case 0:
      return r.pick([0, -0, 1, -1, 0.1, 1e300, -2.5e-300, 2.2250738585072014e-308, Infinity, -Infinity, 1e21, 123456789012345680000]);
    case 1:
      return r.int(1000);
    case 2:
      return (r.next() - 0.5) * 10 ** (r.int(40) - 20);
    default:
      return Math.round((r.next() - 0.5) * 1e6) / 1000;
  }
}

/** A random value of type `t`; `big` allows occasional large containers. Maybes use null only at the innermost level. */
export function randomValue(r: Rng, type: string | TypeInfo, big = false, depth = 0): GVariantValue {
  const t = typeof type === 'string' ? typeInfo(type) : type;
  switch (t.kind) {
    case 'b':
      return r.int(2) === 1;
    case 'y':
      return r.int(256);
    case 'n':
      return r.int(65536) - 32768;
    case 'q':
      return r.int(65536);
    case 'i':
    case 'h':
      return r.pick([0, -1, 2147483647, -2147483648, r.int(4294967296) - 2147483648]);
    case 'u':
      return r.pick([0, 4294967295, r.int(4294967296), r.int(300)]);
    case 'x':
      return r.pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(r.int(2 ** 31)) * BigInt(r.int(2 ** 31)) - 12345n]);
    case 't':
      return r.pick([0n, 2n ** 64n - 1n, BigInt(r.int(2 ** 31)) * BigInt(r.int(2 ** 31)) * 3n]);
    case 'd':
      return randomDouble(r);
    case 's':
      return randomString(r, big);
    case 'o':
      return randomPath(r);
    case 'g':
      return r.pick(['', 's', 'a{sv}', '(ii)as', 'v']);
    case 'v': {
      const ct = depth > 6 ? r.pick(['s', 'u', 'ay']) : randomType(r, 2);
      return new Variant(ct, randomValue(r, ct, big, depth + 1));
    }
    case 'm': {
      if (t.elem!.kind !== 'm' && r.int(3) === 0) return null;
      return randomValue(r, t.elem!, big, depth + 1);
    }
    case 'a': {
      const max = big && r.int(8) === 0 ? 400 : 5;
      const n = depth > 6 ? 0 : r.int(max);
      const e = t.elem!;
      const out: GVariantValue[] = [];
      for (let i = 0; i < n; i++) out.push(randomValue(r, e, big && n < 10, depth + 1));
      return e.kind === 'y' ? Buffer.from(out as number[]) : out;
    }
    default:
      return t.members.map((m) => randomValue(r, m, big, depth + 1));
  }
}
