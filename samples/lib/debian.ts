/**
 * Pure mapping from Debian package metadata to RPM metadata: control stanzas, versions,
 * and dependency fields (alternatives become rich `or` dependencies, `>>`/`<<` become `>`/`<`).
 * No I/O here, so it is unit-tested directly (samples/lib/debian.test.ts).
 */
import { FormatError } from '../../src/util/errors.ts';

/** One parsed control stanza: field names as written (case kept), continuation lines joined with '\n'. */
export type Control = Map<string, string>;

/** Parse a deb822 control stanza (the output of `dpkg-deb -f` or DEBIAN/control). */
export function parseControl(text: string, what = 'control'): Control {
  const out: Control = new Map();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) throw new FormatError(`${what}: continuation line before any field: ${JSON.stringify(line)}`);
      out.set(last, `${out.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new FormatError(`${what}: not a field line: ${JSON.stringify(line)}`);
    last = line.slice(0, colon);
    out.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

/** An RPM epoch/version/release triple. */
export interface Evr {
  epoch: number;
  version: string;
  release: string;
}

const UPSTREAM_RE = /^[0-9][A-Za-z0-9.+~-]*$/;

/**
 * Debian `[epoch:]upstream[-revision]` → RPM EVR. Hyphens left in the upstream part become `_`
 * (RPM versions cannot hold `-`); a missing revision becomes release `0`.
 */
export function debVersionToEvr(v: string): Evr {
  let rest = v.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const e = rest.slice(0, colon);
    if (!/^[0-9]+$/.test(e)) throw new FormatError(`Debian version ${JSON.stringify(v)}: bad epoch`);
    epoch = Number(e);
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '0';
  if (!UPSTREAM_RE.test(upstream) || !/^[A-Za-z0-9.+~]+$/.test(revision)) {
    throw new FormatError(`Debian version ${JSON.stringify(v)}: not a valid version`);
  }
  return { epoch, version: upstream.replaceAll('-', '_'), release: revision };
}

/** `E:V-R` with the epoch left out when zero, as in RPM dependency strings. */
export function formatEvr(evr: Evr): string {
  return `${evr.epoch ? `${evr.epoch}:` : ''}${evr.version}-${evr.release}`;
}

const OPS: Record<string, string> = { '<<': '<', '<=': '<=', '=': '=', '>=': '>=', '>>': '>', '<': '<=', '>': '>=' };

/** One Debian relation: `name[:arch] [(op version)]`. */
export interface Relation {
  name: string;
  op?: string;
  version?: string;
}

/** Parse one relation; `:any`/`:native` qualifiers are dropped (single-arch repositories). */
export function parseRelation(text: string, what = 'relation'): Relation {
  const m = /^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^\s)]+)\s*\))?$/.exec(text.trim());
  if (!m) throw new FormatError(`${what}: cannot parse Debian relation ${JSON.stringify(text)}`);
  return m[2] ? { name: m[1], op: m[2], version: m[3] } : { name: m[1] };
}

/** A Debian relation as an RPM dependency: `name`, or `name OP [E:]V[-R]`. */
export function relationToRpm(rel: Relation): string {
  if (!rel.op || !rel.version) return rel.name;
  const evr = debVersionToEvr(rel.version);
  const op = OPS[rel.op];
  // A Debian version without a revision has an empty revision, below every real one: `>> 2.36` holds
  // for 2.36-9. RPM without -R compares the version only, which is right for >=, << and =; for > and
  // <= the release must take part, and release 0 (what a revision-less version maps to) stands in.
  const hasRevision = rel.version.includes('-');
  const release = hasRevision ? `-${evr.release}` : op === '>' || op === '<=' ? '-0' : '';
  return `${rel.name} ${op} ${evr.epoch ? `${evr.epoch}:` : ''}${evr.version}${release}`;
}

/**
 * A Depends-style field (`a (>= 1) | b, c`) → RPM dependency strings, one per comma group;
 * alternatives become a rich dependency `(a >= 1 or b)`.
 */
export function dependsToRpm(field: string | undefined, what = 'Depends'): string[] {
  if (!field) return [];
  const out: string[] = [];
  for (const group of field.replace(/\n/g, ' ').split(',')) {
    if (group.trim() === '') continue;
    const alts = group.split('|').map((a) => relationToRpm(parseRelation(a, what)));
    const uniq = [...new Set(alts)];
    out.push(uniq.length === 1 ? uniq[0] : `(${uniq.join(' or ')})`);
  }
  return out;
}

/** Debian architecture → RPM architecture. */
export function debArchToRpm(arch: string): string {
  if (arch === 'amd64') return 'x86_64';
  if (arch === 'all') return 'noarch';
  throw new FormatError(`unsupported Debian architecture ${JSON.stringify(arch)} (only amd64 and all)`);
}

/** The RPM metadata a Debian control stanza maps to (dependency fields already converted). */
export interface RpmMeta {
  name: string;
  evr: Evr;
  arch: string;
  summary: string;
  description: string;
  url?: string;
  requires: string[];
  requiresPre: string[];
  provides: string[];
  conflicts: string[];
  recommends: string[];
  suggests: string[];
  enhances: string[];
}

/** Map a whole control stanza; `what` names the .deb in error messages. */
export function controlToRpm(c: Control, what: string): RpmMeta {
  const need = (k: string): string => {
    const v = c.get(k);
    if (!v) throw new FormatError(`${what}: control field ${k} missing`);
    return v;
  };
  const name = need('Package');
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) throw new FormatError(`${what}: bad package name ${JSON.stringify(name)}`);
  const [summary, ...body] = need('Description').split('\n');
  const description = body.map((l) => (l.trim() === '.' ? '' : l)).join('\n').trim() || summary;
  const f = (k: string): string[] => dependsToRpm(c.get(k), `${what}: ${k}`);
  return {
    name,
    evr: debVersionToEvr(need('Version')),
    arch: debArchToRpm(need('Architecture')),
    summary: summary.trim() || name,
    description,
    url: c.get('Homepage'),
    requires: f('Depends'),
    requiresPre: f('Pre-Depends'),
    // Provides are never alternatives; an unversioned provide stays unversioned.
    provides: f('Provides'),
    conflicts: [...f('Conflicts'), ...f('Breaks')].filter((d) => !d.startsWith('(')),
    recommends: f('Recommends'),
    suggests: f('Suggests'),
    enhances: f('Enhances'),
  };
}
