import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FedostreeError } from '../util/errors.ts';

/** One job as the addon takes it (see native/solv.cc addJob). */
export interface NativeJob {
  how: string;
  flags?: string[];
  select: 'name' | 'provides' | 'pkg' | 'oneof' | 'repo' | 'all' | 'selection';
  dep?: string;
  id?: number;
  ids?: number[];
  repo?: number;
  text?: string;
  selectionFlags?: string[];
}

export interface NativePackageInput {
  name: string;
  evr: string;
  arch: string;
  vendor?: string;
  buildtime?: number;
  summary?: string;
  location?: string;
  checksumType?: string;
  checksum?: string;
  downloadSize?: number;
  provides?: string[];
  requires?: string[];
  prerequires?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
  files?: string[];
}

export interface NativeRule {
  type: string;
  source: number;
  target: number;
  dep?: string;
  job?: number;
  libsolv: string;
}

export interface NativeSolutionElement {
  kind: 'deljob' | 'erase' | 'replace' | 'allow' | 'unknown';
  job?: number;
  p?: number;
  rp?: number;
  /** For 'allow': which rule the solution relaxes. */
  why?: 'distupgrade' | 'infarch' | 'best' | 'blacklist' | 'other';
  libsolv: string;
}

export interface NativeProblem {
  rules: NativeRule[];
  solutions: NativeSolutionElement[][];
}

export interface NativeSolveResult {
  problems: NativeProblem[];
  steps: Array<[string, number, number]>;
  recommended: number[];
  suggested: number[];
  cleandeps: number[];
  orphaned: number[];
}

export interface NativeDetails {
  location?: string;
  checksumType?: string;
  checksum?: string;
  downloadSize?: number;
}

/** One package as the addon returns it: [id, name, evr, arch, repoName, repoId]. */
export type NativeRow = [number, string, string, string, string, number];

/** The libsolv pool object from native/solv.cc. */
export interface NativePool {
  setPoolFlag(name: string, value: boolean): void;
  addRepo(name: string, priority: number, subpriority: number): number;
  freeRepo(repo: number): void;
  setRepoPriority(repo: number, priority: number, subpriority: number): void;
  loadRpmmd(repo: number, path: string, extend: boolean): void;
  loadSolv(repo: number, path: string): void;
  writeSolv(repo: number, path: string): void;
  addPackages(repo: number, pkgs: NativePackageInput[]): void;
  setInstalled(repo: number | null): void;
  setExcluded(ids: number[]): void;
  /** [id, name, evr, arch, repoName, repoId] for every package in the pool. */
  packages(): Array<NativeRow>;
  /** The rows of the given ids (null where an id is no package), without touching the rest of the pool. */
  rows(ids: number[]): Array<NativeRow | null>;
  /** The rows of one repository's packages. */
  repoRows(repo: number): Array<NativeRow>;
  details(id: number): NativeDetails;
  whatProvides(dep: string): number[];
  select(text: string, flags: string[]): number[];
  evrcmp(a: string, b: string): number;
  solve(jobs: NativeJob[], flags: Record<string, boolean>): NativeSolveResult;
  free(): void;
}

interface NativeModule {
  Pool: new (arch: string) => NativePool;
  version: string;
}

let loaded: NativeModule | undefined;

/** Load native/build/Release/solv.node (built by `npm install` / `npm run build:native`). */
export function native(): NativeModule {
  if (loaded) return loaded;
  const path = fileURLToPath(new URL('../../native/build/Release/solv.node', import.meta.url));
  try {
    loaded = createRequire(import.meta.url)(path) as NativeModule;
  } catch (err) {
    throw new FedostreeError('ENATIVE', `loading the libsolv binding ${path}: ${(err as Error).message} (run 'npm run build:native')`, { path }, { cause: err });
  }
  return loaded;
}
