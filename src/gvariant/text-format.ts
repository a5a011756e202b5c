/**
 * Printing values in the GVariant text format, exactly as GLib's printer does
 * (so `formatText(type, v, true)` round-trips through `parseText(type, …)`).
 */
import { FormatError } from '../util/errors.ts';
import { MAX_DEPTH, typeInfo, type TypeInfo } from './type.ts';
import { Variant, type GVariantValue } from './variant.ts';

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cn}\p{Cs}]/u;

function mismatch(t: TypeInfo, v: unknown): never {
  throw new FormatError(`cannot print value as '${t.str}': got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`, { type: t.str });
}

/** Quote a string as the printer does: single quotes unless it contains one; escape the rest. */
export function quoteString(s: string): string {
  const quote = s.includes("'") ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\';
    if (!NON_PRINTABLE.test(ch)) {
      out += ch;
      continue;
    }
    const c = ch.codePointAt(0)!;
    switch (c) {
      case 7:
        out += '\\a';
        break;
      case 8:
        out += '\\b';
        break;
      case 12:
        out += '\\f';
        break;
      case 10:
        out += '\\n';
        break;
      case 13:
        out += '\\r';
        break;
      case 9:
        out += '\\t';
        break;
      case 11:
        out += '\\v';
        break;
      default:
        out += c < 0x10000 ? `\\u${c.toString(16).padStart(4, '0')}` : `\\U${c.toString(16).padStart(8, '0')}`;
    }
  }
  return out + quote;
}

/** A byte string printed as b'…' when it ends with its only NUL; otherwise null. */
function byteString(b: Uint8Array): string | null {
  const n = b.length;
  if (n === 0 || b[n - 1] !== 0 || b.indexOf(0) !== n - 1) return null;
  let body = '';
  let hasApos = false;
  for (let i = 0; i < n - 1; i++) {
    const c = b[i];
    switch (c) {
      case 8:
        body += '\\b';
        break;
      case 12:
        body += '\\f';
        break;
      case 10:
        body += '\\n';
        break;
      case 13:
        body += '\\r';
        break;
      case 9:
        body += '\\t';
        break;
      case 11:
        body += '\\v';
        break;
      case 0x5c:
        body += '\\\\';
        break;
      case 0x22:
        body += '\\"';
        break;
      default:
        if (c < 0x20 || c >= 0x7f) body += '\\' + c.toString(8).padStart(3, '0');
        else {
          if (c === 0x27) hasApos = true;
          body += String.fromCharCode(c);
        }
    }
  }
  return hasApos ? `b"${body}"` : `b'${body}'`;
}

/** Exact decimal digits of a finite non-zero |d| and the position of the decimal point within them. */
function exactDigits(d: number): { digits: string; point: number } {
  const bits = new BigUint64Array(new Float64Array([Math.abs(d)]).buffer)[0];
  const biased = Number(bits >> 52n);
  const frac = bits & 0xfffffffffffffn;
  const m = biased === 0 ? frac : frac | 0x10000000000000n;
  const e = (biased === 0 ? 1 : biased) - 1075;
  if (e >= 0) {
    const digits = (m << BigInt(e)).toString();
    return { digits, point: digits.length };
  }
  const digits = (m * 5n ** BigInt(-e)).toString();
  return { digits, point: digits.length + e };
}

