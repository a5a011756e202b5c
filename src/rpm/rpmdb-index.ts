import { endianness } from 'node:os';
import { parseRichDep, type RichDep } from './deps.ts';
import type { RpmHeader } from './header.ts';
import { DepFlag, Tag, Type } from './tags.ts';

/**
 * The secondary index tables of the sqlite rpmdb, in the order rpm creates them, and the
 * (key, idx) rows rpm puts in each for one installed header. Pure.
 */

/** One index table: its name, the header tag it indexes, its key column type and sqlite indexes. */
export interface RpmdbIndex {
  table: string;
  tag: number;
  /** TEXT for string tags, BLOB for binary and integer tags. */
  keyType: 'TEXT' | 'BLOB';
  /** rpm creates `<table>_key_idx` for string tags. */
  keyIndex: boolean;
  /** rpm creates `<table>_hnum_idx` for array tags. */
  hnumIndex: boolean;
}

const idx = (table: string, tag: number, keyType: 'TEXT' | 'BLOB', array: boolean): RpmdbIndex => ({
  table,
  tag,
  keyType,
  keyIndex: keyType === 'TEXT',
  hnumIndex: array,
});

/** Every index table rpm 4.18 keeps, in creation order. */
export const RPMDB_INDEXES: readonly RpmdbIndex[] = [
  idx('Name', Tag.NAME, 'TEXT', false),
  idx('Basenames', Tag.BASENAMES, 'TEXT', true),
  idx('Group', Tag.GROUP, 'TEXT', false),
  idx('Requirename', Tag.REQUIRENAME, 'TEXT', true),
  idx('Providename', Tag.PROVIDENAME, 'TEXT', true),
  idx('Conflictname', Tag.CONFLICTNAME, 'TEXT', true),
  idx('Obsoletename', Tag.OBSOLETENAME, 'TEXT', true),
  idx('Triggername', Tag.TRIGGERNAME, 'TEXT', true),
  idx('Dirnames', Tag.DIRNAMES, 'TEXT', true),
  idx('Installtid', Tag.INSTALLTID, 'BLOB', false),
  idx('Sigmd5', Tag.SIGMD5, 'BLOB', false),
  idx('Sha1header', Tag.SHA1HEADER, 'TEXT', false),
  idx('Filetriggername', Tag.FILETRIGGERNAME, 'TEXT', true),
  idx('Transfiletriggername', Tag.TRANSFILETRIGGERNAME, 'TEXT', true),
  idx('Recommendname', Tag.RECOMMENDNAME, 'TEXT', true),
  idx('Suggestname', Tag.SUGGESTNAME, 'TEXT', true),
  idx('Supplementname', Tag.SUPPLEMENTNAME, 'TEXT', true),
  idx('Enhancename', Tag.ENHANCENAME, 'TEXT', true),
];

/** One row of an index table (hnum is added by the writer). */
export interface IndexRow {
  key: string | Buffer;
  idx: number;
}

/** Requires that only matter while installing (scriptlet pre/post, pretrans/posttrans, rpmlib(), keyring). */
const INSTALL_ONLY = DepFlag.SCRIPT_PRE | DepFlag.SCRIPT_POST | DepFlag.RPMLIB | DepFlag.KEYRING | DepFlag.PRETRANS | DepFlag.POSTTRANS;
const ERASE_ONLY = DepFlag.SCRIPT_PREUN | DepFlag.SCRIPT_POSTUN;

const RICH_TAGS: ReadonlySet<number> = new Set([Tag.REQUIRENAME, Tag.CONFLICTNAME, Tag.SUGGESTNAME, Tag.SUPPLEMENTNAME, Tag.RECOMMENDNAME, Tag.ENHANCENAME]);

/** An integer key as rpm stores it: the raw value in the host's byte order. */
function intKey(type: number, n: number): Buffer {
  const le = endianness() === 'LE';
  switch (type) {
    case Type.INT16: {
      const b = Buffer.alloc(2);
      if (le) b.writeUInt16LE(n);
      else b.writeUInt16BE(n);
      return b;
    }
    case Type.INT32: {
      const b = Buffer.alloc(4);
      if (le) b.writeUInt32LE(n);
      else b.writeUInt32BE(n);
      return b;
    }
    default:
      return Buffer.from([n & 0xff]);
  }
}

