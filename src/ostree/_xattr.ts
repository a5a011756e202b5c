/**
 * Extended attributes through the `attr` tools (Node has no xattr API): one `getfattr`/`setfattr`
 * process per batch of files, never one per file.
 */
import { spawn } from 'node:child_process';
import { FedostreeError } from '../util/errors.ts';
import type { Xattr } from './objects.ts';

const BATCH = 2000;

function unescape(s: string): Buffer {
  const out: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      out.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else out.push(raw[i]);
  }
  return Buffer.from(out);
}

function escape(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c <= 0x20 || c === 0x5c || c === 0x3d || c >= 0x7f) s += '\\' + c.toString(8).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

function run(cmd: string, args: string[], input?: string): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new FedostreeError('ENOTOOL', `running ${cmd}: ${e.message} (install the Debian package 'attr')`)));
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: err, code: code ?? 1 }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Parse `getfattr -d -e hex --absolute-names` output into path -> xattrs. */
function parseDump(text: string, out: Map<string, Xattr[]>): void {
  let current: Xattr[] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = [];
      out.set(unescape(line.slice(8)).toString('utf8'), current);
    } else if (line === '' || line.startsWith('#')) {
      continue;
    } else if (current) {
      const eq = line.indexOf('=');
      const name = unescape(eq < 0 ? line : line.slice(0, eq));
      let v = eq < 0 ? '' : line.slice(eq + 1);
      if (v.startsWith('0x')) v = v.slice(2);
      else if (v === '""') v = '';
      current.push([name, Buffer.from(v, 'hex')]);
    }
  }
}

/** All xattrs of every file under `dir` (recursive, symlinks not followed); files without xattrs are absent. */
export async function dumpXattrsRecursive(dir: string): Promise<Map<string, Xattr[]>> {
  const res = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir]);
  const out = new Map<string, Xattr[]>();
  parseDump(res.stdout.toString('utf8'), out);
  return out;
}

/** xattrs of the given paths (one `getfattr` per batch); `name` restricts to one attribute. */
export async function getXattrs(paths: string[], name?: string): Promise<Map<string, Xattr[]>> {
  const out = new Map<string, Xattr[]>();
  for (let i = 0; i < paths.length; i += BATCH) {
    const chunk = paths.slice(i, i + BATCH);
    const args = ['-h', '-e', 'hex', '--absolute-names', ...(name ? ['-n', name] : ['-d', '-m', '-']), '--', ...chunk];
    const res = await run('getfattr', args);
    parseDump(res.stdout.toString('utf8'), out);
  }
  return out;
}

/** Set xattrs on many files with one `setfattr --restore` per batch. Paths must be absolute. */
export async function setXattrs(entries: Array<{ path: string; xattrs: Xattr[] }>): Promise<void> {
  for (let i = 0; i < entries.length; i += BATCH) {
    const chunk = entries.slice(i, i + BATCH).filter((e) => e.xattrs.length > 0);
    if (chunk.length === 0) continue;
    let text = '';
    for (const e of chunk) {
      text += `# file: ${escape(Buffer.from(e.path))}\n`;
      for (const [n, v] of e.xattrs) text += `${escape(n)}=0x${v.toString('hex')}\n`;
      text += '\n';
    }
    const res = await run('setfattr', ['-h', '--restore=-'], text);
    if (res.code !== 0) {
      throw new FedostreeError('EXATTR', `setting extended attributes: ${res.stderr.trim().split('\n')[0] ?? 'setfattr failed'}`, { path: chunk[0].path });
    }
  }
}
