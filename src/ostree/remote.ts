/**
 * Remotes: `[remote "NAME"]` groups in the repository config (the peer tool's key names), plus the
 * per-remote OpenPGP keyring `NAME.trustedkeys.gpg` in the repository root.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FedostreeError, NotFoundError, UsageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { KeyFile } from './keyfile.ts';
import { OstreeRepo } from './repo.ts';
import { gpgImportKeys } from './sign-gpg.ts';
import { readKeysFile } from './sign-ed25519.ts';
import type { VerifyPolicy } from './sign.ts';

export interface RemoteConfig {
  name: string;
  url: string;
  /** OpenPGP verification of commits (the peer tool's default is true). */
  gpgVerify: boolean;
  gpgVerifySummary: boolean;
  /** ed25519 verification of commits. */
  signVerify: boolean;
  signVerifySummary: boolean;
  /** Trusted ed25519 public keys (inline key and key file). */
  ed25519Keys: string[];
  /** Default branches (`branches=a;b;`). */
  branches: string[];
  /** Every key of the group, raw. */
  options: Record<string, string>;
}

function validateRemoteName(name: string): void {
  if (!/^[\w\d][-._\w\d]*$/.test(name)) throw new UsageError(`invalid remote name '${name}'`);
}

function groupName(name: string): string {
  return `remote "${name}"`;
}

/** Path of a remote's OpenPGP keyring. */
export function remoteKeyringPath(repo: OstreeRepo, name: string): string {
  return join(repo.path, `${name}.trustedkeys.gpg`);
}

async function saveConfig(repo: OstreeRepo, text: string): Promise<OstreeRepo> {
  KeyFile.parse(text, join(repo.path, 'config'));
  await writeFileAtomic(join(repo.path, 'config'), text, { tmpDir: repo.tmpDir });
  return OstreeRepo.open(repo.path);
}

/** Remote names, in config order. */
export function listRemotes(repo: OstreeRepo): string[] {
  return repo.config.groups().flatMap((g) => {
    const m = /^remote "(.+)"$/.exec(g);
    return m ? [m[1]] : [];
  });
}

function parseBool(v: string | undefined, def: boolean): boolean {
  if (v === undefined) return def;
  return v === 'true' || v === '1' || v === 'yes';
}

