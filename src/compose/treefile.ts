/**
 * Treefiles: the typed schema (rpm-ostree's key names and meanings), loading YAML/JSON with
 * `include` inheritance, `${var}` substitution and validation. Parsing and merging are pure; only
 * `loadTreefile` reads files.
 */
import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FedostreeError, withContext } from '../util/errors.ts';

/** A treefile that does not parse or validate; the message names the file and the key. */
export class TreefileError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ETREEFILE', message, data);
    this.name = 'TreefileError';
  }
}

/** `check-passwd` / `check-groups`. */
export interface PasswdCheck {
  type: 'none' | 'previous' | 'file' | 'data';
  filename?: string;
  entries?: Record<string, number | [number, number]>;
}

/** A fully merged treefile. Every key is optional so includes can merge. */
export interface Treefile {
  ref?: string;
  repos?: string[];
  releasever?: string;
  variables?: Record<string, string | number | boolean>;
  packages?: string[];
  'repo-packages'?: Array<{ repo: string; packages: string[] }>;
  'exclude-packages'?: string[];
  recommends?: boolean;
  documentation?: boolean;
  'install-langs'?: string[];
  'boot-location'?: 'modules';
  'initramfs-args'?: string[];
  'machineid-compat'?: boolean;
  'etc-group-members'?: string[];
  'preserve-passwd'?: boolean;
  'check-passwd'?: PasswdCheck;
  'check-groups'?: PasswdCheck;
  units?: string[];
  'default-target'?: string;
  'add-files'?: Array<[string, string]>;
  'remove-files'?: string[];
  'remove-from-packages'?: string[][];
  postprocess?: string[];
  'postprocess-script'?: string;
  'add-commit-metadata'?: Record<string, unknown>;
  'automatic-version-prefix'?: string;
  'mutate-os-release'?: string;
  selinux?: boolean;
  'readonly-executables'?: boolean;
  'tmp-is-dir'?: boolean;
  /** Scriptlets whose failure is only logged: `PKG` (all of its scripts) or `PKG.KIND` (`foo.post`). */
  'ignore-scripts'?: string[];
}

type Kind = 'string' | 'strings' | 'bool' | 'object' | 'pairs' | 'lists' | 'repo-packages' | 'check';

/** Every supported key with its value kind. `packages-$basearch` is handled by pattern. */
export const TREEFILE_KEYS: Readonly<Record<string, Kind>> = {
  ref: 'string',
  include: 'strings',
  repos: 'strings',
  releasever: 'string',
  variables: 'object',
  packages: 'strings',
  'repo-packages': 'repo-packages',
  'exclude-packages': 'strings',
  recommends: 'bool',
  documentation: 'bool',
  'install-langs': 'strings',
  'boot-location': 'string',
  'initramfs-args': 'strings',
  'machineid-compat': 'bool',
  'etc-group-members': 'strings',
  'preserve-passwd': 'bool',
  'check-passwd': 'check',
  'check-groups': 'check',
  units: 'strings',
  'default-target': 'string',
  'add-files': 'pairs',
  'remove-files': 'strings',
  'remove-from-packages': 'lists',
  postprocess: 'strings',
  'postprocess-script': 'string',
  'add-commit-metadata': 'object',
  'automatic-version-prefix': 'string',
  'mutate-os-release': 'string',
  selinux: 'bool',
  'readonly-executables': 'bool',
  'tmp-is-dir': 'bool',
  'ignore-scripts': 'strings',
};

const ARCH_PACKAGES = /^packages-([A-Za-z0-9_]+)$/;

