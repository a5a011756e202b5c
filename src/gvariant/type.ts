/**
 * GVariant type strings: validation and the compiled form (alignment, fixed size, children)
 * that the serialiser and parser walk. Compiled types are cached by string.
 */
import { FormatError } from '../util/errors.ts';

/** Deepest container nesting accepted in a type string or a parsed value (as GLib). */
export const MAX_DEPTH = 128;

/** A compiled definite type. */
export interface TypeInfo {
  /** The type string, e.g. `a{sv}`. */
  readonly str: string;
  /** First character of the type string: `b y n q i u x t h d s o g v a m ( {`. */
  readonly kind: string;
  /** Alignment in bytes: 1, 2, 4 or 8. */
  readonly align: number;
  /** Size in bytes when every value of the type has the same size; 0 for variable-size types. */
  readonly fixed: number;
  /** Element type of `a` and `m`. */
  readonly elem: TypeInfo | null;
  /** Members of tuples and dict entries. */
  readonly members: readonly TypeInfo[];
  /** Nesting depth: 1 for basic types and `v`, 1 + deepest child for containers. */
  readonly depth: number;
}

const BASIC = 'bynqiuxthdsog';
const FIXED_SIZE: Record<string, number> = { b: 1, y: 1, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };

const cache = new Map<string, TypeInfo>();
const CACHE_LIMIT = 4096;

/** Scan one complete definite type starting at `pos`; returns the end index, or -1 if invalid. */
function scan(s: string, pos: number, depth: number): number {
  if (pos >= s.length || depth > MAX_DEPTH) return -1;
  const c = s[pos];
  if (BASIC.includes(c) || c === 'v') return pos + 1;
  if (c === 'a' || c === 'm') return scan(s, pos + 1, depth + 1);
  if (c === '(') {
    let p = pos + 1;
    while (p < s.length && s[p] !== ')') {
      p = scan(s, p, depth + 1);
      if (p < 0) return -1;
    }
    return p < s.length ? p + 1 : -1;
  }
  if (c === '{') {
    if (pos + 1 >= s.length || !BASIC.includes(s[pos + 1])) return -1;
    const p = scan(s, pos + 2, depth + 1);
    if (p < 0 || p >= s.length || s[p] !== '}') return -1;
    return p + 1;
  }
  return -1;
}

/** True if `type` is exactly one complete definite GVariant type string (`a{sv}`, `(ayay)`, `mms`). */
export function isValidType(type: string): boolean {
  if (typeof type !== 'string' || type.length === 0) return false;
  if (cache.has(type)) return true;
  return scan(type, 0, 1) === type.length;
}

/** True if `sig` is a valid D-Bus/GVariant signature: zero or more complete types, no maybes. */
export function isValidSignature(sig: string): boolean {
  let p = 0;
  for (let i = 0; i < sig.length; i++) if (!'ybnqiuxthdvasog(){}'.includes(sig[i])) return false;
  while (p < sig.length) {
    p = scan(sig, p, 1);
    if (p < 0) return false;
  }
  return true;
}

/** True if `path` is a valid D-Bus object path: `/` or `/seg/seg` with segments of `[A-Za-z0-9_]+`. */
export function isValidObjectPath(path: string): boolean {
  return /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/.test(path);
}

function build(s: string, pos: number): [TypeInfo, number] {
  const c = s[pos];
  const fixed = FIXED_SIZE[c];
  if (fixed !== undefined) return [intern(c, () => ({ str: c, kind: c, align: fixed, fixed, elem: null, members: [], depth: 1 })), pos + 1];
  if (c === 's' || c === 'o' || c === 'g') return [intern(c, () => ({ str: c, kind: c, align: 1, fixed: 0, elem: null, members: [], depth: 1 })), pos + 1];
  if (c === 'v') return [intern(c, () => ({ str: c, kind: c, align: 8, fixed: 0, elem: null, members: [], depth: 1 })), pos + 1];
  if (c === 'a' || c === 'm') {
    const [elem, end] = build(s, pos + 1);
    const str = s.slice(pos, end);
    return [intern(str, () => ({ str, kind: c, align: elem.align, fixed: 0, elem, members: [], depth: elem.depth + 1 })), end];
  }
  // tuple or dict entry
  const close = c === '(' ? ')' : '}';
  const members: TypeInfo[] = [];
  let p = pos + 1;
  while (s[p] !== close) {
    const [m, end] = build(s, p);
    members.push(m);
    p = end;
  }
  const str = s.slice(pos, p + 1);
  return [intern(str, () => tupleInfo(str, c, members)), p + 1];
}

function tupleInfo(str: string, kind: string, members: TypeInfo[]): TypeInfo {
  let align = 1;
  let depth = 0;
  let size = 0;
  let allFixed = true;
  for (const m of members) {
    if (m.align > align) align = m.align;
    if (m.depth > depth) depth = m.depth;
    if (m.fixed === 0) allFixed = false;
    else size = ((size + m.align - 1) & ~(m.align - 1)) + m.fixed;
  }
  let fixed = 0;
  if (allFixed) fixed = members.length === 0 ? 1 : (size + align - 1) & ~(align - 1);
  return { str, kind, align, fixed, elem: null, members, depth: depth + 1 };
}

function intern(str: string, make: () => TypeInfo): TypeInfo {
  let info = cache.get(str);
  if (info === undefined) {
    info = make();
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(str, info);
  }
  return info;
}

/**
 * The compiled form of a definite type string.
 * @throws FormatError if `type` is not one complete definite type.
 */
export function typeInfo(type: string): TypeInfo {
  const hit = cache.get(type);
  if (hit !== undefined) return hit;
  if (!isValidType(type)) throw new FormatError(`invalid GVariant type string ${JSON.stringify(type)}`, { type });
  return build(type, 0)[0];
}

/** The compiled type, or null if `type` is not valid (for untrusted type strings inside variants). */
export function tryTypeInfo(type: string): TypeInfo | null {
  const hit = cache.get(type);
  if (hit !== undefined) return hit;
  if (!isValidType(type)) return null;
  return build(type, 0)[0];
}
