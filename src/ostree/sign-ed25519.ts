/**
 * Ed25519 signatures as OSTree stores them: plain RFC 8032 signatures over the exact bytes of a
 * commit object or summary file. Keys are base64: public = 32 bytes, secret = seed || public (64 bytes)
 * or the bare 32-byte seed. Uses node:crypto (no libsodium).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FedostreeError, FormatError } from '../util/errors.ts';

export const ED25519_SIG_KEY = 'ostree.sign.ed25519';
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function b64(s: string, what: string): Buffer {
  const t = s.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) throw new FormatError(`${what}: not base64`);
  return Buffer.from(t, 'base64');
}

/** A secret key from base64 (64-byte libsodium layout or a 32-byte seed). */
export function ed25519SecretKey(base64: string): { key: KeyObject; publicKey: Buffer } {
  const raw = b64(base64, 'ed25519 secret key');
  if (raw.length !== 64 && raw.length !== 32) throw new FormatError(`ed25519 secret key: ${raw.length} bytes, expected 64 (seed and public key) or 32`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  if (raw.length === 64 && !publicKey.equals(raw.subarray(32))) throw new FormatError('ed25519 secret key: its public half does not match its seed');
  return { key, publicKey };
}

/** A public key from base64 (32 bytes). */
export function ed25519PublicKey(base64: string): KeyObject {
  const raw = b64(base64, 'ed25519 public key');
  if (raw.length !== 32) throw new FormatError(`ed25519 public key: ${raw.length} bytes, expected 32`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Sign `data` with a base64 secret key; returns the 64-byte signature. */
export function ed25519Sign(data: Uint8Array, secretBase64: string): Buffer {
  return sign(null, data, ed25519SecretKey(secretBase64).key);
}

/** True if `sig` is a valid signature of `data` by the base64 public key. */
export function ed25519Verify(data: Uint8Array, sig: Uint8Array, publicBase64: string): boolean {
  if (sig.length !== 64) return false;
  return verify(null, data, ed25519PublicKey(publicBase64), sig);
}

/** A new key pair, base64 in OSTree's layout. */
export function ed25519Generate(): { publicKey: string; secretKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { publicKey: pub.toString('base64'), secretKey: Buffer.concat([seed, pub]).toString('base64') };
}

/** Read a keys file: one base64 key per line, `#` comments and blank lines ignored. */
export async function readKeysFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FedostreeError('EIO', `reading keys file ${path}: ${(err as Error).message}`);
  }
  const keys = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!keys.length) throw new FormatError(`keys file ${path}: no keys`);
  return keys;
}
