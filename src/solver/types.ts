/** A repository from rpm-md metadata (primary.xml, optionally filelists.xml; .gz/.xz/.zst allowed). */
export interface RepoSource {
  id: string;
  primary: string;
  filelists?: string;
  /** Lower wins, like dnf (default 99). */
  priority?: number;
  /** Lower wins among repos of equal priority, like dnf (default 1000). */
  cost?: number;
  /** Globs of package names that are never used from this repo. */
  excludeNames?: string[];
}

/** A package given directly (tests, testcases, the installed set read from a tree's rpmdb). */
export interface PackageSpec {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch: string;
  /** Dependencies in rpm syntax, rich deps included: "foo >= 1.2-3", "(a or b)". */
  provides?: string[];
  requires?: string[];
  /** Requires(pre) and friends. */
  prerequires?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
  /** Files; they act as file provides. */
  files?: string[];
  vendor?: string;
  buildtime?: number;
  summary?: string;
  location?: string;
  checksum?: { type: string; value: string };
  downloadSize?: number;
}

/** A package in a result. */
export interface SolvedPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  /** name-[epoch:]version-release.arch, epoch only when non-zero. */
  nevra: string;
  /** The repository id it comes from. */
  repo: string;
  location?: string;
  checksum?: { type: string; value: string };
  downloadSize?: number;
}

/** Which packages a low-level job applies to. `pkg` and `oneOf` take "nevra@repo". */
export type Selector =
  | { name: string }
  | { provides: string }
  | { pkg: string }
  | { oneOf: string[] }
  | { repo: string }
  | { all: true };

/** libsolv job kinds for low-level jobs. */
export type JobHow =
  | 'noop' | 'install' | 'erase' | 'update' | 'weakendeps' | 'multiversion' | 'lock' | 'distupgrade' | 'verify'
  | 'droporphaned' | 'userinstalled' | 'allowuninstall' | 'favor' | 'disfavor' | 'excludefromweak';

/** libsolv job flags for low-level jobs. */
export type JobFlag =
  | 'weak' | 'essential' | 'cleandeps' | 'orupdate' | 'forcebest' | 'targeted' | 'notbyuser'
  | 'setev' | 'setevr' | 'setarch' | 'setvendor' | 'setrepo' | 'noautoset';

/**
 * A request. `spec` is a name, a provide ("foo >= 1"), a NEVRA, a glob or a file path.
 * The third form is the low-level one (libsolv's job kinds and selections), used by the testcase runner.
 */
export type Job =
  | { op: 'install' | 'erase' | 'update' | 'lock' | 'exclude' | 'favor' | 'disfavor'; spec: string; weak?: boolean }
  | { op: 'distupgrade' | 'update-all' | 'verify' }
  | { op: JobHow; select: Selector; flags?: JobFlag[] };

/** Solver options. The named ones follow dnf; `libsolv` sets any libsolv solver flag by its name. */
export interface SolveFlags {
  /** Only the best candidates (dnf best=True). */
  best?: boolean;
  /** Allow removing installed packages to resolve problems (dnf --allowerasing). */
  allowErasing?: boolean;
  /** Also remove dependencies no longer needed by erased packages (dnf clean_requirements_on_remove). */
  cleanDeps?: boolean;
  /** Do not pull in Recommends/Supplements (dnf install_weak_deps=False). */
  noWeakDeps?: boolean;
  allowDowngrade?: boolean;
  /** Start from dnf's solver defaults (default) or from plain libsolv defaults. */
  defaults?: 'dnf' | 'libsolv';
  /** Raw libsolv solver flags by name (allowuninstall, keeporphans, dupallowdowngrade, yumobsoletes, ...). */
  libsolv?: Record<string, boolean>;
}

export interface Transaction {
  install: SolvedPackage[];
  /** [installed, new] */
  upgrade: Array<[SolvedPackage, SolvedPackage]>;
  /** [installed, new] */
  downgrade: Array<[SolvedPackage, SolvedPackage]>;
  erase: SolvedPackage[];
  reinstall: SolvedPackage[];
  /** [installed, the package that obsoletes it] */
  obsoleted: Array<[SolvedPackage, SolvedPackage]>;
}

export interface Problem {
  /** A sentence a user acts on, e.g. "nothing provides libfoo.so.1()(64bit) needed by bar-1.0-1.x86_64". */
  summary: string;
  /** Further rules involved in the problem, as sentences. */
  details: string[];
  /** Ways out, as sentences. */
  solutions?: string[];
}

/** One classified transaction step, as libsolv reports it (type: install, erase, upgrade, ...). */
export interface Step {
  type: string;
  pkg: SolvedPackage;
  /** For installed packages: the package replacing it. */
  by?: SolvedPackage;
}

/** Extra outputs beside the transaction: weak deps not taken, cleandeps, all steps. */
export interface SolveDetail {
  steps: Step[];
  recommended: SolvedPackage[];
  suggested: SolvedPackage[];
  cleandeps: SolvedPackage[];
}

export type SolveResult =
  | { ok: true; transaction: Transaction; detail: SolveDetail }
  | { ok: false; problems: Problem[]; detail: SolveDetail };
