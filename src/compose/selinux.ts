/**
 * SELinux labels from a tree's own policy (`file_contexts`), for `selinux: true`. Lookup order
 * follows the label library: regular-expression entries in file order, then exact paths in file
 * order, searched from the last to the first; the first whose file type fits wins.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Xattr } from '../ostree/index.ts';
import { FormatError } from '../util/errors.ts';

const S_IFMT = 0o170000;
const TYPES: Record<string, number> = {
  '--': 0o100000, '-d': 0o040000, '-l': 0o120000, '-c': 0o020000, '-b': 0o060000, '-s': 0o140000, '-p': 0o010000,
};

interface Spec {
  re: RegExp;
  type: number | undefined;
  /** undefined for `<<none>>` (no label). */
  context: string | undefined;
}

/** A compiled file_contexts: `label(path, mode)` gives the context or undefined. */
export interface FileContexts {
  label(path: string, mode: number): string | undefined;
  size: number;
}

/** Parse file_contexts text. Pure. */
export function parseFileContexts(text: string, what: string): FileContexts {
  const regex: Spec[] = [];
  const exact: Spec[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    if (f.length < 2 || f.length > 3) throw new FormatError(`${what}: line ${i + 1}: expected 'REGEX [TYPE] CONTEXT'`);
    const type = f.length === 3 ? TYPES[f[1]] : undefined;
    if (f.length === 3 && type === undefined) throw new FormatError(`${what}: line ${i + 1}: unknown file type '${f[1]}'`);
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${f[0]})$`);
    } catch (err) {
      throw new FormatError(`${what}: line ${i + 1}: bad regular expression '${f[0]}': ${(err as Error).message}`);
    }
    const spec = { re, type, context: f[f.length - 1] === '<<none>>' ? undefined : f[f.length - 1] };
    (/[.^$?*+|[({\\]/.test(f[0]) ? regex : exact).push(spec);
  });
  const all = [...regex, ...exact];
  return {
    size: all.length,
    label(path: string, mode: number): string | undefined {
      for (let i = all.length - 1; i >= 0; i--) {
        const s = all[i];
        if (s.type !== undefined && s.type !== (mode & S_IFMT)) continue;
        if (s.re.test(path)) return s.context;
      }
      return undefined;
    },
  };
}

/** The tree's path as deployed (`/usr/etc/x` is labelled as `/etc/x`). */
export function deployedPath(rel: string): string {
  if (rel === '/usr/etc') return '/etc';
  if (rel.startsWith('/usr/etc/')) return rel.slice(4);
  return rel;
}

/**
 * Load the policy of the tree at `root` (after /etc moved to /usr/etc): SELINUXTYPE from
 * selinux/config, then contexts/files/file_contexts. Returns undefined when the tree has no policy.
 */
export async function loadTreeLabeler(root: string): Promise<((rel: string, mode: number) => Xattr[]) | undefined> {
  const etc = join(root, 'usr/etc/selinux');
  const cfg = await readFile(join(etc, 'config'), 'utf8').catch(() => undefined);
  const type = cfg ? /^SELINUXTYPE=(\S+)/m.exec(cfg)?.[1] : undefined;
  if (!type || type.includes('/')) return undefined;
  const path = join(etc, type, 'contexts/files/file_contexts');
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fc = parseFileContexts(text, `/etc/selinux/${type}/contexts/files/file_contexts`);
  const name = Buffer.from('security.selinux');
  return (rel, mode) => {
    const ctx = fc.label(deployedPath(rel), mode);
    return ctx ? [[name, Buffer.from(`${ctx}\0`)]] : [];
  };
}
