import { FormatError, NotFoundError } from '../../util/errors.ts';
import { child, childText, childrenNamed, localName, parseXml, type XmlElement } from './xml.ts';

export const PACKAGEREQ_TYPES = ['mandatory', 'default', 'optional', 'conditional'] as const;
export type PackageReqType = (typeof PACKAGEREQ_TYPES)[number];

/** One `<packagereq>` of a group. */
export interface PackageReq {
  name: string;
  type: PackageReqType;
  /** For conditional packages: install `name` only if this package is in the set. */
  requires?: string;
  basearchonly?: boolean;
}

/** A comps group. */
export interface CompsGroup {
  id: string;
  name: string;
  description: string;
  default: boolean;
  uservisible: boolean;
  packages: PackageReq[];
}

/** A comps environment: mandatory groups plus optional ones. */
export interface CompsEnvironment {
  id: string;
  name: string;
  description: string;
  groups: string[];
  optionalGroups: string[];
}

export interface Comps {
  groups: CompsGroup[];
  environments: CompsEnvironment[];
}

function untranslated(el: XmlElement, name: string): string | undefined {
  const plain = el.children.find((c) => localName(c.name) === name && c.attrs['xml:lang'] === undefined);
  return plain?.text.trim() ?? childText(el, name);
}

function boolText(s: string | undefined, dflt: boolean, what: string): boolean {
  if (s === undefined || s === '') return dflt;
  const v = s.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new FormatError(`${what}: '${s}' is not true or false`);
}

/** Parse comps XML (the repository's `group` metadata). `what` names the repository in errors. */
export function parseComps(text: string, what: string): Comps {
  const root = parseXml(text, what);
  if (localName(root.name) !== 'comps') throw new FormatError(`${what}: root element is <${root.name}>, expected <comps>`);
  const groups: CompsGroup[] = [];
  for (const g of childrenNamed(root, 'group')) {
    const id = childText(g, 'id');
    if (!id) throw new FormatError(`${what}: <group> without <id>`);
    const w = `${what}: group ${id}`;
    const packages: PackageReq[] = [];
    const list = child(g, 'packagelist');
    for (const p of list ? childrenNamed(list, 'packagereq') : []) {
      const name = p.text.trim();
      if (!name) throw new FormatError(`${w}: empty <packagereq>`);
      const t = (p.attrs.type ?? 'mandatory').toLowerCase();
      if (!(PACKAGEREQ_TYPES as readonly string[]).includes(t)) throw new FormatError(`${w}: packagereq ${name}: unknown type '${p.attrs.type}'`);
      const req: PackageReq = { name, type: t as PackageReqType };
      if (p.attrs.requires) req.requires = p.attrs.requires.trim();
      if (t === 'conditional' && !req.requires) throw new FormatError(`${w}: conditional packagereq ${name} without requires`);
      if (p.attrs.basearchonly !== undefined) req.basearchonly = boolText(p.attrs.basearchonly, false, `${w}: ${name} basearchonly`);
      packages.push(req);
    }
    groups.push({
      id,
      name: untranslated(g, 'name') ?? id,
      description: untranslated(g, 'description') ?? '',
      default: boolText(childText(g, 'default'), false, `${w}: default`),
      uservisible: boolText(childText(g, 'uservisible'), true, `${w}: uservisible`),
      packages,
    });
  }
  const environments: CompsEnvironment[] = [];
  for (const e of childrenNamed(root, 'environment')) {
    const id = childText(e, 'id');
    if (!id) throw new FormatError(`${what}: <environment> without <id>`);
    const ids = (tag: string): string[] => {
      const l = child(e, tag);
      return (l ? childrenNamed(l, 'groupid') : []).map((x) => x.text.trim()).filter((x) => x !== '');
    };
    environments.push({ id, name: untranslated(e, 'name') ?? id, description: untranslated(e, 'description') ?? '', groups: ids('grouplist'), optionalGroups: ids('optionlist') });
  }
  return { groups, environments };
}

/** Merge comps from several repositories: the first definition of a group id wins, package lists are united. */
export function mergeComps(list: Comps[]): Comps {
  const groups = new Map<string, CompsGroup>();
  const envs = new Map<string, CompsEnvironment>();
  for (const c of list) {
    for (const g of c.groups) {
      const have = groups.get(g.id);
      if (!have) groups.set(g.id, { ...g, packages: [...g.packages] });
      else for (const p of g.packages) if (!have.packages.some((q) => q.name === p.name)) have.packages.push(p);
    }
    for (const e of c.environments) if (!envs.has(e.id)) envs.set(e.id, e);
  }
  return { groups: [...groups.values()], environments: [...envs.values()] };
}

/** Find a group by id, or else by name (case-insensitive). */
export function findGroup(comps: Comps, idOrName: string): CompsGroup | undefined {
  return comps.groups.find((g) => g.id === idOrName) ?? comps.groups.find((g) => g.name.toLowerCase() === idOrName.toLowerCase());
}

/** What a list of `@group` / `@^environment` / package arguments asks for. */
export interface ExpandedRequest {
  /** Plain package names or specs to install. */
  packages: string[];
  /** Group member packages (mandatory + default), to install if available. */
  groupPackages: string[];
  /** Conditional packages: install `name` when `requires` ends up in the set. */
  conditionals: Array<{ name: string; requires: string; group: string }>;
  groups: string[];
}

/**
 * Expand command-line arguments: `@id` is a group (mandatory + default members, conditionals kept
 * aside), `@^id` an environment (its mandatory groups), anything else is a package spec.
 * An unknown group is a NotFoundError.
 */
export function expandRequest(args: string[], comps: Comps, opts: { withOptional?: boolean } = {}): ExpandedRequest {
  const out: ExpandedRequest = { packages: [], groupPackages: [], conditionals: [], groups: [] };
  const addGroup = (g: CompsGroup): void => {
    if (out.groups.includes(g.id)) return;
    out.groups.push(g.id);
    for (const p of g.packages) {
      if (p.type === 'mandatory' || p.type === 'default' || (opts.withOptional && p.type === 'optional')) {
        if (!out.groupPackages.includes(p.name)) out.groupPackages.push(p.name);
      } else if (p.type === 'conditional' && p.requires) {
        out.conditionals.push({ name: p.name, requires: p.requires, group: g.id });
      }
    }
  };
  for (const a of args) {
    if (a.startsWith('@^')) {
      const id = a.slice(2);
      const env = comps.environments.find((e) => e.id === id) ?? comps.environments.find((e) => e.name.toLowerCase() === id.toLowerCase());
      if (!env) throw new NotFoundError(`environment '${id}' is not defined by any enabled repository`, { environment: id });
      for (const gid of env.groups) {
        const g = findGroup(comps, gid);
        if (g) addGroup(g);
      }
    } else if (a.startsWith('@')) {
      const id = a.slice(1);
      const g = findGroup(comps, id);
      if (!g) {
        const known = comps.groups.map((x) => x.id).sort();
        const hint = known.length ? ` (known groups: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})` : ' (no enabled repository has comps groups)';
        throw new NotFoundError(`group '${id}' is not defined by any enabled repository${hint}`, { group: id });
      }
      addGroup(g);
    } else {
      out.packages.push(a);
    }
  }
  return out;
}
