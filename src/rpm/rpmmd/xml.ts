import { FormatError } from '../../util/errors.ts';

/** One element of a parsed XML document: qualified name, attributes, child elements and text. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element (entities decoded). */
  text: string;
}

/** Limits that keep hostile metadata from exhausting memory or the stack. */
export interface XmlLimits {
  maxDepth?: number;
  maxElements?: number;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decode the five predefined entities and numeric character references; anything else is an error. */
export function decodeEntities(s: string, what: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&<]{0,12});/g, (whole, ref: string) => {
    if (ref.startsWith('#x') || ref.startsWith('#X')) {
      const cp = Number.parseInt(ref.slice(2), 16);
      if (!/^[0-9a-fA-F]+$/.test(ref.slice(2)) || cp > 0x10ffff) throw new FormatError(`${what}: bad character reference ${whole}`);
      return String.fromCodePoint(cp);
    }
    if (ref.startsWith('#')) {
      const cp = Number.parseInt(ref.slice(1), 10);
      if (!/^\d+$/.test(ref.slice(1)) || cp > 0x10ffff) throw new FormatError(`${what}: bad character reference ${whole}`);
      return String.fromCodePoint(cp);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new FormatError(`${what}: unknown entity ${whole} (only the predefined XML entities are allowed)`);
    return v;
  });
}

const NAME_RE = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ATTR_RE = /\s*([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/y;

/**
 * Parse a small XML document (repomd.xml, comps) into a tree. No DTDs, no external or custom
 * entities (a DOCTYPE is skipped, never expanded), bounded depth and element count.
 * Errors are FormatErrors naming `what` and the byte offset.
 */
export function parseXml(text: string, what: string, limits: XmlLimits = {}): XmlElement {
  const maxDepth = limits.maxDepth ?? 64;
  const maxElements = limits.maxElements ?? 5_000_000;
  const fail = (msg: string, at: number): never => {
    throw new FormatError(`${what}: ${msg} at offset ${at}`, { offset: at });
  };
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  const n = text.length;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    if (end > i) {
      const chunk = text.slice(i, end);
      if (stack.length === 0) {
        if (chunk.trim() !== '') fail('text outside the root element', i);
      } else {
        stack[stack.length - 1].text += decodeEntities(chunk, what);
      }
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<?', i)) {
      const e = text.indexOf('?>', i + 2);
      if (e < 0) fail('unterminated processing instruction', i);
      i = e + 2;
    } else if (text.startsWith('<!--', i)) {
      const e = text.indexOf('-->', i + 4);
      if (e < 0) fail('unterminated comment', i);
      i = e + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      const e = text.indexOf(']]>', i + 9);
      if (e < 0) fail('unterminated CDATA section', i);
      if (stack.length === 0) fail('CDATA outside the root element', i);
      stack[stack.length - 1].text += text.slice(i + 9, e);
      i = e + 3;
    } else if (text.startsWith('<!DOCTYPE', i)) {
      if (root || stack.length) fail('DOCTYPE after the root element', i);
      // Skip, including an internal subset; its declarations are never applied.
      let j = i + 9;
      let depth = 0;
      for (; j < n; j++) {
        const c = text[j];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth <= 0) break;
      }
      if (j >= n) fail('unterminated DOCTYPE', i);
      i = j + 1;
    } else if (text[i + 1] === '/') {
      NAME_RE.lastIndex = i + 2;
      const m = NAME_RE.exec(text);
      if (!m) fail('bad end tag', i);
      const name = m![0];
      const top = stack.pop();
      if (!top || top.name !== name) fail(`end tag </${name}> does not match <${top?.name ?? ''}>`, i);
      let j = i + 2 + name.length;
      while (j < n && /\s/.test(text[j])) j++;
      if (text[j] !== '>') fail('bad end tag', i);
      i = j + 1;
    } else {
      NAME_RE.lastIndex = i + 1;
      const m = NAME_RE.exec(text);
      if (!m) fail('bad start tag', i);
      const el: XmlElement = { name: m![0], attrs: Object.create(null) as Record<string, string>, children: [], text: '' };
      if (++count > maxElements) fail(`more than ${maxElements} elements`, i);
      let j = i + 1 + el.name.length;
      for (;;) {
        ATTR_RE.lastIndex = j;
        const a = ATTR_RE.exec(text);
        if (!a) break;
        if (a[1] in el.attrs) fail(`duplicate attribute ${a[1]}`, j);
        el.attrs[a[1]] = decodeEntities(a[3] ?? a[4] ?? '', what);
        j = ATTR_RE.lastIndex;
      }
      while (j < n && /\s/.test(text[j])) j++;
      let selfClosing = false;
      if (text[j] === '/' && text[j + 1] === '>') {
        selfClosing = true;
        j += 2;
      } else if (text[j] === '>') {
        j += 1;
      } else {
        fail(`bad start tag <${el.name}>`, i);
      }
      if (stack.length) stack[stack.length - 1].children.push(el);
      else if (root) fail('more than one root element', i);
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > maxDepth) fail(`elements nested deeper than ${maxDepth}`, i);
      }
      i = j;
    }
  }
  if (stack.length) fail(`unclosed element <${stack[stack.length - 1].name}>`, n);
  if (!root) fail('no root element', n);
  return root!;
}

/** Local part of a qualified name (`rpm:foo` → `foo`). */
export function localName(name: string): string {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(c + 1);
}

/** First child with the given local name. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => localName(c.name) === name);
}

/** All children with the given local name. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => localName(c.name) === name);
}

/** Trimmed text of the first child with that local name. */
export function childText(el: XmlElement, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}
