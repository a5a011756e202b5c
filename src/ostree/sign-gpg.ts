/**
 * OpenPGP signatures by running the real `gpg` (signing, key generation, import) and `gpgv`
 * (verification against a keyring file). Writing an OpenPGP implementation is out of scope and
 * risky; gpg is what the peer tool links against, so signatures are exactly what it expects.
 * Every call uses an explicit `--homedir` (a temporary one when only a keyring is needed).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FedostreeError, UsageError } from '../util/errors.ts';

export const GPG_SIG_KEY = 'ostree.gpgsigs';

interface RunResult { code: number; stdout: Buffer; stderr: string }

function run(cmd: string, args: string[], input?: Uint8Array): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new FedostreeError('EGPG', `running ${cmd}: ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fgpg-'));
  try {
    return await fn(dir);
  } finally {
    await run('gpgconf', ['--homedir', dir, '--kill', 'all']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-2).join('; ');
}

/** Make a detached binary OpenPGP signature of `data` with `keyId` from the keyring in `homedir`. */
export async function gpgSign(data: Uint8Array, keyId: string, homedir: string): Promise<Buffer> {
  try {
    await stat(homedir);
  } catch {
    throw new UsageError(`--gpg-homedir ${homedir}: no such directory`);
  }
  const r = await run('gpg', ['--homedir', homedir, '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--local-user', keyId, '--detach-sign', '--output', '-'], data);
  if (r.code !== 0 || r.stdout.length === 0) throw new FedostreeError('EGPG', `gpg signing with key ${keyId} (homedir ${homedir}) failed: ${lastLines(r.stderr)}`);
  return r.stdout;
}

/** Generate an unprotected signing key in `homedir` (created if needed); returns its fingerprint. */
export async function gpgGenerateKey(homedir: string, userId: string): Promise<string> {
  const { mkdir, chmod } = await import('node:fs/promises');
  await mkdir(homedir, { recursive: true });
  await chmod(homedir, 0o700);
  const r = await run('gpg', ['--homedir', homedir, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--quick-gen-key', userId, 'ed25519', 'sign', 'never']);
  if (r.code !== 0) throw new FedostreeError('EGPG', `gpg key generation in ${homedir} failed: ${lastLines(r.stderr)}`);
  const list = await run('gpg', ['--homedir', homedir, '--batch', '--with-colons', '--list-secret-keys', userId]);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(list.stdout.toString());
  if (!fpr) throw new FedostreeError('EGPG', `gpg key generation in ${homedir}: no fingerprint listed`);
  return fpr[1];
}

/** Export the public key `keyId` from `homedir` (binary, or ASCII armour). */
export async function gpgExportKey(homedir: string, keyId: string, armor = false): Promise<Buffer> {
  const r = await run('gpg', ['--homedir', homedir, '--batch', ...(armor ? ['--armor'] : []), '--export', keyId]);
  if (r.code !== 0 || r.stdout.length === 0) throw new FedostreeError('EGPG', `gpg export of key ${keyId} from ${homedir} failed: ${lastLines(r.stderr) || 'no such key'}`);
  return r.stdout;
}

/** Import key files (binary or armoured) into the keyring file `keyring` (created if needed). */
export async function gpgImportKeys(keyring: string, keyFiles: string[]): Promise<void> {
  await withTmp(async (home) => {
    for (const f of keyFiles) {
      const r = await run('gpg', ['--homedir', home, '--batch', '--no-default-keyring', '--keyring', keyring, '--import', f]);
      if (r.code !== 0) throw new FedostreeError('EGPG', `importing GPG key ${f} into ${keyring} failed: ${lastLines(r.stderr)}`);
    }
  });
}

export interface GpgVerifyResult {
  /** Fingerprints (or key IDs) of good signatures. */
  good: string[];
  /** Number of signatures that were not good (bad, unknown key, expired...). */
  bad: number;
}

/** Verify detached signatures of `data` against keyring files with `gpgv`. */
export async function gpgVerify(data: Uint8Array, signatures: Uint8Array[], keyrings: string[]): Promise<GpgVerifyResult> {
  const result: GpgVerifyResult = { good: [], bad: 0 };
  if (!signatures.length) return result;
  if (!keyrings.length) {
    result.bad = signatures.length;
    return result;
  }
  await withTmp(async (home) => {
    const dataPath = join(home, 'data');
    await writeFile(dataPath, data);
    for (let i = 0; i < signatures.length; i++) {
      const sigPath = join(home, `sig${i}`);
      await writeFile(sigPath, signatures[i]);
      const args = ['--homedir', home, '--status-fd', '1'];
      for (const k of keyrings) args.push('--keyring', k);
      const r = await run('gpgv', [...args, sigPath, dataPath]);
      const status = r.stdout.toString();
      const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]+)/m.exec(status);
      if (r.code === 0 && valid && /^\[GNUPG:\] GOODSIG /m.test(status)) result.good.push(valid[1]);
      else result.bad++;
    }
  });
  return result;
}

/** Read a file given on the command line (key files), naming it in the error. */
export async function readUserFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`${what} ${path}: ${(err as Error).message}`);
  }
}