/** C's `%.17g` (exact, round-half-even like glibc) followed by GLib's ".0" fix-up for integral values. */
export function formatDouble(d: number): string {
  let s: string;
  if (Number.isNaN(d)) {
    s = new Uint8Array(new Float64Array([d]).buffer)[7] & 0x80 ? '-nan' : 'nan';
  } else if (!Number.isFinite(d)) s = d > 0 ? 'inf' : '-inf';
  else if (d === 0) s = Object.is(d, -0) ? '-0' : '0';
  else {
    const { digits, point } = exactDigits(d);
    let kept = digits.slice(0, 17).padEnd(17, '0');
    let pt = point;
    const rest = digits.slice(17);
    if (rest.length > 0) {
      const first = rest.charCodeAt(0) - 48;
      const tail = /[1-9]/.test(rest.slice(1));
      const odd = (kept.charCodeAt(16) - 48) % 2 === 1;
      if (first > 5 || (first === 5 && (tail || odd))) {
        const up = (BigInt(kept) + 1n).toString();
        if (up.length > 17) {
          kept = up.slice(0, 17);
          pt++;
        } else kept = up;
      }
    }
    const exp = pt - 1;
    if (exp < -4 || exp >= 17) {
      const mant = (kept[0] + '.' + kept.slice(1)).replace(/0+$/, '').replace(/\.$/, '');
      s = `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    } else if (pt <= 0) {
      s = ('0.' + '0'.repeat(-pt) + kept).replace(/0+$/, '');
    } else {
      s = (kept.slice(0, pt) + '.' + kept.slice(pt)).replace(/0+$/, '').replace(/\.$/, '');
    }
    if (d < 0) s = '-' + s;
  }
  if (!/[.enN]/.test(s)) s += '.0';
  return s;
}

function num(t: TypeInfo, v: GVariantValue, annotate: boolean, keyword: string): string {
  if (typeof v !== 'number' && typeof v !== 'bigint') mismatch(t, v);
  return annotate && keyword ? `${keyword} ${v}` : String(v);
}

/** Variants currently open in `print` (the only way a value can nest deeper than its type). */
let variantDepth = 0;

function print(t: TypeInfo, v: GVariantValue, annotate: boolean): string {
  switch (t.kind) {
    case 'b':
      if (typeof v !== 'boolean') mismatch(t, v);
      return v ? 'true' : 'false';
    case 'y':
      if (typeof v !== 'number') mismatch(t, v);
      return `${annotate ? 'byte ' : ''}0x${(v & 0xff).toString(16).padStart(2, '0')}`;
    case 'n':
      return num(t, v, annotate, 'int16');
    case 'q':
      return num(t, v, annotate, 'uint16');
    case 'i':
      return num(t, v, annotate, '');
    case 'h':
      return num(t, v, annotate, 'handle');
    case 'u':
      return num(t, v, annotate, 'uint32');
    case 'x':
      return num(t, v, annotate, 'int64');
    case 't':
      return num(t, v, annotate, 'uint64');
    case 'd':
      if (typeof v !== 'number') mismatch(t, v);
      return formatDouble(v);
    case 's':
    case 'o':
    case 'g': {
      if (typeof v !== 'string') mismatch(t, v);
      const prefix = annotate && t.kind === 'o' ? 'objectpath ' : annotate && t.kind === 'g' ? 'signature ' : '';
      return prefix + quoteString(v);
    }
    case 'v': {
      if (!(v instanceof Variant)) mismatch(t, v);
      if (++variantDepth > MAX_DEPTH) {
        variantDepth = 0;
        throw new FormatError(`cannot print value: variants nested deeper than ${MAX_DEPTH}`, { type: t.str });
      }
      const inner = print(typeInfo(v.type), v.value, true);
      variantDepth--;
      return `<${inner}>`;
    }
    case 'm': {
      const prefix = annotate ? `@${t.str} ` : '';
      if (v === null) return prefix + 'nothing';
      let base = t.elem!;
      while (base.kind === 'm') base = base.elem!;
      return prefix + print(base, v, false);
    }
    case 'a':
      return printArray(t, v, annotate);
    case '{': {
      if (!Array.isArray(v) || v.length !== 2) mismatch(t, v);
      return `{${print(t.members[0], v[0], annotate)}, ${print(t.members[1], v[1], annotate)}}`;
    }
    default: {
      if (!Array.isArray(v) || v.length !== t.members.length) mismatch(t, v);
      const parts = t.members.map((m, i) => print(m, v[i], annotate));
      return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
    }
  }
}

function printArray(t: TypeInfo, v: GVariantValue, annotate: boolean): string {
  const e = t.elem!;
  let items: ArrayLike<GVariantValue>;
  if (v instanceof Uint8Array) {
    if (e.kind !== 'y') mismatch(t, v);
    const bs = byteString(v);
    if (bs !== null) return bs;
    items = Array.from(v);
  } else if (Array.isArray(v)) items = v;
  else mismatch(t, v);
  if (e.kind === 'y' && !(v instanceof Uint8Array)) {
    const bytes = items as GVariantValue[];
    if (bytes.every((x) => typeof x === 'number')) {
      const bs = byteString(Uint8Array.from(bytes));
      if (bs !== null) return bs;
    }
  }
  const n = items.length;
  if (n === 0) return `${annotate ? `@${t.str} ` : ''}${e.kind === '{' ? '{}' : '[]'}`;
  const parts = new Array<string>(n);
  let ann = annotate;
  if (e.kind === '{') {
    for (let i = 0; i < n; i++) {
      const entry = items[i];
      if (!Array.isArray(entry) || entry.length !== 2) mismatch(e, entry);
      parts[i] = `${print(e.members[0], entry[0], ann)}: ${print(e.members[1], entry[1], ann)}`;
      ann = false;
    }
    return `{${parts.join(', ')}}`;
  }
  for (let i = 0; i < n; i++) {
    parts[i] = print(e, items[i], ann);
    ann = false;
  }
  return `[${parts.join(', ')}]`;
}

/**
 * Print `value` of type `type` in the GVariant text format, like GLib's printer.
 * With `typeAnnotate`, adds the type keywords/annotations needed to read the text back
 * without a type (`uint32 5`, `@as []`).
 * @example formatText('a{sv}', [['n', new Variant('t', 7n)]], true) // "{'n': <uint64 7>}"
 */
export function formatText(type: string, value: GVariantValue, typeAnnotate = false): string {
  variantDepth = 0;
  return print(typeInfo(type), value, typeAnnotate);
}