/** Damerau-free Levenshtein distance (small strings). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** The known key closest to `key`. */
export function closestKey(key: string): string {
  let best = '';
  let bestD = Infinity;
  for (const k of Object.keys(TREEFILE_KEYS)) {
    const dd = distance(key.replace(/_/g, '-'), k);
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return best;
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`;
}

/**
 * Check one parsed treefile document (before merging): every key known, every value of the
 * right shape. Returns it as a plain record. Pure.
 */
export function validateTreefileDoc(doc: unknown, file: string): Record<string, unknown> {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new TreefileError(`${file}: a treefile must be a mapping of keys, not ${typeName(doc)}`, { file });
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const bad = (want: string): never => {
      throw new TreefileError(`${file}: key '${key}': expected ${want}, got ${typeName(value)}`, { file, key });
    };
    const kind: Kind | undefined = ARCH_PACKAGES.test(key) ? 'strings' : TREEFILE_KEYS[key];
    if (!kind) {
      throw new TreefileError(`${file}: unknown key '${key}' (did you mean '${closestKey(key)}'?)`, { file, key, suggestion: closestKey(key) });
    }
    const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
    switch (kind) {
      case 'string':
        if (typeof value === 'number' && (key === 'releasever' || key === 'automatic-version-prefix')) out[key] = String(value);
        else if (typeof value !== 'string') bad('a string');
        else out[key] = value;
        if (key === 'boot-location' && value !== 'modules') {
          throw new TreefileError(`${file}: key 'boot-location': only 'modules' is supported, got '${String(value)}'`, { file, key });
        }
        break;
      case 'strings':
        if (key === 'include' && typeof value === 'string') out[key] = [value];
        else if (!isStrings(value)) bad('a list of strings');
        else if (key.startsWith('packages')) out[key] = value.flatMap((s) => s.split(/\s+/).filter((x) => x !== ''));
        else out[key] = value;
        break;
      case 'bool':
        if (typeof value !== 'boolean') bad('true or false');
        out[key] = value;
        break;
      case 'object':
        if (value === null || typeof value !== 'object' || Array.isArray(value)) bad('a mapping');
        if (key === 'variables') {
          for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            if (!['string', 'number', 'boolean'].includes(typeof v)) throw new TreefileError(`${file}: key 'variables': variable '${k}' must be a string, number or boolean`, { file, key });
          }
        }
        out[key] = value;
        break;
      case 'pairs':
        if (!Array.isArray(value) || !value.every((p) => isStrings(p) && p.length === 2)) bad('a list of [source, destination] pairs');
        out[key] = value;
        break;
      case 'lists':
        if (!Array.isArray(value) || !value.every((p) => isStrings(p) && p.length >= 2)) bad('a list of [package, pattern...] lists');
        out[key] = value;
        break;
      case 'repo-packages':
        if (!Array.isArray(value) || !value.every((e) => e !== null && typeof e === 'object' && typeof (e as { repo?: unknown }).repo === 'string' && isStrings((e as { packages?: unknown }).packages))) {
          bad("a list of {repo, packages} mappings");
        }
        out[key] = value;
        break;
      case 'check': {
        const v = value as PasswdCheck;
        if (v === null || typeof v !== 'object' || !['none', 'previous', 'file', 'data'].includes(v.type)) bad("a mapping with type 'none', 'previous', 'file' or 'data'");
        if (v.type === 'file' && typeof v.filename !== 'string') throw new TreefileError(`${file}: key '${key}': type 'file' needs 'filename'`, { file, key });
        out[key] = value;
        break;
      }
    }
  }
  return out;
}

/** Merge a parent (included) treefile with a child: lists concatenate, mappings merge, scalars of the child win. Pure. */
export function mergeTreefiles(parent: Record<string, unknown>, child: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...parent };
  for (const [k, v] of Object.entries(child)) {
    if (k === 'include') continue;
    const p = out[k];
    if (Array.isArray(p) && Array.isArray(v)) out[k] = [...(p as unknown[]), ...(v as unknown[])];
    else if ((k === 'variables' || k === 'add-commit-metadata') && p && typeof p === 'object') out[k] = { ...(p), ...(v as object) };
    else out[k] = v;
  }
  return out;
}

/** Replace `${name}` in `s`; an unknown variable is an error naming the key. Pure. */
export function substitute(s: string, vars: Record<string, string>, where: string): string {
  return s.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new TreefileError(`${where}: unknown variable '\${${name}}' (known: ${Object.keys(vars).sort().join(', ')})`, { variable: name });
    return v;
  });
}

/** Keys whose string values get `${var}` substitution. */
const SUBSTITUTED = ['ref', 'packages', 'automatic-version-prefix', 'mutate-os-release', 'add-commit-metadata', 'exclude-packages', 'repo-packages', 'repos'];

/**
 * Finish a merged treefile for `basearch`: fold `packages-$basearch` into `packages` (other
 * architectures' lists are dropped), substitute variables, remove `include`. Pure.
 */
export function expandTreefile(merged: Record<string, unknown>, basearch: string, file: string): Treefile {
  const vars: Record<string, string> = { basearch };
  if (typeof merged.releasever === 'string') vars.releasever = merged.releasever;
  for (const [k, v] of Object.entries((merged.variables ?? {}) as Record<string, unknown>)) vars[k] = String(v);
  const out: Record<string, unknown> = {};
  const deep = (v: unknown, where: string): unknown => {
    if (typeof v === 'string') return substitute(v, vars, where);
    if (Array.isArray(v)) return v.map((x) => deep(x, where));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x, where)]));
    return v;
  };
  for (const [k, v] of Object.entries(merged)) {
    if (k === 'include') continue;
    const m = ARCH_PACKAGES.exec(k);
    if (m) {
      if (m[1] === basearch) out.packages = [...((out.packages as string[] | undefined) ?? []), ...(v as string[])];
      continue;
    }
    const value = SUBSTITUTED.includes(k) ? deep(v, `${file}: key '${k}'`) : v;
    if (k === 'packages') out.packages = [...((out.packages as string[] | undefined) ?? []), ...(value as string[])];
    else out[k] = value;
  }
  if (out.packages) out.packages = [...new Set(out.packages as string[])];
  return out;
}

/** Parse treefile text (YAML, of which JSON is a subset). Pure. */
export function parseTreefileText(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new TreefileError(`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, { file });
  }
  return validateTreefileDoc(doc, file);
}