/**
 * The names a rich dependency adds to an index besides itself: every simple name in it
 * (rpmlib() ones excepted), prefixed with '!' where it sits in a negated position (the condition
 * of `if`/`unless`; an `else` branch also adds the condition's names un-negated), de-duplicated
 * and sorted the way rpm does (bytewise over the ' '/'!'-prefixed strings).
 */
export function richDepIndexNames(dep: string): string[] {
  let tree: RichDep;
  try {
    tree = parseRichDep(dep);
  } catch {
    return [];
  }
  const argv: string[] = [];
  let neg = false;
  const walk = (d: RichDep): void => {
    switch (d.type) {
      case 'dep':
        if (d.name !== '' && !(d.name.length > 7 && d.name.startsWith('rpmlib('))) argv.push((neg ? '!' : ' ') + d.name);
        return;
      case 'and':
      case 'or':
      case 'with':
      case 'without':
        for (const a of d.args) walk(a);
        return;
      case 'if':
      case 'unless': {
        walk(d.then);
        const mark = argv.length;
        neg = !neg;
        walk(d.cond);
        if (d.else) {
          const end = argv.length;
          for (let i = mark; i < end; i++) {
            const s = argv[i];
            argv.push((s.startsWith('!') ? ' ' : '!') + s.slice(1));
          }
          neg = !neg;
          walk(d.else);
        } else {
          neg = !neg;
        }
        return;
      }
    }
  };
  walk(tree);
  const sorted = argv
    .map((s) => Buffer.from(s, 'utf8'))
    .sort((x, y) => Buffer.compare(x, y))
    .map((b) => b.toString('utf8'));
  const out: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue;
    const s = sorted[i];
    out.push(s.startsWith(' ') ? s.slice(1) : s);
  }
  return out;
}

/** The rows rpm adds to index `index` for header `h`. */
export function indexRows(index: RpmdbIndex, h: RpmHeader): IndexRow[] {
  const e = h.entries.get(index.tag);
  const rows: IndexRow[] = [];
  if (!e) {
    // rpm indexes a missing group as "Unknown"
    if (index.tag === Tag.GROUP) rows.push({ key: 'Unknown', idx: 0 });
    return rows;
  }
  let keys: Array<string | Buffer>;
  switch (e.type) {
    case Type.STRING:
    case Type.I18NSTRING:
      keys = [h.string(index.tag) ?? ''];
      break;
    case Type.STRING_ARRAY:
      keys = h.strings(index.tag) ?? [];
      break;
    case Type.BIN:
      keys = [h.binary(index.tag) ?? Buffer.alloc(0)];
      break;
    case Type.CHAR:
    case Type.INT8:
    case Type.INT16:
    case Type.INT32:
      keys = (h.numbers(index.tag) ?? []).map((n) => intKey(e.type, n));
      break;
    default:
      return rows;
  }
  const reqFlags = index.tag === Tag.REQUIRENAME ? (h.numbers(Tag.REQUIREFLAGS) ?? []) : undefined;
  const trigIndex =
    index.tag === Tag.FILETRIGGERNAME ? h.numbers(Tag.FILETRIGGERINDEX) : index.tag === Tag.TRANSFILETRIGGERNAME ? h.numbers(Tag.TRANSFILETRIGGERINDEX) : undefined;
  const seen = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const rowIdx = trigIndex ? (trigIndex[i] ?? 0) : i;
    if (reqFlags) {
      const f = reqFlags[i];
      if (f !== undefined && f & INSTALL_ONLY && !(f & ERASE_ONLY)) continue;
    }
    if (index.tag === Tag.TRIGGERNAME && typeof key === 'string') {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    rows.push({ key, idx: rowIdx });
    if (typeof key === 'string' && key.startsWith('(') && RICH_TAGS.has(index.tag) && e.type === Type.STRING_ARRAY) {
      for (const name of richDepIndexNames(key)) rows.push({ key: name, idx: rowIdx });
    }
  }
  return rows;
}
