import type { NativeProblem, NativeRule, NativeSolutionElement } from './_native.ts';
import type { Problem } from './types.ts';

/** What explain() needs from the pool: package names by id and the user's words for each job. */
export interface ExplainContext {
  /** "name-[epoch:]version-release.arch", with " (installed)" for installed packages. */
  pkg(id: number): string;
  /** "name-[epoch:]version-release.arch" only. */
  nevra(id: number): string;
  /** Whether the package is in the installed set. */
  installed(id: number): boolean;
  /** The user's request behind native job index `i`, e.g. "install foo". */
  job(i: number): string;
  /** Close names for an unknown package name. */
  suggest(name: string): string[];
}

function depName(dep: string | undefined): string {
  return dep ?? 'an unnamed dependency';
}

/** One libsolv rule as a sentence. */
export function ruleSentence(r: NativeRule, ctx: ExplainContext): string {
  const s = r.source > 0 ? ctx.pkg(r.source) : '';
  const t = r.target > 0 ? ctx.pkg(r.target) : '';
  const dep = depName(r.dep);
  switch (r.type) {
    case 'not-installable':
      return `package ${s} is not installable (excluded, or its architecture does not fit this system)`;
    case 'nothing-provides':
      return `nothing provides ${dep} needed by ${s}`;
    case 'requires':
      return `package ${s} requires ${dep}, but none of the providers can be installed`;
    case 'self-conflict':
      return `package ${s} conflicts with ${dep} provided by itself`;
    case 'conflicts':
      return `package ${s} conflicts with ${dep} provided by ${t}`;
    case 'same-name':
      return `cannot install both ${s} and ${t}`;
    case 'obsoletes':
      return `package ${s} obsoletes ${dep} provided by ${t}`;
    case 'installed-obsoletes':
      return `installed package ${ctx.nevra(r.source)} obsoletes ${dep} provided by ${t}`;
    case 'implicit-obsoletes':
      return `package ${s} implicitly obsoletes ${dep} provided by ${t}`;
    case 'constrains':
      return `package ${s} has constraint ${dep} conflicting with ${t}`;
    case 'recommends':
    case 'supplements':
      return `package ${s} ${r.type} ${dep}`;
    case 'job-nothing-provides':
      return `nothing provides ${dep} requested by "${r.job !== undefined ? ctx.job(r.job) : 'a request'}"`;
    case 'job-unknown-package': {
      const name = r.dep ?? '?';
      const close = ctx.suggest(name);
      return `package ${name} does not exist${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`;
    }
    case 'job-provided-by-system':
      return `${dep} is provided by the system and cannot be removed`;
    case 'job-unsupported':
      return `the request "${r.job !== undefined ? ctx.job(r.job) : '?'}" is not supported`;
    case 'job':
      return `you asked to ${r.job !== undefined ? ctx.job(r.job) : "do something the rules above forbid"}`;
    case 'distupgrade':
      return `${s} does not belong to the repositories of the distribution upgrade`;
    case 'infarch':
      return `${s} has an inferior architecture`;
    case 'update':
    case 'feature':
      return `installed package ${ctx.nevra(r.source)} can be neither kept nor updated`;
    case 'best':
      return s ? `cannot install the best update candidate for package ${ctx.nevra(r.source)}` : 'cannot install the best candidate for the request';
    case 'yumobs':
      return `both package ${s} and ${t} obsolete ${dep}`;
    case 'blacklist':
      return `package ${s} can only be installed by a direct request`;
    case 'strict-repo-priority':
      return `package ${s} is excluded by strict repository priority`;
    default:
      return r.libsolv;
  }
}

function solutionSentence(e: NativeSolutionElement, ctx: ExplainContext): string {
  switch (e.kind) {
    case 'deljob':
      return e.job !== undefined ? `drop the request "${ctx.job(e.job)}"` : 'drop a request';
    case 'erase':
      return `remove installed ${ctx.nevra(e.p ?? 0)} (allow erasing)`;
    case 'replace':
      return `replace installed ${ctx.nevra(e.p ?? 0)} with ${ctx.nevra(e.rp ?? 0)}`;
    case 'allow': {
      const x = ctx.pkg(e.rp ?? 0);
      switch (e.why) {
        case 'distupgrade':
          return `keep ${x} although it is not in the upgrade repositories`;
        case 'infarch':
          return `install ${x} despite its inferior architecture`;
        case 'best':
          return `${ctx.installed(e.rp ?? 0) ? 'keep' : 'install'} ${x} although it is not the best candidate`;
        default:
          return e.libsolv;
      }
    }
    default:
      return e.libsolv;
  }
}

/** libsolv's problem (its rules and solutions, by id) as sentences. */
export function explain(p: NativeProblem, ctx: ExplainContext): Problem {
  const sentences = p.rules.map((r) => ruleSentence(r, ctx));
  const summary = sentences[0] ?? 'the request cannot be satisfied';
  const details = [...new Set(sentences.slice(1))].filter((d) => d !== summary).sort();
  const solutions = p.solutions.map((els) => els.map((e) => solutionSentence(e, ctx)).join(', and '));
  return { summary, details, solutions };
}
