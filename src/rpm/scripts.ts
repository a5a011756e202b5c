import { FormatError } from '../util/errors.ts';
import type { RpmHeader } from './header.ts';
import { DepFlag, Tag } from './tags.ts';
import { formatDep, senseOp, type DepOp } from './deps.ts';

/** Scriptlet kinds in the order rpm lists them, with their body/program/flags tags and `--scripts` label. */
export const SCRIPTLET_KINDS = {
  pretrans: { body: Tag.PRETRANS, prog: Tag.PRETRANSPROG, flags: Tag.PRETRANSFLAGS, label: 'pretrans' },
  pre: { body: Tag.PREIN, prog: Tag.PREINPROG, flags: Tag.PREINFLAGS, label: 'preinstall' },
  post: { body: Tag.POSTIN, prog: Tag.POSTINPROG, flags: Tag.POSTINFLAGS, label: 'postinstall' },
  preun: { body: Tag.PREUN, prog: Tag.PREUNPROG, flags: Tag.PREUNFLAGS, label: 'preuninstall' },
  postun: { body: Tag.POSTUN, prog: Tag.POSTUNPROG, flags: Tag.POSTUNFLAGS, label: 'postuninstall' },
  posttrans: { body: Tag.POSTTRANS, prog: Tag.POSTTRANSPROG, flags: Tag.POSTTRANSFLAGS, label: 'posttrans' },
  verify: { body: Tag.VERIFYSCRIPT, prog: Tag.VERIFYSCRIPTPROG, flags: Tag.VERIFYSCRIPTFLAGS, label: 'verify' },
} as const;
export type ScriptletKind = keyof typeof SCRIPTLET_KINDS;

/** Scriptlet flags (…FLAGS tags). */
export const ScriptFlag = { EXPAND: 1 << 0, QFORMAT: 1 << 1, CRITICAL: 1 << 2 } as const;

/** An install/erase scriptlet. `prog` is the interpreter and its arguments; ['<lua>'] for Lua. */
export interface Scriptlet {
  kind: ScriptletKind;
  /** Script text; undefined when only a program runs (`%post -p /sbin/ldconfig`). */
  body: string | undefined;
  prog: string[];
  flags: number;
  lua: boolean;
}

/** A package trigger: runs `script` when a package matching `conditions` is installed/erased. */
export interface Trigger {
  kind: 'prein' | 'in' | 'un' | 'postun';
  conditions: { name: string; op: DepOp; version: string; flags: number }[];
  script: string;
  prog: string[];
  flags: number;
}

/** A file trigger: runs when files under `prefixes` appear/disappear (per package or per transaction). */
export interface FileTrigger {
  kind: 'in' | 'un' | 'postun';
  transaction: boolean;
  prefixes: string[];
  priority: number;
  script: string;
  prog: string[];
  flags: number;
}

function progOf(h: RpmHeader, tag: number): string[] {
  return h.has(tag) ? (h.strings(tag) ?? []) : [];
}

/** The package's install/erase scriptlets, in rpm's order. */
export function readScriptlets(h: RpmHeader): Scriptlet[] {
  const out: Scriptlet[] = [];
  for (const [kind, t] of Object.entries(SCRIPTLET_KINDS) as [ScriptletKind, (typeof SCRIPTLET_KINDS)[ScriptletKind]][]) {
    const body = h.has(t.body) ? h.string(t.body) : undefined;
    const prog = progOf(h, t.prog);
    if (body === undefined && prog.length === 0) continue;
    out.push({ kind, body, prog, flags: h.number(t.flags) ?? 0, lua: prog[0] === '<lua>' });
  }
  return out;
}

function triggerKind(flags: number): 'prein' | 'in' | 'un' | 'postun' | undefined {
  if (flags & DepFlag.TRIGGERPREIN) return 'prein';
  if (flags & DepFlag.TRIGGERIN) return 'in';
  if (flags & DepFlag.TRIGGERUN) return 'un';
  if (flags & DepFlag.TRIGGERPOSTUN) return 'postun';
  return undefined;
}

function checkLen(what: string, name: string, got: number, want: number): void {
  if (got !== want) throw new FormatError(`${what}: ${name} has ${got} entries, expected ${want}`);
}