/** A remote's configuration (throws NotFoundError naming the repo if absent). */
export async function getRemote(repo: OstreeRepo, name: string): Promise<RemoteConfig> {
  if (!listRemotes(repo).includes(name)) throw new NotFoundError(`${repo.path}: remote '${name}' not found`, { remote: name });
  const text = await readFile(join(repo.path, 'config'), 'utf8');
  const options: Record<string, string> = {};
  let inGroup = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    const g = /^\[(.+)\]$/.exec(t);
    if (g) {
      inGroup = g[1] === groupName(name);
      continue;
    }
    if (!inGroup || t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq > 0) options[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  const url = options.url;
  if (!url) throw new FedostreeError('ECONFIG', `${repo.path}/config: remote '${name}' has no url`);
  const ed25519Keys: string[] = [];
  if (options['verification-ed25519-key']) ed25519Keys.push(options['verification-ed25519-key']);
  if (options['verification-ed25519-file']) ed25519Keys.push(...(await readKeysFile(options['verification-ed25519-file'])));
  return {
    name, url, options, ed25519Keys,
    gpgVerify: parseBool(options['gpg-verify'], true),
    gpgVerifySummary: parseBool(options['gpg-verify-summary'], false),
    signVerify: parseBool(options['sign-verify'], false),
    signVerifySummary: parseBool(options['sign-verify-summary'], false),
    branches: (options.branches ?? '').split(';').filter(Boolean),
  };
}

/** The verification policy for commits (or the summary) from a remote. */
export async function remotePolicy(repo: OstreeRepo, remote: RemoteConfig, forSummary = false): Promise<VerifyPolicy> {
  const policy: VerifyPolicy = {};
  if (forSummary ? remote.signVerifySummary : remote.signVerify) {
    if (!remote.ed25519Keys.length) throw new FedostreeError('ECONFIG', `remote '${remote.name}': sign-verify is on but no verification-ed25519-key/-file is set`);
    policy.ed25519Keys = remote.ed25519Keys;
  }
  if (forSummary ? remote.gpgVerifySummary : remote.gpgVerify) {
    const ring = remoteKeyringPath(repo, remote.name);
    try {
      await stat(ring);
    } catch {
      throw new FedostreeError('ECONFIG', `remote '${remote.name}': gpg-verify is on but no keys were imported (${ring} missing; use --gpg-import or --no-gpg-verify)`);
    }
    policy.gpgKeyrings = [ring];
  }
  return policy;
}

export interface AddRemoteOptions {
  /** Extra `key=value` settings (`--set`). */
  set?: Record<string, string>;
  /** Do not fail if it exists. */
  ifNotExists?: boolean;
  /** Write gpg-verify=false. */
  noGpgVerify?: boolean;
  /** OpenPGP key files to import into the remote's keyring. */
  gpgImport?: string[];
  /** `ed25519=inline:KEY` or `ed25519=file:PATH` (sets sign-verify=true). */
  signVerify?: string[];
}

/** Add a remote (atomic config rewrite). Returns the reopened repository. */
export async function addRemote(repo: OstreeRepo, name: string, url: string, options: AddRemoteOptions = {}): Promise<OstreeRepo> {
  validateRemoteName(name);
  if (!/^(https?|file):\/\//.test(url)) throw new UsageError(`remote '${name}': url '${url}' must start with http://, https:// or file://`);
  if (listRemotes(repo).includes(name)) {
    if (options.ifNotExists) return repo;
    throw new UsageError(`remote '${name}' already exists in ${repo.path}`);
  }
  const kv: Array<[string, string]> = [['url', url]];
  if (options.noGpgVerify) kv.push(['gpg-verify', 'false']);
  for (const sv of options.signVerify ?? []) {
    const m = /^ed25519=(inline|file):(.+)$/.exec(sv);
    if (!m) throw new UsageError(`--sign-verify '${sv}': expected ed25519=inline:KEY or ed25519=file:PATH`);
    kv.push(['sign-verify', 'true'], [m[1] === 'inline' ? 'verification-ed25519-key' : 'verification-ed25519-file', m[2]]);
  }
  for (const [k, v] of Object.entries(options.set ?? {})) kv.push([k, v]);
  const seen = new Map<string, string>();
  for (const [k, v] of kv) seen.set(k, v);
  let text = await readFile(join(repo.path, 'config'), 'utf8');
  if (!text.endsWith('\n')) text += '\n';
  text += `\n[${groupName(name)}]\n` + [...seen].map(([k, v]) => `${k}=${v}\n`).join('');
  if (options.gpgImport?.length) await gpgImportKeys(remoteKeyringPath(repo, name), options.gpgImport);
  return saveConfig(repo, text);
}

/** Delete a remote and its keyring (atomic config rewrite). */
export async function deleteRemote(repo: OstreeRepo, name: string, options: { ifExists?: boolean } = {}): Promise<OstreeRepo> {
  if (!listRemotes(repo).includes(name)) {
    if (options.ifExists) return repo;
    throw new NotFoundError(`${repo.path}: remote '${name}' not found`, { remote: name });
  }
  const lines = (await readFile(join(repo.path, 'config'), 'utf8')).split('\n');
  const out: string[] = [];
  let skipping = false;
  for (const line of lines) {
    const g = /^\s*\[(.+)\]\s*$/.exec(line);
    if (g) skipping = g[1] === groupName(name);
    if (!skipping) out.push(line);
  }
  while (out.length > 1 && out[out.length - 1] === '' && out[out.length - 2] === '') out.pop();
  const next = await saveConfig(repo, out.join('\n'));
  await rm(remoteKeyringPath(repo, name), { force: true });
  await rm(join(repo.path, 'tmp/cache/summaries', name), { force: true });
  await rm(join(repo.path, 'tmp/cache/summaries', `${name}.sig`), { force: true });
  return next;
}

/** Import OpenPGP keys for an existing remote. */
export async function remoteGpgImport(repo: OstreeRepo, name: string, keyFiles: string[]): Promise<void> {
  await getRemote(repo, name);
  await gpgImportKeys(remoteKeyringPath(repo, name), keyFiles);
}
