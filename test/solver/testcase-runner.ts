/**
 * Runs libsolv's `.t` testcases (see /work/shared/vectors/libsolv/FORMAT.md) through our Pool API:
 * this file parses the format itself, turns testtags repos into PackageSpec lists, jobs into low-level
 * Jobs, and produces result lines in the testcase spelling so they can be compared with the expected ones.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { Pool, type Problem, type Job, type JobFlag, type JobHow, type PackageSpec, type Selector, type SolvedPackage, type SolveResult } from '../../src/solver/index.ts';

/** The outcome of one sub-test (the part of a case up to `nextjob`). */
export interface SubtestOutcome {
  index: number;
  kinds: string[];
  expected: string[];
  actual: string[];
  expectedProblems: number;
  actualProblems: number;
  /** Sorted comparable lines (transaction, recommended, cleandeps, jobs) equal and problem verdict+count equal. */
  match: boolean;
  /** Result kinds that were expected but cannot be compared portably (rules). */
  skippedKinds: string[];
  /** Our explained problems, and libsolv's own problem lines from the expected result. */
  problems: Problem[];
  expectedProblemLines: string[];
}

// ---- dependency syntax: testtags ("A | B", "A <IF> (B <ELSE> C)") to rpm ("(A or B)", "(A if B else C)")

type DepNode = { atom: string } | { op: string; l: DepNode; r: DepNode };

const BIN_OPS = ['|', '&', '<IF>', '<UNLESS>', '<ELSE>', '+', '-'];
const REL_OPS = new Set(['=', '<', '>', '<=', '>=', '<>']);

function tokenize(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push(c);
      i++;
    } else {
      // a word; parentheses inside it ("A(x32)", "libc.so.6()(64bit)") belong to it
      let depth = 0;
      let j = i;
      while (j < s.length && !/\s/.test(s[j])) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')') {
          if (depth === 0) break;
          depth--;
        }
        j++;
      }
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

function parseDepExpr(tokens: string[], level: number, pos: { i: number }): DepNode {
  if (level === BIN_OPS.length) {
    const t = tokens[pos.i++];
    if (t === '(') {
      const inner = parseDepExpr(tokens, 0, pos);
      if (tokens[pos.i++] !== ')') throw new Error(`unbalanced parentheses in '${tokens.join(' ')}'`);
      return inner;
    }
    if (t === undefined || t === ')') throw new Error(`unexpected end of dependency '${tokens.join(' ')}'`);
    if (REL_OPS.has(tokens[pos.i] ?? '')) {
      const op = tokens[pos.i++];
      const evr = tokens[pos.i++];
      return { atom: `${t} ${op} ${evr}` };
    }
    return { atom: t };
  }
  let left = parseDepExpr(tokens, level + 1, pos);
  while (tokens[pos.i] === BIN_OPS[level]) {
    pos.i++;
    const right = parseDepExpr(tokens, level, pos);
    left = { op: BIN_OPS[level], l: left, r: right };
  }
  return left;
}

const RPM_OP: Record<string, string> = { '|': 'or', '&': 'and', '<IF>': 'if', '<UNLESS>': 'unless', '<ELSE>': 'else', '+': 'with', '-': 'without' };

function toRpm(n: DepNode): string {
  if ('atom' in n) return n.atom;
  if ((n.op === '<IF>' || n.op === '<UNLESS>') && 'op' in n.r && n.r.op === '<ELSE>') {
    return `(${toRpm(n.l)} ${RPM_OP[n.op]} ${toRpm(n.r.l)} else ${toRpm(n.r.r)})`;
  }
  return `(${toRpm(n.l)} ${RPM_OP[n.op]} ${toRpm(n.r)})`;
}

/** A testtags dependency in rpm syntax. */
export function testtagsDepToRpm(dep: string): string {
  const d = dep.trim();
  if (d.startsWith('/')) return d;
  const tokens = tokenize(d);
  const pos = { i: 0 };
  const node = parseDepExpr(tokens, 0, pos);
  if (pos.i !== tokens.length) throw new Error(`trailing text in dependency '${dep}'`);
  return toRpm(node);
}

// ---- testtags repositories

const TAG_FIELD: Record<string, keyof PackageSpec> = {
  Req: 'requires', Prq: 'prerequires', Prv: 'provides', Con: 'conflicts', Obs: 'obsoletes',
  Rec: 'recommends', Sug: 'suggests', Sup: 'supplements', Enh: 'enhances',
};

