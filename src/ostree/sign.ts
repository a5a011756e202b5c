/**
 * Signing and verifying commits (signatures in the detached `.commitmeta`) and summaries
 * (`summary.sig`), with ed25519 (sign-ed25519.ts) and OpenPGP (sign-gpg.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, serialize } from '../gvariant/index.ts';
import { FormatError, IntegrityError, NotFoundError, UsageError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { decodeVardict, encodeVardict, type MetaEntry } from './objects.ts';
import type { OstreeRepo } from './repo.ts';
import { ED25519_SIG_KEY, ed25519Sign, ed25519Verify } from './sign-ed25519.ts';
import { GPG_SIG_KEY, gpgSign, gpgVerify } from './sign-gpg.ts';

export interface SignOptions {
  /** ed25519 secret keys (base64). */
  ed25519Secrets?: string[];
  /** OpenPGP key IDs to sign with, from `gpgHomedir`. */
  gpgKeyIds?: string[];
  gpgHomedir?: string;
}

/** What a verifier trusts. A kind with no keys configured is not checked. */
export interface VerifyPolicy {
  /** Trusted ed25519 public keys (base64); when set, one valid ed25519 signature is required. */
  ed25519Keys?: string[];
  /** Keyring files for OpenPGP; when set, one good OpenPGP signature is required. */
  gpgKeyrings?: string[];
}

export interface VerifyResult {
  ed25519: string[];
  gpg: string[];
}

/** Signatures (`aay`) stored under `key` in an `a{sv}`. */
function sigsOf(entries: MetaEntry[], key: string, what: string): Uint8Array[] {
  const e = entries.find((x) => x.key === key);
  if (!e) return [];
  if (e.type !== 'aay') throw new FormatError(`${what}: ${key} has type '${e.type}', expected 'aay'`);
  return parse('aay', e.data) as Uint8Array[];
}

function withSigs(entries: MetaEntry[], key: string, add: Uint8Array[]): MetaEntry[] {
  if (!add.length) return entries;
  const existing = sigsOf(entries, key, key);
  const data = serialize('aay', [...existing, ...add]);
  const out = entries.filter((e) => e.key !== key);
  const idx = entries.findIndex((e) => e.key === key);
  const entry = { key, type: 'aay', data };
  if (idx >= 0) out.splice(idx, 0, entry);
  else out.push(entry);
  return out;
}

async function makeSigs(data: Uint8Array, o: SignOptions): Promise<{ ed: Buffer[]; gpg: Buffer[] }> {
  const ed = (o.ed25519Secrets ?? []).map((k) => ed25519Sign(data, k));
  const gpg: Buffer[] = [];
  for (const id of o.gpgKeyIds ?? []) {
    if (!o.gpgHomedir) throw new UsageError('--gpg-homedir is required with --gpg-sign');
    gpg.push(await gpgSign(data, id, o.gpgHomedir));
  }
  if (!ed.length && !gpg.length) throw new UsageError('no signing key given (ed25519 secret key or --gpg-sign)');
  return { ed, gpg };
}

/** Add signatures of a commit to its detached metadata (appends, like the peer tool). */
export async function signCommit(repo: OstreeRepo, commit: string, options: SignOptions): Promise<void> {
  const bytes = await repo.loadMetadata('commit', commit);
  const { ed, gpg } = await makeSigs(bytes, options);
  const old = await repo.readCommitMeta(commit);
  let entries = old ? decodeVardict(old, `commitmeta ${commit}`) : [];
  entries = withSigs(entries, ED25519_SIG_KEY, ed);
  entries = withSigs(entries, GPG_SIG_KEY, gpg);
  await repo.writeCommitMeta(commit, encodeVardict(entries));
}

/**
 * Check signatures over `data` held in the `a{sv}` `sigBytes` against `policy`. Throws
 * IntegrityError naming `what` if a configured kind has no valid signature.
 */
export async function verifySignatures(data: Uint8Array, sigBytes: Uint8Array | null, policy: VerifyPolicy, what: string): Promise<VerifyResult> {
  const entries = sigBytes ? decodeVardict(sigBytes, `${what}: signatures`) : [];
  const result: VerifyResult = { ed25519: [], gpg: [] };
  if (policy.ed25519Keys?.length) {
    const sigs = sigsOf(entries, ED25519_SIG_KEY, what);
    for (const key of policy.ed25519Keys) {
      if (sigs.some((s) => ed25519Verify(data, s, key))) result.ed25519.push(key);
    }
    if (!result.ed25519.length) {
      throw new IntegrityError(sigs.length
        ? `${what}: ed25519: none of ${sigs.length} signature(s) verifies with the trusted key(s)`
        : `${what}: ed25519: no signature found`, { what });
    }
  }
  if (policy.gpgKeyrings?.length) {
    const sigs = sigsOf(entries, GPG_SIG_KEY, what);
    if (!sigs.length) throw new IntegrityError(`${what}: GPG: no signatures found`, { what });
    const r = await gpgVerify(data, sigs, policy.gpgKeyrings);
    if (!r.good.length) throw new IntegrityError(`${what}: GPG: none of ${sigs.length} signature(s) is good with the trusted keyring`, { what });
    result.gpg = r.good;
  }
  return result;
}

/** Verify a local commit's detached signatures. */
export async function verifyCommit(repo: OstreeRepo, commit: string, policy: VerifyPolicy): Promise<VerifyResult> {
  const bytes = await repo.loadMetadata('commit', commit);
  return verifySignatures(bytes, await repo.readCommitMeta(commit), policy, `commit ${commit}`);
}

/** Sign the repository's `summary`, writing `summary.sig` atomically. */
export async function signSummary(repo: OstreeRepo, options: SignOptions): Promise<void> {
  let summary: Buffer;
  try {
    summary = await readFile(join(repo.path, 'summary'));
  } catch {
    throw new NotFoundError(`${repo.path}: no summary to sign (run 'repo summary -u' first)`);
  }
  const { ed, gpg } = await makeSigs(summary, options);
  let entries: MetaEntry[] = [];
  entries = withSigs(entries, GPG_SIG_KEY, gpg);
  entries = withSigs(entries, ED25519_SIG_KEY, ed);
  await writeFileAtomic(join(repo.path, 'summary.sig'), encodeVardict(entries), { tmpDir: repo.tmpDir });
}
