/**
 * Package scriptlets in rpm's order, run in the sandbox: every %pretrans, then per package (in
 * dependency order) %pre and %post, then per-package file triggers (%filetriggerin), every
 * %posttrans, then transaction file triggers (%transfiletriggerin). `$1` is the install count (1).
 */
import { FedostreeError } from '../util/errors.ts';
import { readDeps, readFileTriggers, readScriptlets, type FileTrigger, type RpmHeader, type Scriptlet } from '../rpm/index.ts';
import { runInSandbox } from './sandbox.ts';

/** A scriptlet that failed and was not ignored. */
export class ScriptletError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ESCRIPTLET', message, data);
    this.name = 'ScriptletError';
  }
}

/** A package as the scriptlet runner sees it. */
export interface ScriptPackage {
  name: string;
  nevra: string;
  header: RpmHeader;
  /** Installed paths (absolute). */
  files: string[];
}

/** One script that ran. */
export interface ScriptRun {
  package: string;
  script: string;
  code: number;
  ms: number;
  output: string;
  ignored: boolean;
}

/**
 * Order packages so that a package comes after what it requires (cycles broken by name), like
 * rpm's transaction order. Pure.
 */
export function installOrder<T extends ScriptPackage>(pkgs: readonly T[]): T[] {
  const byName = [...pkgs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const provider = new Map<string, T>();
  for (const p of byName) {
    for (const d of readDeps(p.header, 'provides')) if (!provider.has(d.name)) provider.set(d.name, p);
    for (const f of p.files) if (!provider.has(f)) provider.set(f, p);
  }
  const deps = new Map<T, T[]>();
  for (const p of byName) {
    const need: T[] = [];
    for (const r of readDeps(p.header, 'requires')) {
      if (r.rpmlib) continue;
      const q = provider.get(r.name);
      if (q && q !== p && !need.includes(q)) need.push(q);
    }
    deps.set(p, need);
  }
  const out: T[] = [];
  const state = new Map<T, 1 | 2>();
  const visit = (p: T): void => {
    if (state.get(p)) return; // done, or on the stack (cycle): break it here
    state.set(p, 1);
    for (const q of deps.get(p) ?? []) visit(q);
    state.set(p, 2);
    out.push(p);
  };
  for (const p of byName) visit(p);
  return out;
}

export interface RunScriptletsOptions {
  /** `PKG` or `PKG.KIND` entries whose failure is logged but does not fail the compose. */
  ignore?: readonly string[];
  /** Called after a package's %pre (ownership of its files is applied here). */
  afterPre?: (pkg: ScriptPackage) => Promise<void>;
  onScript?: (run: ScriptRun) => void;
}

function argvFor(s: { body: string | undefined; prog: string[] }, label: string, args: string[]): string[] {
  const prog = s.prog.length ? s.prog : ['/bin/sh'];
  if (s.body === undefined) return prog;
  return [...prog, '-c', s.body, label, ...args];
}

/** Run every scriptlet of `ordered` (already in install order) in the tree at `root`. */
export async function runScriptlets(root: string, ordered: readonly ScriptPackage[], options: RunScriptletsOptions = {}): Promise<ScriptRun[]> {
  const runs: ScriptRun[] = [];
  const ignore = new Set(options.ignore ?? []);
  const run = async (pkg: ScriptPackage, script: string, s: { body: string | undefined; prog: string[]; lua?: boolean }, args: string[], stdin?: string): Promise<void> => {
    if (s.lua || s.prog[0] === '<lua>') {
      const r: ScriptRun = { package: pkg.nevra, script, code: 0, ms: 0, output: 'skipped: Lua scriptlets are not supported', ignored: true };
      runs.push(r);
      options.onScript?.(r);
      return;
    }
    const res = await runInSandbox(root, argvFor(s, `${pkg.name}.${script}`, args), {
      stdin,
      env: { RPM_INSTALL_PREFIX: '/usr', RPM_PACKAGE_NAME: pkg.name },
    });
    const ignored = res.code !== 0 && (ignore.has(pkg.name) || ignore.has(`${pkg.name}.${script}`));
    const r: ScriptRun = { package: pkg.nevra, script, code: res.code, ms: res.ms, output: res.output, ignored };
    runs.push(r);
    options.onScript?.(r);
    if (res.code !== 0 && !ignored) {
      const tail = res.output.trim().split('\n').slice(-3).join(' | ');
      throw new ScriptletError(`${pkg.nevra}: %${script} scriptlet failed with exit code ${res.code}${tail ? `: ${tail}` : ''}`, { package: pkg.nevra, script, code: res.code });
    }
  };
  const scriptsOf = new Map<ScriptPackage, Scriptlet[]>();
  for (const p of ordered) scriptsOf.set(p, readScriptlets(p.header));
  const pick = (p: ScriptPackage, kind: string): Scriptlet | undefined => scriptsOf.get(p)?.find((s) => s.kind === kind);

  for (const p of ordered) {
    const s = pick(p, 'pretrans');
    if (s) await run(p, 'pretrans', s, ['1']);
  }
  for (const p of ordered) {
    const pre = pick(p, 'pre');
    if (pre) await run(p, 'pre', pre, ['1']);
    await options.afterPre?.(p);
    const post = pick(p, 'post');
    if (post) await run(p, 'post', post, ['1']);
  }
  const triggers: Array<{ owner: ScriptPackage; t: FileTrigger }> = [];
  for (const p of ordered) for (const t of readFileTriggers(p.header)) if (t.kind === 'in') triggers.push({ owner: p, t });
  triggers.sort((a, b) => b.t.priority - a.t.priority);
  // rpm matches below the prefix directory (the directory itself is not reported)
  const matching = (t: FileTrigger, files: string[]): string[] =>
    files.filter((f) => t.prefixes.some((pre) => f.startsWith(pre.endsWith('/') ? pre : `${pre}/`)));
  for (const { owner, t } of triggers.filter((x) => !x.t.transaction)) {
    for (const p of ordered) {
      const hit = matching(t, p.files);
      if (hit.length) await run(owner, 'filetriggerin', { body: t.script, prog: t.prog }, ['1', '1'], hit.join('\n') + '\n');
    }
  }
  for (const p of ordered) {
    const s = pick(p, 'posttrans');
    if (s) await run(p, 'posttrans', s, ['1']);
  }
  for (const { owner, t } of triggers.filter((x) => x.t.transaction)) {
    const hit = ordered.flatMap((p) => matching(t, p.files));
    if (hit.length) await run(owner, 'transfiletriggerin', { body: t.script, prog: t.prog }, ['1'], hit.join('\n') + '\n');
  }
  return runs;
}
