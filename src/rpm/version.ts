import { DepFlag } from './tags.ts';

/**
 * RPM version comparison, with rpm's exact semantics:
 * - versions split into segments of ASCII letters or ASCII digits; anything else separates;
 * - `~` sorts before everything (even the end of the string): 1.0~rc1 < 1.0;
 * - `^` sorts after the end of the string but before any other segment: 1.0 < 1.0^git1 < 1.0.1;
 * - a numeric segment beats an alphabetic one; numbers compare without leading zeros;
 * - when all segments tie, the string with characters left over is newer, unless the only
 *   difference is in the separators (then they are equal).
 */

/** Result of a comparison. */
export type Cmp = -1 | 0 | 1;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const TILDE = 0x7e;
const CARET = 0x5e;

/**
 * Compare two version (or release) strings like rpm's rpmvercmp.
 *
 * ```ts
 * rpmvercmp('1.0~rc1', '1.0') // -1
 * rpmvercmp('1.0^git1', '1.0') // 1
 * ```
 */
export function rpmvercmp(a: string, b: string): Cmp {
  if (a === b) return 0;
  // Like C strings, stop at a NUL. Non-ASCII characters are separators, as their UTF-8 bytes are
  // in rpm, so working on UTF-16 code units gives the same answers without encoding.
  const za = a.indexOf('\0');
  const zb = b.indexOf('\0');
  const x = za < 0 ? a : a.slice(0, za);
  const y = zb < 0 ? b : b.slice(0, zb);
  const nx = x.length;
  const ny = y.length;
  let i = 0;
  let j = 0;

  while (i < nx || j < ny) {
    while (i < nx && isSep(x.charCodeAt(i))) i++;
    while (j < ny && isSep(y.charCodeAt(j))) j++;
    const ci = i < nx ? x.charCodeAt(i) : 0;
    const cj = j < ny ? y.charCodeAt(j) : 0;

    if (ci === TILDE || cj === TILDE) {
      if (ci !== TILDE) return 1;
      if (cj !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ci === CARET || cj === CARET) {
      if (i >= nx) return -1;
      if (j >= ny) return 1;
      if (ci !== CARET) return 1;
      if (cj !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < nx && j < ny)) break;

    let ei = i;
    let ej = j;
    const numeric = isDigit(ci);
    if (numeric) {
      while (ei < nx && isDigit(x.charCodeAt(ei))) ei++;
      while (ej < ny && isDigit(y.charCodeAt(ej))) ej++;
    } else {
      while (ei < nx && isAlpha(x.charCodeAt(ei))) ei++;
      while (ej < ny && isAlpha(y.charCodeAt(ej))) ej++;
    }
    if (ej === j) return numeric ? 1 : -1;

    let si = i;
    let sj = j;
    if (numeric) {
      while (si < ei && x.charCodeAt(si) === 0x30) si++;
      while (sj < ej && y.charCodeAt(sj) === 0x30) sj++;
      const li = ei - si;
      const lj = ej - sj;
      if (li > lj) return 1;
      if (lj > li) return -1;
    }
    // bytewise comparison of the two segments (ASCII letters or digits only)
    const la = ei - si;
    const lb = ej - sj;
    const n = la < lb ? la : lb;
    for (let k = 0; k < n; k++) {
      const d = x.charCodeAt(si + k) - y.charCodeAt(sj + k);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    if (la !== lb) return la < lb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= nx && j >= ny) return 0;
  return i >= nx ? -1 : 1;
}

function isSep(c: number): boolean {
  return !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
}

/** An [epoch:]version[-release] triple. `epoch` undefined means "not given". */
export interface EVR {
  epoch?: number | string | undefined;
  version: string;
  release?: string | undefined;
}

/**
 * Split `[epoch:]version[-release]` like rpm: the epoch is the leading digits before a `:`
 * (an empty epoch before `:` means 0), the release is whatever follows the last `-`.
 */
export function parseEVR(s: string): EVR {
  let k = 0;
  while (k < s.length && isDigit(s.charCodeAt(k))) k++;
  const dash = s.lastIndexOf('-');
  const se = dash >= k ? dash : -1;
  let epoch: string | undefined;
  let vstart = 0;
  if (s[k] === ':') {
    epoch = k === 0 ? '0' : s.slice(0, k);
    vstart = k + 1;
  }
  const out: EVR = { version: se >= 0 ? s.slice(vstart, se) : s.slice(vstart) };
  if (epoch !== undefined) out.epoch = epoch;
  if (se >= 0) out.release = s.slice(se + 1);
  return out;
}

/** Format an EVR the way rpm prints it (`1:2.0-3`, epoch omitted when not given). */
export function formatEVR(e: EVR): string {
  const ep = e.epoch === undefined || e.epoch === '' ? '' : `${e.epoch}:`;
  return `${ep}${e.version}${e.release !== undefined && e.release !== '' ? `-${e.release}` : ''}`;
}

const epochStr = (e: EVR['epoch']): string | undefined => (e === undefined || e === '' ? undefined : String(e));
/** rpm's atol(): leading digits, 0 if none. */
const atol = (s: string): number => {
  const m = /^\s*[+-]?\d+/.exec(s);
  return m ? Number(m[0]) : 0;
};

/** Compare epochs the way rpm does when ranges are matched (a missing epoch equals 0). */
function compareEpoch(a: EVR['epoch'], b: EVR['epoch']): Cmp {
  const ea = epochStr(a);
  const eb = epochStr(b);
  if (ea !== undefined && eb !== undefined) return rpmvercmp(ea, eb);
  if (ea !== undefined && atol(ea) > 0) return 1;
  if (eb !== undefined && atol(eb) > 0) return -1;
  return 0;
}

/**
 * Compare two EVRs: epoch (missing = 0), then version, then release — the release only when
 * both sides have one (a missing release matches any, as in dependency matching).
 */
export function compareEVR(a: EVR, b: EVR): Cmp {
  const e = compareEpoch(a.epoch, b.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release && b.release) return rpmvercmp(a.release, b.release);
  return 0;
}

/**
 * Total order for installed packages (rpm's rpmverCmp): epoch (missing = 0), version, then
 * release where a missing release sorts before any release.
 */
export function comparePackageEVR(a: EVR, b: EVR): Cmp {
  const e = rpmvercmp(epochStr(a.epoch) ?? '0', epochStr(b.epoch) ?? '0');
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === undefined && b.release === undefined) return 0;
  if (a.release === undefined) return -1;
  if (b.release === undefined) return 1;
  return rpmvercmp(a.release, b.release);
}

/** A dependency range: sense flags (LESS/GREATER/EQUAL bits of DepFlag) and an EVR (string or parsed). */
export interface Range {
  flags: number;
  evr?: EVR | string | undefined;
}

const toEVR = (e: EVR | string | undefined): EVR | undefined => {
  if (e === undefined) return undefined;
  if (typeof e === 'string') return e === '' ? undefined : parseEVR(e);
  return e.version === '' && epochStr(e.epoch) === undefined ? undefined : e;
};

/**
 * Do two dependency ranges overlap (rpm's rpmdsCompare for same-named dependencies)?
 * A range without sense flags, or without an EVR, is an existence test and overlaps anything.
 */
export function rangesOverlap(a: Range, b: Range): boolean {
  const fa = a.flags & DepFlag.SENSEMASK;
  const fb = b.flags & DepFlag.SENSEMASK;
  if (!fa || !fb) return true;
  const va = toEVR(a.evr);
  const vb = toEVR(b.evr);
  if (!va || !vb) return true;

  let sense: number = compareEpoch(va.epoch, vb.epoch);
  if (sense === 0) {
    sense = rpmvercmp(va.version, vb.version);
    if (sense === 0) {
      if (va.release && vb.release) {
        sense = rpmvercmp(va.release, vb.release);
      } else if ((va.release && fb & DepFlag.EQUAL) || (vb.release && fa & DepFlag.EQUAL)) {
        return true;
      }
    }
  }
  if (sense < 0) return !!(fa & DepFlag.GREATER || fb & DepFlag.LESS);
  if (sense > 0) return !!(fa & DepFlag.LESS || fb & DepFlag.GREATER);
  return !!((fa & DepFlag.EQUAL && fb & DepFlag.EQUAL) || (fa & DepFlag.LESS && fb & DepFlag.LESS) || (fa & DepFlag.GREATER && fb & DepFlag.GREATER));
}