/** Parse a testtags repo body into packages. */
export function parseTesttags(text: string): PackageSpec[] {
  const pkgs: PackageSpec[] = [];
  let cur: PackageSpec | undefined;
  let version = 0;
  let multi: string | undefined;
  const add = (tag: string, value: string): void => {
    if (!cur) return;
    if (tag === 'Fls' || (version === 2 && tag === 'Prv' && value.startsWith('/'))) {
      (cur.files ??= []).push(value);
      return;
    }
    if (tag === 'Vnd') cur.vendor = value;
    else if (tag === 'Tim') cur.buildtime = Number(value) || undefined;
    else if (tag === 'Sum') cur.summary = value;
    const field = TAG_FIELD[tag];
    if (!field) return;
    const list = ((cur[field] as string[] | undefined) ??= []);
    list.push(testtagsDepToRpm(value));
    (cur as unknown as Record<string, unknown>)[field] = list;
  };
  for (const line of text.split('\n')) {
    if (multi) {
      if (line === `-${multi}:`) multi = undefined;
      else if (line.trim()) add(multi, line.trim());
      continue;
    }
    const m = /^\+([A-Za-z]{3}):$/.exec(line);
    if (m) {
      multi = m[1];
      continue;
    }
    const t = /^=([A-Za-z]{3}):\s?(.*)$/.exec(line);
    if (!t) continue;
    const [, tag, value] = t;
    if (tag === 'Ver') {
      version = Math.floor(Number(value.split(/\s/)[0]));
    } else if (tag === 'Pkg') {
      const f = value.trim().split(/\s+/);
      if (f.length !== 4) break; // libsolv stops reading the repo at a malformed Pkg line
      const [name, ver, rel, arch] = f;
      let epoch = 0;
      let v = ver;
      const c = /^(\d+):(.*)$/.exec(ver);
      if (c) {
        epoch = Number(c[1]);
        v = c[2];
      }
      cur = { name, epoch, version: v, release: rel === '-' ? '' : rel, arch: arch === '-' ? '' : arch };
      pkgs.push(cur);
    } else {
      add(tag, value);
    }
  }
  return pkgs;
}

// ---- the .t file

interface RepoDecl { name: string; prio: number; subprio: number; pkgs: PackageSpec[] }

function pkgKey(p: SolvedPackage): string {
  return `${p.nevra}@${p.repo}`;
}

/** Result lines in the testcase spelling for the kinds we can compare. */
export function resultLines(res: SolveResult, kinds: string[]): string[] {
  const out: string[] = [];
  if (kinds.includes('transaction')) {
    for (const s of res.detail.steps) out.push(s.by ? `${s.type} ${pkgKey(s.pkg)} ${pkgKey(s.by)}` : `${s.type} ${pkgKey(s.pkg)}`);
  }
  if (kinds.includes('recommended')) {
    for (const p of res.detail.recommended) out.push(`recommended ${pkgKey(p)}`);
    for (const p of res.detail.suggested) out.push(`suggested ${pkgKey(p)}`);
  }
  if (kinds.includes('cleandeps')) for (const p of res.detail.cleandeps) out.push(`cleandeps ${pkgKey(p)}`);
  return out;
}

const COMPARABLE = /^(install|erase|upgrade|downgrade|reinstall|change|obsoleted|multiinstall|multireinstall|recommended|suggested|cleandeps|job) /;

