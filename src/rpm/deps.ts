import { FormatError } from '../util/errors.ts';
import type { RpmHeader } from './header.ts';
import { DepFlag, Tag } from './tags.ts';

/** The dependency kinds a package header carries, with their name/version/flags tags. */
export const DEP_KINDS = {
  provides: { name: Tag.PROVIDENAME, version: Tag.PROVIDEVERSION, flags: Tag.PROVIDEFLAGS },
  requires: { name: Tag.REQUIRENAME, version: Tag.REQUIREVERSION, flags: Tag.REQUIREFLAGS },
  conflicts: { name: Tag.CONFLICTNAME, version: Tag.CONFLICTVERSION, flags: Tag.CONFLICTFLAGS },
  obsoletes: { name: Tag.OBSOLETENAME, version: Tag.OBSOLETEVERSION, flags: Tag.OBSOLETEFLAGS },
  recommends: { name: Tag.RECOMMENDNAME, version: Tag.RECOMMENDVERSION, flags: Tag.RECOMMENDFLAGS },
  suggests: { name: Tag.SUGGESTNAME, version: Tag.SUGGESTVERSION, flags: Tag.SUGGESTFLAGS },
  supplements: { name: Tag.SUPPLEMENTNAME, version: Tag.SUPPLEMENTVERSION, flags: Tag.SUPPLEMENTFLAGS },
  enhances: { name: Tag.ENHANCENAME, version: Tag.ENHANCEVERSION, flags: Tag.ENHANCEFLAGS },
  order: { name: Tag.ORDERNAME, version: Tag.ORDERVERSION, flags: Tag.ORDERFLAGS },
} as const;
export type DepKind = keyof typeof DEP_KINDS;

/** A comparison operator of a versioned dependency ('' when unversioned). */
export type DepOp = '' | '<' | '>' | '=' | '<=' | '>=';

/** One dependency: `name [op version]`, or a rich (boolean) expression in `rich`. */
export interface Dependency {
  name: string;
  op: DepOp;
  version: string;
  /** Raw flags (DepFlag.* bits: sense, pre/post/interp phases, rpmlib, …). */
  flags: number;
  /** Install phases this requirement is needed for (pre, post, preun, postun, pretrans, posttrans, interp, verify). */
  phases: string[];
  /** True for `rpmlib(...)` requirements that rpm satisfies internally. */
  rpmlib: boolean;
  /** Parsed rich dependency when name starts with '('. */
  rich?: RichDep;
}

/** The operator for a sense mask. */
export function senseOp(flags: number): DepOp {
  switch (flags & DepFlag.SENSEMASK) {
    case DepFlag.LESS:
      return '<';
    case DepFlag.GREATER:
      return '>';
    case DepFlag.EQUAL:
      return '=';
    case DepFlag.LESS | DepFlag.EQUAL:
      return '<=';
    case DepFlag.GREATER | DepFlag.EQUAL:
      return '>=';
    default:
      return '';
  }
}

const PHASES: readonly [number, string][] = [
  [DepFlag.SCRIPT_PRE, 'pre'],
  [DepFlag.SCRIPT_POST, 'post'],
  [DepFlag.SCRIPT_PREUN, 'preun'],
  [DepFlag.SCRIPT_POSTUN, 'postun'],
  [DepFlag.PRETRANS, 'pretrans'],
  [DepFlag.POSTTRANS, 'posttrans'],
  [DepFlag.INTERP, 'interp'],
  [DepFlag.SCRIPT_VERIFY, 'verify'],
];

/** Phase names of a requirement's flags. */
export function depPhases(flags: number): string[] {
  return PHASES.filter(([bit]) => flags & bit).map(([, n]) => n);
}

/** Read one kind of dependency from a main header. Rich dependencies are parsed (FormatError if malformed). */
export function readDeps(h: RpmHeader, kind: DepKind, what = h.what): Dependency[] {
  const t = DEP_KINDS[kind];
  const names = h.strings(t.name) ?? [];
  const versions = h.has(t.version) ? (h.strings(t.version) ?? []) : names.map(() => '');
  const flags = h.has(t.flags) ? (h.numbers(t.flags) ?? []) : names.map(() => 0);
  if (versions.length !== names.length || flags.length !== names.length) {
    throw new FormatError(`${what}: ${kind}: ${names.length} names but ${versions.length} versions and ${flags.length} flags`);
  }
  return names.map((name, i) => {
    const f = flags[i];
    const d: Dependency = { name, op: senseOp(f), version: versions[i], flags: f, phases: depPhases(f), rpmlib: (f & DepFlag.RPMLIB) !== 0 || name.startsWith('rpmlib(') };
    if (name.startsWith('(')) {
      try {
        d.rich = parseRichDep(name);
      } catch (err) {
        if (err instanceof FormatError) err.message = `${what}: ${kind} entry ${i}: ${err.message}`;
        throw err;
      }
    }
    return d;
  });
}

/** A dependency as `rpm -q --requires` prints it: `name`, or `name op version`. */
export function formatDep(d: Pick<Dependency, 'name' | 'op' | 'version'>): string {
  return d.op && d.version ? `${d.name} ${d.op} ${d.version}` : d.op ? `${d.name} ${d.op} ` : d.name;
}

