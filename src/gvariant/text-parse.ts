/**
 * Reading the GVariant text format (the language GLib's printer writes and its parser reads):
 * tokenise, build a small syntax tree, then either convert it to a given type or infer the type
 * from the tree the way GLib does (integers default to int32, strings to `s`, values are
 * implicitly wrapped in maybes where a maybe type is expected).
 */
import { FormatError } from '../util/errors.ts';
import { MAX_DEPTH, isValidObjectPath, isValidSignature, isValidType, typeInfo, type TypeInfo } from './type.ts';
import { Variant, type GVariantValue } from './variant.ts';

type Ast = { start: number; end: number } & (
  | { k: 'array'; items: Ast[] }
  | { k: 'tuple'; items: Ast[] }
  | { k: 'variant'; child: Ast }
  | { k: 'dict'; keys: Ast[]; values: Ast[]; single: boolean }
  | { k: 'string'; s: string }
  | { k: 'bytes'; b: Buffer }
  | { k: 'number'; tok: string }
  | { k: 'bool'; v: boolean }
  | { k: 'maybe'; child: Ast | null }
  | { k: 'typedecl'; type: string; child: Ast }
);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}
function isAlnum(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

class Parser {
  readonly text: string;
  pos = 0;
  /** Current token [tokStart, tokEnd), or tokStart < 0 when none is prepared. */
  tokStart = -1;
  tokEnd = -1;
  depth = 0;
  constructor(text: string) {
    this.text = text;
  }

  fail(start: number, end: number, msg: string): never {
    const where = start === end ? `${start}` : `${start}-${end}`;
    throw new FormatError(`cannot parse GVariant text at ${where}: ${msg}`, { offset: start, text: this.text.length > 200 ? this.text.slice(0, 200) + '…' : this.text });
  }

  /** Prepare the next token; returns false at end of input. */
  prepare(): boolean {
    if (this.tokStart >= 0) return true;
    const s = this.text;
    let p = this.pos;
    while (p < s.length && isSpace(s[p])) p++;
    this.pos = p;
    if (p >= s.length) {
      this.tokStart = this.tokEnd = p;
      return false;
    }
    const c = s[p];
    let end = p + 1;
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) {
      end = p;
      while (end < s.length && (isAlnum(s[end]) || s[end] === '-' || s[end] === '+' || s[end] === '.')) end++;
    } else if (c === 'b' && (s[p + 1] === "'" || s[p + 1] === '"')) {
      end = this.scanQuoted(p + 1);
    } else if (c >= 'a' && c <= 'z') {
      end = p;
      while (end < s.length && isAlnum(s[end])) end++;
    } else if (c === "'" || c === '"') {
      end = this.scanQuoted(p);
    } else if (c === '@' || c === '%') {
      let brackets = 0;
      for (end = p + 1; end < s.length; end++) {
        const d = s[end];
        if (d === ',' || d === ':' || d === '>' || d === ']' || isSpace(d)) break;
        if (d === '(' || d === '{') brackets++;
        else if ((d === ')' || d === '}') && brackets-- === 0) break;
      }
    }
    this.tokStart = p;
    this.tokEnd = end;
    this.pos = end;
    return true;
  }

  /** End of a quoted token whose opening quote is at `q` (past the closing quote if present). */
  scanQuoted(open: number): number {
    const s = this.text;
    const quote = s[open];
    let end = open + 1;
    for (; end < s.length; end++) {
      if (s[end] === quote) return end + 1;
      if (s[end] === '\\') {
        end++;
        if (end >= s.length) break;
      }
    }
    return s.length;
  }

  token(): string {
    this.prepare();
    return this.text.slice(this.tokStart, this.tokEnd);
  }
  next(): void {
    this.tokStart = -1;
  }
  peek(ch: string): boolean {
    return this.prepare() && this.text[this.tokStart] === ch;
  }
  consume(tok: string): boolean {
    if (this.prepare() && this.token() === tok) {
      this.next();
      return true;
    }
    return false;
  }
  require(tok: string, purpose: string): void {
    if (!this.consume(tok)) this.fail(this.tokStart, this.tokStart, `expected '${tok}'${purpose}`);
  }

  parse(): Ast {
    this.prepare();
    const start = this.tokStart;
    if (++this.depth > MAX_DEPTH) this.fail(start, start, `nesting deeper than ${MAX_DEPTH}`);
    const node = this.parseInner();
    this.depth--;
    node.start = start;
    node.end = this.tokStart >= 0 ? this.tokStart : this.pos;
    return node;
  }

  private parseInner(): Ast {
    const at = { start: this.tokStart, end: this.tokStart };
    const tok = this.prepare() ? this.token() : '';
    const c = tok[0] ?? '';
    if (c === '[') {
      this.next();
      const items: Ast[] = [];
      while (!this.consume(']')) {
        if (items.length > 0) this.require(',', " or ']' to follow array element");
        items.push(this.parse());
      }
      return { ...at, k: 'array', items };
    }
    if (c === '(') {
      this.next();
      const items: Ast[] = [];
      while (!this.consume(')')) {
        if (items.length > 1) this.require(',', " or ')' to follow tuple element");
        items.push(this.parse());
        if (items.length === 1) this.require(',', ' after first tuple element');
      }
      return { ...at, k: 'tuple', items };
    }
    if (c === '<') {
      this.next();
      const child = this.parse();
      this.require('>', ' to follow variant value');
      return { ...at, k: 'variant', child };
    }
    if (c === '{') {
      this.next();
      if (this.consume('}')) return { ...at, k: 'dict', keys: [], values: [], single: false };
      const keys = [this.parse()];
      const single = this.consume(',');
      if (!single) this.require(':', " or ',' to follow dictionary entry key");
      const values = [this.parse()];
      if (single) {
        this.require('}', ' at end of dictionary entry');
        return { ...at, k: 'dict', keys, values, single: true };
      }
      while (!this.consume('}')) {
        this.require(',', " or '}' to follow dictionary entry");
        keys.push(this.parse());
        this.require(':', ' to follow dictionary entry key');
        values.push(this.parse());
      }
      return { ...at, k: 'dict', keys, values, single: false };
    }
    if (tok === 'true' || tok === 'false') {
      this.next();
      return { ...at, k: 'bool', v: tok === 'true' };
    }
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9') || tok === 'inf' || tok === 'nan') {
      this.next();
      return { ...at, k: 'number', tok };
    }
    if (c === 'n' || c === 'j') {
      if (tok === 'just') {
        this.next();
        return { ...at, k: 'maybe', child: this.parse() };
      }
      if (tok === 'nothing') {
        this.next();
        return { ...at, k: 'maybe', child: null };
      }
      this.fail(this.tokStart, this.tokEnd, 'unknown keyword');
    }
    if (c === '@' || (tok.length >= 2 && isAlpha(tok[0]) && isAlpha(tok[1]))) {
      let type: string;
      if (c === '@') {
        type = tok.slice(1);
        if (!isValidType(type)) this.fail(this.tokStart, this.tokEnd, 'invalid type declaration');
      } else {
        const kw = KEYWORD_TYPES[tok];
        if (kw === undefined) this.fail(this.tokStart, this.tokEnd, 'unknown keyword');
        type = kw;
      }
      this.next();
      return { ...at, k: 'typedecl', type, child: this.parse() };
    }
    if (c === "'" || c === '"') return { ...at, k: 'string', s: this.parseString(tok) };
    if (c === 'b' && (tok[1] === "'" || tok[1] === '"')) return { ...at, k: 'bytes', b: this.parseBytes(tok) };
    this.fail(this.tokStart, this.tokStart, 'expected value');
  }

  private parseString(tok: string): string {
    const start = this.tokStart;
    const quote = tok[0];
    let out = '';
    let i = 1;
    for (;;) {
      if (i >= tok.length) this.fail(start, this.tokEnd, 'unterminated string constant');
      const ch = tok[i];
      if (ch === quote) break;
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      i++;
      if (i >= tok.length) this.fail(start, this.tokEnd, 'unterminated string constant');
      const e = tok[i];
      if (e === 'u' || e === 'U') {
        const len = e === 'u' ? 4 : 8;
        const hex = tok.slice(i + 1, i + 1 + len);
        const cp = /^[0-9a-fA-F]+$/.test(hex) && hex.length === len ? parseInt(hex, 16) : 0;
        if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(start + i + 1, start + i + 1 + len, `invalid ${len}-character unicode escape`);
        out += String.fromCodePoint(cp);
        i += 1 + len;
        continue;
      }
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) out += simple;
      else if (e !== '\n') out += e;
      i++;
    }
    this.next();
    return out;
  }

  private parseBytes(tok: string): Buffer {
    const start = this.tokStart;
    const raw = Buffer.from(tok, 'utf8');
    const quote = raw[1];
    const out = Buffer.alloc(raw.length);
    let j = 0;
    let i = 2;
    for (;;) {
      if (i >= raw.length) this.fail(start, this.tokEnd, 'unterminated string constant');
      const ch = raw[i];
      if (ch === quote) break;
      if (ch !== 0x5c) {
        out[j++] = ch;
        i++;
        continue;
      }
      i++;
      if (i >= raw.length) this.fail(start, this.tokEnd, 'unterminated string constant');
      const e = raw[i];
      if (e >= 0x30 && e <= 0x37) {
        let v = e - 0x30;
        i++;
        for (let k = 0; k < 2 && raw[i] >= 0x30 && raw[i] <= 0x37; k++) v = (v << 3) | (raw[i++] - 0x30);
        out[j++] = v & 0xff;
        continue;
      }
      const simple = SIMPLE_ESCAPES[String.fromCharCode(e)];
      if (simple !== undefined) out[j++] = simple.charCodeAt(0);
      else if (e !== 0x0a) out[j++] = e;
      i++;
    }
    out[j++] = 0; // byte strings carry their terminating NUL
    this.next();
    return out.subarray(0, j);
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

const KEYWORD_TYPES: Record<string, string> = {
  boolean: 'b',
  byte: 'y',
  int16: 'n',
  uint16: 'q',
  int32: 'i',
  handle: 'h',
  uint32: 'u',
  int64: 'x',
  uint64: 't',
  double: 'd',
  string: 's',
  objectpath: 'o',
  signature: 'g',
};

// ---- type patterns (what a syntax tree could be) and their merging ----

/** Copy one complete (possibly indefinite) type from `s` at `p`; returns [copied, newPos]. */
function patternCopy(s: string, p: number): [string, number] {
  const from = p;
  while (s[p] === 'a' || s[p] === 'm' || s[p] === 'M') p++;
  let brackets = 0;
  do {
    if (s[p] === '(' || s[p] === '{') brackets++;
    else if (s[p] === ')' || s[p] === '}') brackets--;
    p++;
  } while (brackets > 0 && p < s.length);
  return [s.slice(from, p), p];
}

/** The most specific pattern matching both, or null if they cannot describe the same type. */
function coalesce(left: string, right: string): string | null {
  const str = [left, right];
  const pos = [0, 0];
  let out = '';
  while (pos[0] < left.length && pos[1] < right.length) {
    if (left[pos[0]] === right[pos[1]]) {
      out += left[pos[0]];
      pos[0]++;
      pos[1]++;
      continue;
    }
    let handled = false;
    for (const [one, other] of [
      [0, 1],
      [1, 0],
    ]) {
      const a = str[one][pos[one]];
      const b = str[other][pos[other]];
      if (a === '*' && b !== ')') {
        const [copied, np] = patternCopy(str[other], pos[other]);
        out += copied;
        pos[other] = np;
        pos[one]++;
      } else if (a === 'M' && b === 'm') {
        out += b;
        pos[other]++;
      } else if (a === 'M' && b !== '*') {
        pos[one]++;
      } else if (a === 'N' && 'ynqiuxthd'.includes(b)) {
        out += b;
        pos[other]++;
        pos[one]++;
      } else if (a === 'S' && 'sog'.includes(b)) {
        out += b;
        pos[other]++;
        pos[one]++;
      } else continue;
      handled = true;
      break;
    }
    if (!handled) break;
  }
  return pos[0] < left.length || pos[1] < right.length ? null : out;
}

function fail(node: Ast, msg: string, data: Record<string, unknown> = {}): never {
  const where = node.start === node.end ? `${node.start}` : `${node.start}-${node.end}`;
  throw new FormatError(`cannot parse GVariant text at ${where}: ${msg}`, { offset: node.start, ...data });
}

function listPattern(items: Ast[]): string {
  let p = pattern(items[0]);
  for (let i = 1; i < items.length; i++) {
    const merged = coalesce(p, pattern(items[i]));
    if (merged === null) fail(items[i], 'unable to find a common type');
    p = merged;
  }
  return p;
}

function pattern(node: Ast): string {
  switch (node.k) {
    case 'maybe':
      return node.child ? 'm' + pattern(node.child) : 'm*';
    case 'array':
      return node.items.length === 0 ? 'Ma*' : 'Ma' + listPattern(node.items);
    case 'tuple':
      return 'M(' + node.items.map(pattern).join('') + ')';
    case 'variant':
      return 'Mv';
    case 'dict': {
      if (node.keys.length === 0) return 'Ma{**}';
      const kp = listPattern(node.keys);
      const key = kp[0] === 'M' ? kp[1] : kp[0];
      if (!'bynqiuxthdsogNS'.includes(key)) fail(node, 'dictionary keys must have basic types');
      return `M${node.single ? '' : 'a'}{${key}${pattern(node.values[0])}}`;
    }
    case 'string':
      return 'MS';
    case 'bytes':
      return 'May';
    case 'number': {
      const t = node.tok;
      return t.includes('.') || (!t.startsWith('0x') && t.includes('e')) || t.includes('inf') || t.includes('nan') ? 'Md' : 'MN';
    }
    case 'bool':
      return 'Mb';
    case 'typedecl':
      return node.type;
  }
}

function resolve(node: Ast): Variant {
  let t = '';
  for (const c of pattern(node)) {
    if (c === '*') fail(node, 'unable to infer type');
    if (c === 'M') continue;
    t += c === 'S' ? 's' : c === 'N' ? 'i' : c;
  }
  return new Variant(t, value(node, typeInfo(t)));
}

function typeError(node: Ast, t: TypeInfo): never {
  fail(node, `can not parse as value of type '${t.str}'`, { type: t.str });
}

/** Convert a syntax tree to a value of type `t`. */
function value(node: Ast, t: TypeInfo): GVariantValue {
  if (node.k === 'typedecl') return value(node.child, t);
  if (node.k === 'maybe') {
    if (t.kind !== 'm') typeError(node, t);
    return node.child ? value(node.child, t.elem!) : null;
  }
  // every other value may stand for Just itself inside any number of maybes
  while (t.kind === 'm') t = t.elem!;
  switch (node.k) {
    case 'array': {
      if (t.kind !== 'a') typeError(node, t);
      const e = t.elem!;
      const out = node.items.map((item) => value(item, e));
      return e.kind === 'y' ? Buffer.from(out as number[]) : out;
    }
    case 'tuple': {
      if (t.kind !== '(' || t.members.length !== node.items.length) typeError(node, t);
      return node.items.map((item, i) => value(item, t.members[i]));
    }
    case 'variant':
      if (t.kind !== 'v') typeError(node, t);
      return resolve(node.child);
    case 'dict': {
      if (node.single) {
        if (t.kind !== '{') typeError(node, t);
        return [value(node.keys[0], t.members[0]), value(node.values[0], t.members[1])];
      }
      if (t.kind !== 'a' || t.elem!.kind !== '{') typeError(node, t);
      const [k, v] = t.elem!.members;
      return node.keys.map((key, i) => [value(key, k), value(node.values[i], v)]);
    }
    case 'string':
      if (t.kind === 's') return node.s;
      if (t.kind === 'o') {
        if (!isValidObjectPath(node.s)) fail(node, 'not a valid object path');
        return node.s;
      }
      if (t.kind === 'g') {
        if (!isValidSignature(node.s)) fail(node, 'not a valid signature');
        return node.s;
      }
      return typeError(node, t);
    case 'bytes':
      if (t.str !== 'ay') typeError(node, t);
      return node.b;
    case 'bool':
      if (t.kind !== 'b') typeError(node, t);
      return node.v;
    case 'number':
      return numberValue(node, node.tok, t);
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

function numberValue(node: Ast, tok: string, t: TypeInfo): GVariantValue {
  if (t.kind === 'd') {
    let d: number;
    let m: RegExpExecArray | null;
    if (DECIMAL.test(tok)) d = Number(tok);
    else if ((m = HEX_FLOAT.exec(tok)) && /[0-9a-fA-F]/.test(m[2] + m[3])) {
      // strtod's hexadecimal form: 0x<hex>[.<hex>][p<exp>]
      const mant = Number(BigInt('0x' + (m[2] + m[3] || '0')));
      d = (m[1] === '-' ? -1 : 1) * mant * 2 ** (Number(m[4] ?? '0') - 4 * m[3].length);
    }
    else if ((m = SPECIAL.exec(tok))) d = m[2].toLowerCase() === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
    else fail(node, 'invalid character in number');
    // strtod reports ERANGE for overflow and for (inexact) subnormal results; GLib rejects both
    if ((!Number.isFinite(d) && !SPECIAL.test(tok)) || (d !== 0 && Math.abs(d) < 2.2250738585072014e-308)) fail(node, 'number too big for any type');
    return d;
  }
  let body = tok;
  const negative = body[0] === '-';
  if (negative) body = body.slice(1);
  if (body[0] === '+') body = body.slice(1);
  else if (negative && body === '') body = '0'; // strtoull("") is 0 with nothing left over: GLib reads "-" as 0
  let digits: string;
  let radix: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) {
    digits = body.slice(2);
    radix = 16;
  } else if (/^0[0-7]*$/.test(body)) {
    digits = body;
    radix = 8;
  } else if (/^[1-9][0-9]*$/.test(body)) {
    digits = body;
    radix = 10;
  } else fail(node, 'invalid character in number');
  let abs = 0n;
  const big = BigInt(radix);
  for (const ch of digits) abs = abs * big + BigInt(parseInt(ch, radix));
  if (abs > 0xffffffffffffffffn) fail(node, 'integer too big for any type');
  const v = negative ? -abs : abs;
  const range = INT_RANGES[t.kind];
  if (range === undefined) typeError(node, t);
  if (v < range[0] || v > range[1]) fail(node, `number out of range for type '${t.kind}'`);
  return t.kind === 'x' || t.kind === 't' ? v : Number(v);
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  y: [0n, 0xffn],
  n: [-0x8000n, 0x7fffn],
  q: [0n, 0xffffn],
  i: [-0x80000000n, 0x7fffffffn],
  h: [-0x80000000n, 0x7fffffffn],
  u: [0n, 0xffffffffn],
  x: [-(2n ** 63n), 2n ** 63n - 1n],
  t: [0n, 2n ** 64n - 1n],
};

/**
 * Parse the GVariant text format (as written by GLib's printer and read by its parser):
 * `uint64 5`, `byte 0x1`, `true`, `'str'`, `b'bytes'`, `[1, 2]`, `(1, 's')`, `{'k': <1>}`,
 * `<variant>`, `@as []`, `just 1`, `nothing`, `objectpath '/a'`.
 * With `type` null the type is inferred as GLib does and a Variant is returned.
 * @throws FormatError with the character offset of the problem.
 * @example parseText(null, "[1, 2]") // Variant { type: 'ai', value: [1, 2] }
 */
export function parseText(type: string | null, text: string): GVariantValue | Variant {
  const t = type === null ? null : typeInfo(type);
  const p = new Parser(text);
  const ast = p.parse();
  const result = t === null ? resolve(ast) : value(ast, t);
  p.prepare();
  if (p.tokStart < text.length) p.fail(p.tokStart, p.tokStart, 'expected end of input');
  return result;
}
