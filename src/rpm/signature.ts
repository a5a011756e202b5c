import { FormatError } from '../util/errors.ts';

/** What an OpenPGP signature packet in a package's signature header says (not whether it is valid). */
export interface SignatureInfo {
  /** OpenPGP signature packet version (3 or 4). */
  version: number;
  /** Public-key algorithm: RSA, DSA, ECDSA, EdDSA or a number. */
  pubkeyAlgo: string;
  /** Hash algorithm: SHA256, SHA1, … */
  hashAlgo: string;
  /** Creation time (seconds since the epoch). */
  created: number | undefined;
  /** Issuer key id, 16 lowercase hex digits (the last 8 bytes of the fingerprint for v4). */
  keyId: string | undefined;
}

const PUBKEY: Record<number, string> = { 1: 'RSA', 2: 'RSA', 3: 'RSA', 17: 'DSA', 19: 'ECDSA', 22: 'EdDSA' };
const HASH: Record<number, string> = { 1: 'MD5', 2: 'SHA1', 3: 'RIPEMD160', 8: 'SHA256', 9: 'SHA384', 10: 'SHA512', 11: 'SHA224' };

/** Parse one OpenPGP signature packet (as stored in RSAHEADER/DSAHEADER/SIGPGP/SIGGPG). Pure. */
export function parseSignature(pkt: Buffer, what: string): SignatureInfo {
  const bad = (why: string): never => {
    throw new FormatError(`${what}: bad OpenPGP signature: ${why}`);
  };
  if (pkt.length < 2) bad('too short');
  const ctb = pkt[0];
  if ((ctb & 0x80) === 0) bad('not a packet');
  let tag: number;
  let p = 1;
  let len: number;
  if (ctb & 0x40) {
    tag = ctb & 0x3f;
    const l0 = pkt[p++] ?? bad('truncated length');
    if (l0 < 192) len = l0;
    else if (l0 < 224) len = ((l0 - 192) << 8) + (pkt[p++] ?? bad('truncated length')) + 192;
    else if (l0 === 255) {
      if (p + 4 > pkt.length) bad('truncated length');
      len = pkt.readUInt32BE(p);
      p += 4;
    } else return bad('partial body lengths are not allowed');
  } else {
    tag = (ctb >> 2) & 0xf;
    const lt = ctb & 3;
    const n = lt === 0 ? 1 : lt === 1 ? 2 : lt === 2 ? 4 : bad('indeterminate length');
    if (p + n > pkt.length) bad('truncated length');
    len = pkt.readUIntBE(p, n);
    p += n;
  }
  if (tag !== 2) bad(`packet tag ${tag} is not a signature`);
  if (p + len > pkt.length) bad(`packet length ${len} runs past the ${pkt.length}-byte tag`);
  const body = pkt.subarray(p, p + len);
  const version = body[0] ?? bad('empty packet');
  if (version === 3) {
    if (body.length < 19 || body[1] !== 5) bad('short v3 packet');
    return {
      version,
      created: body.readUInt32BE(3),
      keyId: body.subarray(7, 15).toString('hex'),
      pubkeyAlgo: PUBKEY[body[15]] ?? String(body[15]),
      hashAlgo: HASH[body[16]] ?? String(body[16]),
    };
  }
  if (version !== 4) bad(`unsupported packet version ${version}`);
  if (body.length < 6) bad('short v4 packet');
  const info: SignatureInfo = { version, pubkeyAlgo: PUBKEY[body[2]] ?? String(body[2]), hashAlgo: HASH[body[3]] ?? String(body[3]), created: undefined, keyId: undefined };
  let q = 4;
  for (let area = 0; area < 2; area++) {
    if (q + 2 > body.length) bad('truncated subpacket area');
    const areaLen = body.readUInt16BE(q);
    q += 2;
    const end = q + areaLen;
    if (end > body.length) bad('subpacket area runs past the packet');
    while (q < end) {
      const l0 = body[q++];
      let sl: number;
      if (l0 < 192) sl = l0;
      else if (l0 < 255) {
        if (q >= end) bad('truncated subpacket length');
        sl = ((l0 - 192) << 8) + body[q++] + 192;
      } else {
        if (q + 4 > end) bad('truncated subpacket length');
        sl = body.readUInt32BE(q);
        q += 4;
      }
      if (sl < 1 || q + sl > end) bad('subpacket runs past its area');
      const type = body[q] & 0x7f;
      const data = body.subarray(q + 1, q + sl);
      if (type === 2 && data.length === 4) info.created ??= data.readUInt32BE(0);
      if (type === 16 && data.length === 8) info.keyId ??= data.toString('hex');
      if (type === 33 && data.length >= 9) info.keyId ??= data.subarray(data.length - 8).toString('hex');
      q += sl;
    }
  }
  return info;
}