/** A loaded treefile: the expanded content plus where its parts came from. */
export interface LoadedTreefile {
  /** Absolute path of the treefile named on the command line. */
  path: string;
  /** Directory of that treefile (repo files, add-files sources, postprocess-script resolve here). */
  dir: string;
  /** Every file read (the treefile and its includes), for the input hash. */
  files: string[];
  treefile: Treefile;
  /** `add-files` sources as absolute paths (resolved against the file that named them). */
  addFiles: Array<{ src: string; dest: string }>;
  /** `postprocess-script` as an absolute path. */
  postprocessScript?: string;
}

/** Read a treefile with its includes (recursively; a loop is an error), merge and expand it. */
export async function loadTreefile(path: string, basearch: string): Promise<LoadedTreefile> {
  const files: string[] = [];
  const addFiles: Array<{ src: string; dest: string }> = [];
  let postprocessScript: string | undefined;
  const load = async (p: string, stack: string[]): Promise<Record<string, unknown>> => {
    const real = await realpath(p).catch((err: unknown) => withContext(stack.length ? `${stack[stack.length - 1]}: include ${p}` : `treefile ${p}`, err));
    if (stack.includes(real)) throw new TreefileError(`include loop: ${[...stack, real].join(' -> ')}`, { file: real });
    const text = await readFile(real, 'utf8').catch((err: unknown) => withContext(`reading treefile ${real}`, err));
    files.push(real);
    const doc = parseTreefileText(text, real);
    let merged: Record<string, unknown> = {};
    for (const inc of (doc.include as string[] | undefined) ?? []) merged = mergeTreefiles(merged, await load(resolve(dirname(real), inc), [...stack, real]));
    for (const [src, dest] of (doc['add-files'] as Array<[string, string]> | undefined) ?? []) addFiles.push({ src: resolve(dirname(real), src), dest });
    if (typeof doc['postprocess-script'] === 'string') postprocessScript = resolve(dirname(real), doc['postprocess-script']);
    return mergeTreefiles(merged, doc);
  };
  const abs = resolve(path);
  const merged = await load(abs, []);
  const treefile = expandTreefile(merged, basearch, abs);
  for (const { dest } of addFiles) {
    const d = dest.replace(/^\/+/, '');
    if (!/^(usr|etc)\//.test(d) || d.split('/').includes('..')) {
      throw new TreefileError(`${abs}: key 'add-files': destination '${dest}' must be under /usr or /etc`, { file: abs, key: 'add-files' });
    }
  }
  return { path: abs, dir: dirname(abs), files, treefile, addFiles, postprocessScript };
}