/** Run every sub-test of the case at `path`. */
export function runTestcase(path: string): SubtestOutcome[] {
  const dir = dirname(path);
  const lines = readFileSync(path, 'utf8').split('\n');
  const repos: RepoDecl[] = [];
  let arch = 'unset';
  let installedRepo: string | undefined;
  const poolFlags: Record<string, boolean> = { implicitobsoleteusescolors: false };
  const disabled: string[] = [];
  let pool: Pool | undefined;
  let solverFlags: Record<string, boolean> = {};
  let jobs: Job[] = [];
  let evrLines: string[] = [];
  let result: { kinds: string[]; expected: string[] } | undefined;
  const outcomes: SubtestOutcome[] = [];

  const getPool = (): Pool => {
    if (pool) return pool;
    const p = Pool.create({ arch, poolFlags });
    for (const r of repos) p.addPackages(r.name, r.pkgs, { priority: -r.prio, cost: -r.subprio });
    if (installedRepo && repos.some((r) => r.name === installedRepo)) p.setInstalled(installedRepo);
    if (disabled.length) p.excludePackages(disabled);
    pool = p;
    return p;
  };

  const finish = (): void => {
    if (!result) return;
    const p = getPool();
    const kinds = result.kinds;
    let actual: string[] = [];
    let actualProblems = 0;
    let problems: Problem[] = [];
    if (jobs.length || kinds.some((k) => k !== 'jobs')) {
      const res = p.solve(jobs, { defaults: 'libsolv', libsolv: solverFlags });
      actual = resultLines(res, kinds);
      actualProblems = res.ok ? 0 : res.problems.length;
      problems = res.ok ? [] : res.problems;
    }
    if (kinds.includes('jobs')) actual.push(...evrLines);
    actual.sort();
    const expected = result.expected.filter((l) => COMPARABLE.test(l)).sort();
    const expectedProblems = new Set(result.expected.filter((l) => / info /.test(l) && l.startsWith('problem ')).map((l) => l.split(' ')[1])).size;
    const skippedKinds = kinds.filter((k) => !['transaction', 'problems', 'recommended', 'cleandeps', 'jobs'].includes(k));
    const problemsOk = !kinds.includes('problems') || expectedProblems === actualProblems;
    outcomes.push({
      index: outcomes.length, kinds, expected, actual, expectedProblems, actualProblems, skippedKinds, problems,
      expectedProblemLines: result.expected.filter((l) => l.startsWith('problem ')),
      match: problemsOk && JSON.stringify(expected) === JSON.stringify(actual),
    });
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim() || line.startsWith('#')) continue;
    const w = line.trim().split(/\s+/);
    const inline = (): string[] => {
      const body: string[] = [];
      while (i + 1 < lines.length && lines[i + 1].startsWith('#>')) body.push(lines[++i].slice(2));
      return body;
    };
    switch (w[0]) {
      case 'repo': {
        const [name, prio, type, data] = w.slice(1);
        const [pr, sub] = prio.split('.');
        let text = '';
        if (type === 'testtags') {
          if (data === '<inline>') text = inline().join('\n');
          else {
            const raw = readFileSync(join(dir, data));
            text = (data.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
          }
        } else if (type !== 'empty') {
          throw new Error(`${path}: repo type '${type}' not supported by the runner`);
        }
        if (pool) throw new Error(`${path}: repo after the pool was set up`);
        repos.push({ name, prio: Number(pr), subprio: Number(sub ?? 0), pkgs: parseTesttags(text) });
        break;
      }
      case 'system':
        arch = w[1];
        if (w[2] !== 'rpm' && w[2] !== '*') throw new Error(`${path}: disttype '${w[2]}' is not rpm`);
        installedRepo = w[3];
        break;
      case 'poolflags':
        for (const f of w.slice(1)) poolFlags[f.replace(/^!/, '')] = !f.startsWith('!');
        break;
      case 'solverflags':
        for (const f of w.slice(1)) solverFlags[f.replace(/^!/, '')] = !f.startsWith('!');
        break;
      case 'disable':
        if (w[1] !== 'pkg') throw new Error(`${path}: disable ${w[1]} not supported`);
        disabled.push(w[2]);
        if (pool) pool.excludePackages([w[2]]);
        break;
      case 'feature':
        break;
      case 'evrcmp': {
        const c = getPool().evrcmp(w[1], w[2]);
        evrLines.push(`job noop provides ${w[1]} ${c < 0 ? '<' : c > 0 ? '>' : '='} ${w[2]}`);
        break;
      }
      case 'job':
        jobs.push(parseJob(line.trim()));
        break;
      case 'result':
        result = { kinds: w[1].split(','), expected: inline() };
        break;
      case 'nextjob':
        finish();
        solverFlags = {};
        jobs = [];
        evrLines = [];
        result = undefined;
        break;
      default:
        throw new Error(`${path}:${i + 1}: command '${w[0]}' not supported by the runner`);
    }
  }
  finish();
  pool?.free();
  return outcomes;
}

function parseJob(line: string): Job {
  let rest = line.replace(/^job\s+/, '');
  let flags: JobFlag[] = [];
  const fm = /\s*\[([^\]]*)\]\s*$/.exec(rest);
  if (fm) {
    flags = fm[1].split(',').map((f) => f.trim()).filter(Boolean) as JobFlag[];
    rest = rest.slice(0, fm.index);
  }
  const [how, kind, ...args] = rest.split(/\s+/);
  const arg = args.join(' ');
  let select: Selector;
  switch (kind) {
    case 'name': select = { name: testtagsDepToRpm(arg) }; break;
    case 'provides': select = { provides: testtagsDepToRpm(arg) }; break;
    case 'pkg': select = { pkg: arg }; break;
    case 'oneof': select = { oneOf: arg === 'nothing' ? [] : args }; break;
    case 'repo': select = { repo: arg }; break;
    case 'all': select = { all: true }; break;
    default: throw new Error(`job selection '${kind}' not supported by the runner`);
  }
  return { op: how as JobHow, select, flags };
}
