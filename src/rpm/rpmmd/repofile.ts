import { FormatError } from '../../util/errors.ts';

/** One repository as configured in a `.repo` file (or given as a bare URL). */
export interface RepoConfig {
  id: string;
  name: string;
  /** Base URLs, tried in order (several may be given, separated by spaces, commas or new lines). */
  baseurls: string[];
  /** URL of a plain list of base URLs, one per line. */
  mirrorlist?: string;
  /** URL of a metalink document listing base URLs and the expected repomd.xml checksums. */
  metalink?: string;
  enabled: boolean;
  gpgcheck: boolean;
  /** Lower wins, as with the package manager (default 99). */
  priority: number;
  /** Lower is preferred among equal candidates (default 1000). */
  cost: number;
  /** Package-name globs hidden from this repository. */
  excludepkgs: string[];
  /** If non-empty, only these package-name globs are visible. */
  includepkgs: string[];
  /** Where it was defined, for error messages. */
  source: string;
}

/** Variables substituted in `.repo` values (`$releasever`, `$basearch`, `${arch}` …). */
export type RepoVars = Record<string, string>;

/** An INI document: sections in order, each with its keys (lower-cased) in order. */
export interface IniSection {
  name: string;
  line: number;
  values: Map<string, { value: string; line: number }>;
}

/**
 * Parse INI text the way the package manager's config parser does: `[section]` headers,
 * `key = value` or `key: value`, `#`/`;` comment lines, indented lines continue the previous value.
 */
export function parseIni(text: string, file: string): IniSection[] {
  const sections: IniSection[] = [];
  let cur: IniSection | undefined;
  let lastKey: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let ln = 0; ln < lines.length; ln++) {
    const raw = lines[ln];
    const line = raw.trim();
    if (line === '' ) { lastKey = undefined; continue; }
    if (line.startsWith('#') || line.startsWith(';')) continue;
    if (/^\s/.test(raw) && cur && lastKey !== undefined) {
      const entry = cur.values.get(lastKey)!;
      entry.value = entry.value === '' ? line : `${entry.value}\n${line}`;
      continue;
    }
    const sec = /^\[([^\]]*)\]$/.exec(line);
    if (sec) {
      const name = sec[1].trim();
      if (name === '') throw new FormatError(`${file}:${ln + 1}: empty section name`);
      if (sections.some((s) => s.name === name)) throw new FormatError(`${file}:${ln + 1}: section [${name}] defined twice`);
      cur = { name, line: ln + 1, values: new Map() };
      sections.push(cur);
      lastKey = undefined;
      continue;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv) throw new FormatError(`${file}:${ln + 1}: expected 'key = value' or '[section]', got '${line}'`);
    if (!cur) throw new FormatError(`${file}:${ln + 1}: key '${kv[1]}' outside any [section]`);
    lastKey = kv[1].toLowerCase();
    cur.values.set(lastKey, { value: kv[2], line: ln + 1 });
  }
  return sections;
}

/** Replace `$name` and `${name}` by their values; unknown variables are left as written. */
export function substituteVars(value: string, vars: RepoVars): string {
  return value.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, a: string | undefined, b: string | undefined) => {
    const v = vars[(a ?? b)!];
    return v === undefined ? whole : v;
  });
}

function parseBool(v: string, where: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off'].includes(s)) return false;
  throw new FormatError(`${where}: '${v}' is not a boolean (use 1/0, yes/no, true/false)`);
}

function parseIntValue(v: string, where: string): number {
  if (!/^\s*-?\d+\s*$/.test(v)) throw new FormatError(`${where}: '${v}' is not an integer`);
  return Number(v);
}

/** Split a list value on white space and commas. */
export function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter((s) => s !== '');
}

const REPO_ID_RE = /^[A-Za-z0-9_.:-]+$/;

/**
 * Parse a `.repo` file into repository configurations with variables substituted.
 * A `[main]` section is ignored. A repo needs at least one of baseurl, mirrorlist or metalink.
 */
export function parseRepoFile(text: string, file: string, vars: RepoVars = {}): RepoConfig[] {
  const repos: RepoConfig[] = [];
  for (const sec of parseIni(text, file)) {
    if (sec.name === 'main') continue;
    const where = (key: string): string => `${file}:${sec.values.get(key)?.line ?? sec.line}: [${sec.name}] ${key}`;
    if (!REPO_ID_RE.test(sec.name)) throw new FormatError(`${file}:${sec.line}: bad repository id '${sec.name}' (letters, digits and -_.: only)`);
    const get = (key: string): string | undefined => {
      const e = sec.values.get(key);
      return e === undefined ? undefined : substituteVars(e.value, vars).trim();
    };
    const baseurls = splitList(get('baseurl') ?? '');
    const mirrorlist = get('mirrorlist') || undefined;
    const metalink = get('metalink') || undefined;
    if (baseurls.length === 0 && !mirrorlist && !metalink) {
      throw new FormatError(`${file}:${sec.line}: repository [${sec.name}] has no baseurl, mirrorlist or metalink`);
    }
    for (const u of [...baseurls, mirrorlist, metalink]) {
      if (u !== undefined && !/^(file|https?):\/\//.test(u) && !u.startsWith('/')) {
        throw new FormatError(`${file}:${sec.line}: repository [${sec.name}]: unsupported URL '${u}' (file://, http:// or https://)`);
      }
    }
    const bool = (key: string, dflt: boolean): boolean => {
      const v = get(key);
      return v === undefined || v === '' ? dflt : parseBool(v, where(key));
    };
    const int = (key: string, dflt: number): number => {
      const v = get(key);
      return v === undefined || v === '' ? dflt : parseIntValue(v, where(key));
    };
    const priority = int('priority', 99);
    if (priority < 1) throw new FormatError(`${where('priority')}: must be at least 1`);
    repos.push({
      id: sec.name,
      name: get('name') ?? sec.name,
      baseurls: baseurls.map(normaliseUrl),
      mirrorlist: mirrorlist && normaliseUrl(mirrorlist),
      metalink: metalink && normaliseUrl(metalink),
      enabled: bool('enabled', true),
      gpgcheck: bool('gpgcheck', false),
      priority,
      cost: int('cost', 1000),
      excludepkgs: [...splitList(get('excludepkgs') ?? ''), ...splitList(get('exclude') ?? '')],
      includepkgs: splitList(get('includepkgs') ?? ''),
      source: file,
    });
  }
  return repos;
}

/** A bare path becomes a file:// URL; base URLs always end in '/'. */
export function normaliseUrl(u: string): string {
  const url = u.startsWith('/') ? `file://${u}` : u;
  return url;
}

/** A repository given on the command line as a URL (`--repo URL`), with a stable id derived from it. */
export function repoFromUrl(url: string, index: number): RepoConfig {
  const u = normaliseUrl(url);
  if (!/^(file|https?):\/\//.test(u)) throw new FormatError(`--repo ${url}: unsupported URL (file://, http://, https:// or an absolute path)`);
  return {
    id: `repo${index}`,
    name: u,
    baseurls: [u],
    enabled: true,
    gpgcheck: false,
    priority: 99,
    cost: 1000,
    excludepkgs: [],
    includepkgs: [],
    source: '--repo',
  };
}

/** Parse a mirrorlist document: one URL per line, `#` comments and blank lines ignored. */
export function parseMirrorlist(text: string, what: string): string[] {
  const urls = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const u of urls) {
    if (!/^(file|https?):\/\//.test(u)) throw new FormatError(`${what}: '${u}' is not a file, http or https URL`);
  }
  if (urls.length === 0) throw new FormatError(`${what}: no URLs in mirror list`);
  return urls;
}