/** The package's triggers (on other packages), one per script. */
export function readTriggers(h: RpmHeader, what = h.what): Trigger[] {
  const scripts = h.strings(Tag.TRIGGERSCRIPTS) ?? [];
  if (scripts.length === 0) return [];
  const names = h.strings(Tag.TRIGGERNAME) ?? [];
  const versions = h.strings(Tag.TRIGGERVERSION) ?? names.map(() => '');
  const flags = h.numbers(Tag.TRIGGERFLAGS) ?? [];
  const index = h.numbers(Tag.TRIGGERINDEX) ?? [];
  const progs = h.strings(Tag.TRIGGERSCRIPTPROG) ?? [];
  const sflags = h.numbers(Tag.TRIGGERSCRIPTFLAGS) ?? scripts.map(() => 0);
  checkLen(what, 'TRIGGERVERSION', versions.length, names.length);
  checkLen(what, 'TRIGGERFLAGS', flags.length, names.length);
  checkLen(what, 'TRIGGERINDEX', index.length, names.length);
  checkLen(what, 'TRIGGERSCRIPTPROG', progs.length, scripts.length);
  checkLen(what, 'TRIGGERSCRIPTFLAGS', sflags.length, scripts.length);
  return scripts.map((script, i) => {
    const conditions = names
      .map((name, j) => ({ name, op: senseOp(flags[j]), version: versions[j], flags: flags[j], j }))
      .filter((c) => index[c.j] === i)
      .map(({ name, op, version, flags: f }) => ({ name, op, version, flags: f }));
    const kind = triggerKind(conditions[0]?.flags ?? 0);
    if (!kind) throw new FormatError(`${what}: trigger ${i} has no conditions or no trigger type`);
    return { kind, conditions, script, prog: [progs[i]], flags: sflags[i] };
  });
}

const FT_TAGS = [
  {
    transaction: false,
    scripts: Tag.FILETRIGGERSCRIPTS, prog: Tag.FILETRIGGERSCRIPTPROG, sflags: Tag.FILETRIGGERSCRIPTFLAGS, name: Tag.FILETRIGGERNAME,
    index: Tag.FILETRIGGERINDEX, flags: Tag.FILETRIGGERFLAGS, prio: Tag.FILETRIGGERPRIORITIES,
  },
  {
    transaction: true,
    scripts: Tag.TRANSFILETRIGGERSCRIPTS, prog: Tag.TRANSFILETRIGGERSCRIPTPROG, sflags: Tag.TRANSFILETRIGGERSCRIPTFLAGS, name: Tag.TRANSFILETRIGGERNAME,
    index: Tag.TRANSFILETRIGGERINDEX, flags: Tag.TRANSFILETRIGGERFLAGS, prio: Tag.TRANSFILETRIGGERPRIORITIES,
  },
] as const;

/** File triggers and transaction file triggers, in that order. */
export function readFileTriggers(h: RpmHeader, what = h.what): FileTrigger[] {
  const out: FileTrigger[] = [];
  for (const t of FT_TAGS) {
    const scripts = h.strings(t.scripts) ?? [];
    if (scripts.length === 0) continue;
    const names = h.strings(t.name) ?? [];
    const index = h.numbers(t.index) ?? [];
    const flags = h.numbers(t.flags) ?? [];
    const progs = h.strings(t.prog) ?? [];
    const sflags = h.numbers(t.sflags) ?? scripts.map(() => 0);
    const prio = h.numbers(t.prio) ?? scripts.map(() => 1000000);
    checkLen(what, 'file trigger index', index.length, names.length);
    checkLen(what, 'file trigger flags', flags.length, names.length);
    checkLen(what, 'file trigger programs', progs.length, scripts.length);
    checkLen(what, 'file trigger priorities', prio.length, scripts.length);
    scripts.forEach((script, i) => {
      const js = names.map((_n, j) => j).filter((j) => index[j] === i);
      const kind = triggerKind(flags[js[0] ?? -1] ?? 0);
      if (!kind || kind === 'prein') throw new FormatError(`${what}: file trigger ${i} has no valid trigger type`);
      out.push({ kind, transaction: t.transaction, prefixes: js.map((j) => names[j]), priority: prio[i], script, prog: [progs[i]], flags: sflags[i] ?? 0 });
    });
  }
  return out;
}

/** Exactly what `rpm -qp --scripts` prints. */
export function formatScripts(list: readonly Scriptlet[]): string {
  let s = '';
  for (const sc of list) {
    const label = SCRIPTLET_KINDS[sc.kind].label;
    const using = sc.prog.length ? ` (using${sc.prog.map((p) => ` ${p}`).join('')})` : '';
    if (sc.body !== undefined) s += `${label} scriptlet${using}:\n${sc.body}\n`;
    else s += `${label} program:${sc.prog.map((p) => ` ${p}`).join('')}\n`;
  }
  return s;
}

/** Exactly what `rpm -qp --triggers` prints. */
export function formatTriggers(list: readonly Trigger[]): string {
  return list.map((t) => `trigger${t.kind} scriptlet (using ${t.prog.join(' ')}) -- ${t.conditions.map(formatDep).join(', ')}\n${t.script}\n`).join('');
}

/** Exactly what `rpm -qp --filetriggers` prints. */
export function formatFileTriggers(list: readonly FileTrigger[]): string {
  return list
    .map((t) => `${t.transaction ? 'trans' : ''}filetrigger${t.kind} scriptlet (using ${t.prog.join(' ')}) -- ${t.prefixes.join(', ')}\n${t.script}\n`)
    .join('');
}
