/**
 * Boot Loader Specification entries (`boot/loader.N/entries/ostree-K-OS.conf`) and kernel
 * argument lists. Pure: text in, values out.
 */
import { FormatError } from '../util/errors.ts';

/** One BLS entry: ordered `key value` lines. */
export interface BlsEntry {
  title: string;
  version: string;
  options: string;
  linux: string;
  initrd?: string;
  devicetree?: string;
  /** Other keys, kept in order. */
  extra: Array<[string, string]>;
}

/** Parse a BLS entry; `what` names the file in errors. */
export function parseBls(text: string, what: string): BlsEntry {
  const map = new Map<string, string>();
  const extra: Array<[string, string]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m;
    if (['title', 'version', 'options', 'linux', 'initrd', 'devicetree'].includes(key)) map.set(key, value);
    else extra.push([key, value]);
  }
  const version = map.get('version');
  const options = map.get('options');
  if (version === undefined) throw new FormatError(`${what}: BLS entry has no 'version' line`);
  if (options === undefined) throw new FormatError(`${what}: BLS entry has no 'options' line`);
  return {
    title: map.get('title') ?? '', version, options, linux: map.get('linux') ?? '',
    initrd: map.get('initrd'), devicetree: map.get('devicetree'), extra,
  };
}

/** Serialise in the key order the reference tool writes. */
export function formatBls(e: BlsEntry): string {
  let s = `title ${e.title}\nversion ${e.version}\noptions ${e.options}\nlinux ${e.linux}\n`;
  if (e.initrd !== undefined) s += `initrd ${e.initrd}\n`;
  if (e.devicetree !== undefined) s += `devicetree ${e.devicetree}\n`;
  for (const [k, v] of e.extra) s += `${k} ${v}\n`;
  return s;
}

/** Split a kernel command line into arguments (double quotes group spaces). */
export function splitKargs(cmdline: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of cmdline) {
    if (ch === '"') {
      quoted = !quoted;
      cur += ch;
      any = true;
    } else if (/\s/.test(ch) && !quoted) {
      if (any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

/** The key of a karg (`root=LABEL=x` → `root`). */
export function kargKey(arg: string): string {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/** The value of the first `key=` argument, or undefined. */
export function kargValue(args: readonly string[], key: string): string | undefined {
  for (const a of args) if (kargKey(a) === key) return a.slice(key.length + 1);
  return undefined;
}

/** Kernel arguments without the `ostree=` one (which the deploy code sets itself). */
export function userKargs(args: readonly string[]): string[] {
  return args.filter((a) => kargKey(a) !== 'ostree');
}

export interface KargEdit {
  /** `--append KEY=VALUE` */
  append?: string[];
  /** `--delete KEY` or `KEY=VALUE` */
  delete?: string[];
  /** `--replace KEY=VALUE` (all values of KEY) or `KEY=OLD=NEW` */
  replace?: string[];
}

/** Apply edits like `rpm-ostree kargs`; deleting something absent is an error naming it. */
export function editKargs(args: readonly string[], edit: KargEdit): string[] {
  let out = [...args];
  for (const d of edit.delete ?? []) {
    const before = out.length;
    out = d.includes('=') ? out.filter((a) => a !== d) : out.filter((a) => kargKey(a) !== d);
    if (out.length === before) throw new FormatError(`kernel argument '${d}' is not set, cannot delete it`);
  }
  for (const r of edit.replace ?? []) {
    const key = kargKey(r);
    const rest = r.slice(key.length + 1);
    const second = rest.indexOf('=');
    if (second >= 0 && out.includes(`${key}=${rest.slice(0, second)}`)) {
      const old = `${key}=${rest.slice(0, second)}`;
      out = out.map((a) => (a === old ? `${key}=${rest.slice(second + 1)}` : a));
      continue;
    }
    if (!out.some((a) => kargKey(a) === key)) throw new FormatError(`kernel argument '${key}' is not set, cannot replace it`);
    let done = false;
    out = out.flatMap((a) => {
      if (kargKey(a) !== key) return [a];
      if (done) return [];
      done = true;
      return [r];
    });
  }
  for (const a of edit.append ?? []) out.push(a);
  return out;
}