/** Boolean operators of rich dependencies. */
export type RichOp = 'and' | 'or' | 'if' | 'unless' | 'with' | 'without';

/** A rich (boolean) dependency expression. */
export type RichDep =
  | { type: 'dep'; name: string; op: DepOp; version: string }
  | { type: 'and' | 'or' | 'with'; args: RichDep[] }
  | { type: 'without'; args: [RichDep, RichDep] }
  | { type: 'if' | 'unless'; then: RichDep; cond: RichDep; else?: RichDep };

const OPS: ReadonlySet<string> = new Set(['and', 'or', 'if', 'unless', 'else', 'with', 'without']);
const CMP: Record<string, DepOp> = { '<': '<', '>': '>', '=': '=', '==': '=', '<=': '<=', '=<': '<=', '>=': '>=', '=>': '>=' };

/**
 * Parse a rich dependency such as `(foo >= 1.0 or (bar if baz else qux))`. Pure.
 * Throws FormatError with the byte offset of the problem.
 *
 * ```ts
 * parseRichDep('(a or b)') // { type: 'or', args: [{type:'dep',name:'a',…}, {type:'dep',name:'b',…}] }
 * ```
 */
export function parseRichDep(s: string): RichDep {
  let p = 0;
  const fail = (why: string): never => {
    throw new FormatError(`rich dependency '${s}': ${why} at offset ${p}`, { offset: p });
  };
  const ws = (): void => {
    while (p < s.length && /\s/.test(s[p])) p++;
  };
  const word = (): string => {
    // A name may contain balanced parentheses (perl(Foo::Bar)); an unbalanced ')' ends it.
    const start = p;
    let nest = 0;
    while (p < s.length && !/\s/.test(s[p])) {
      const c = s[p];
      if (c === '(') nest++;
      else if (c === ')') {
        if (nest === 0) break;
        nest--;
      }
      p++;
    }
    if (nest !== 0) fail('unbalanced parentheses in name');
    return s.slice(start, p);
  };
  const simple = (): RichDep => {
    const name = word();
    if (!name) fail('expected a name');
    if (OPS.has(name)) fail(`unexpected operator '${name}'`);
    const save = p;
    ws();
    const m = /^(<=|>=|=<|=>|==|<|>|=)/.exec(s.slice(p));
    if (m && CMP[m[1]] !== undefined) {
      p += m[1].length;
      ws();
      const version = word();
      if (!version) fail('expected a version after the comparison');
      return { type: 'dep', name, op: CMP[m[1]], version };
    }
    p = save;
    return { type: 'dep', name, op: '', version: '' };
  };
  const primary = (): RichDep => {
    ws();
    if (s[p] === '(') return group();
    return simple();
  };
  const group = (): RichDep => {
    if (s[p] !== '(') fail("expected '('");
    p++;
    const first = primary();
    ws();
    if (s[p] === ')') {
      p++;
      return first;
    }
    const opWord = word();
    if (!OPS.has(opWord) || opWord === 'else') fail(`expected an operator, got '${opWord}'`);
    const op = opWord as RichOp;
    let result: RichDep;
    if (op === 'if' || op === 'unless') {
      const cond = primary();
      ws();
      let elseDep: RichDep | undefined;
      const save = p;
      const w = word();
      if (w === 'else') elseDep = primary();
      else p = save;
      result = elseDep ? { type: op, then: first, cond, else: elseDep } : { type: op, then: first, cond };
    } else if (op === 'without') {
      result = { type: 'without', args: [first, primary()] };
    } else {
      const args = [first, primary()];
      for (;;) {
        ws();
        const save = p;
        const w = word();
        if (w === op) args.push(primary());
        else {
          p = save;
          if (w && OPS.has(w)) fail(`cannot mix '${op}' and '${w}' without parentheses`);
          break;
        }
      }
      result = { type: op, args };
    }
    ws();
    if (s[p] !== ')') fail("expected ')'");
    p++;
    return result;
  };
  ws();
  if (s[p] !== '(') fail("a rich dependency must start with '('");
  const r = group();
  ws();
  if (p !== s.length) fail('trailing characters');
  return r;
}

/** Format a rich dependency the way rpm writes it into headers. */
export function formatRichDep(d: RichDep, top = true): string {
  const inner = (x: RichDep): string => (x.type === 'dep' ? formatDep(x) : formatRichDep(x, false));
  let body: string;
  switch (d.type) {
    case 'dep':
      return top ? `(${formatDep(d)})` : formatDep(d);
    case 'and':
    case 'or':
    case 'with':
      body = d.args.map(inner).join(` ${d.type} `);
      break;
    case 'without':
      body = `${inner(d.args[0])} without ${inner(d.args[1])}`;
      break;
    case 'if':
    case 'unless':
      body = `${inner(d.then)} ${d.type} ${inner(d.cond)}${d.else ? ` else ${inner(d.else)}` : ''}`;
      break;
  }
  return `(${body})`;
}
