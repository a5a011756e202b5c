import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { Pool } from 'undici';
import { FedostreeError, IntegrityError, NotFoundError } from '../../util/errors.ts';
import { fsyncDir, tempPathFor } from '../../util/atomic.ts';
import type { Checksum } from './repomd.ts';

/** What a downloaded file must be. */
export interface Expected {
  checksum?: Checksum;
  size?: number;
}

export interface FetchToFileOptions {
  /** Names the download in errors, e.g. "repo fedora: repodata/…-primary.xml.gz". */
  what: string;
  expected?: Expected;
  /** Keep a partial file on failure and continue it next time (HTTP Range). */
  resume?: boolean;
  /** Called with the number of new bytes as they arrive. */
  onBytes?: (n: number) => void;
  /** Refuse more than this many bytes (defaults to the expected size, else 4 GiB). */
  maxBytes?: number;
}

/** A transfer failed for a reason worth trying another mirror for (network, HTTP status). */
export class FetchError extends FedostreeError {
  readonly status?: number;
  constructor(message: string, data: { url: string; status?: number }) {
    super('EFETCH', message, data);
    this.name = 'FetchError';
    this.status = data.status;
  }
}

const MAX_REDIRECTS = 5;

/**
 * Fetches `file://`, `http://` and `https://` URLs. HTTP goes through one keep-alive connection
 * pool per origin; bodies are streamed to disk and hashed on the way, never buffered whole.
 */
export class Fetcher {
  private readonly pools = new Map<string, Pool>();
  private readonly connections: number;
  private readonly timeoutMs: number;

  constructor(opts: { connections?: number; timeoutMs?: number } = {}) {
    this.connections = opts.connections ?? 4;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private async pool(origin: string): Promise<Pool> {
    let p = this.pools.get(origin);
    if (!p) {
      // Loaded on first HTTP use: local (file://) repositories do not pay for the HTTP client.
      const { Pool } = await import('undici');
      p = this.pools.get(origin);
      if (p) return p;
      p = new Pool(origin, { connections: this.connections, keepAliveTimeout: 10_000, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Close all HTTP connections. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  /**
   * Open a URL for reading from byte `offset`. Resolves to the body stream and whether the
   * server honoured the offset (for file:// always).
   */
  private async open(url: string, offset: number, what: string): Promise<{ body: Readable; partial: boolean; length?: number }> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new FetchError(`${what}: bad URL '${url}'`, { url });
    }
    if (u.protocol === 'file:') {
      const path = fileURLToPath(u);
      let st;
      try {
        st = await stat(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new NotFoundError(`${what}: ${url} does not exist`, { url });
        throw new FetchError(`${what}: cannot read ${url}: ${(err as Error).message}`, { url });
      }
      if (!st.isFile()) throw new FetchError(`${what}: ${url} is not a regular file`, { url });
      return { body: createReadStream(path, { start: Math.min(offset, st.size) }), partial: true, length: st.size - Math.min(offset, st.size) };
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FetchError(`${what}: unsupported URL scheme in '${url}'`, { url });
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'fedostree/0.1', accept: '*/*' };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      let res;
      try {
        res = await (await this.pool(u.origin)).request({ path: u.pathname + u.search, method: 'GET', headers });
      } catch (err) {
        throw new FetchError(`${what}: fetching ${u.href}: ${(err as Error).message}`, { url: u.href });
      }
      const status = res.statusCode;
      if ([301, 302, 303, 307, 308].includes(status)) {
        await res.body.dump();
        const loc = res.headers.location;
        if (typeof loc !== 'string' || hop >= MAX_REDIRECTS) throw new FetchError(`${what}: too many or bad redirects from ${url}`, { url, status });
        u = new URL(loc, u);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FetchError(`${what}: redirect to unsupported URL '${u.href}'`, { url });
        continue;
      }
      if (status === 416 && offset > 0) {
        await res.body.dump();
        // Our partial file is at least as long as the resource: start over.
        return this.open(u.href, 0, what);
      }
      if (status !== 200 && status !== 206) {
        await res.body.dump();
        if (status === 404 || status === 410) throw new NotFoundError(`${what}: HTTP ${status} from ${u.href}`, { url: u.href, status });
        throw new FetchError(`${what}: HTTP ${status} from ${u.href}`, { url: u.href, status });
      }
      const len = res.headers['content-length'];
      const length = typeof len === 'string' && /^\d+$/.test(len) ? Number(len) : undefined;
      return { body: res.body, partial: status === 206, length };
    }
  }

  /** Fetch a small document (repomd.xml, mirror list, metalink) as text, at most `maxBytes`. */
  async fetchText(url: string, what: string, maxBytes = 16 << 20): Promise<{ text: string; sha256: string }> {
    const { body } = await this.open(url, 0, what);
    const chunks: Buffer[] = [];
    let n = 0;
    const hash = createHash('sha256');
    try {
      for await (const c of body as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > maxBytes) throw new IntegrityError(`${what}: ${url} is larger than ${maxBytes} bytes`, { url });
        chunks.push(c);
        hash.update(c);
      }
    } catch (err) {
      body.destroy();
      if (err instanceof FedostreeError) throw err;
      throw new FetchError(`${what}: reading ${url}: ${(err as Error).message}`, { url });
    }
    return { text: Buffer.concat(chunks).toString('utf8'), sha256: hash.digest('hex') };
  }

  /**
   * Download `url` to `dest`, verifying size and checksum while streaming. The file appears at
   * `dest` only when complete and verified (temp file, fsync, rename). With `resume`, a partial
   * `dest.part` from an earlier attempt is continued with an HTTP Range request.
   */
  async fetchToFile(url: string, dest: string, opts: FetchToFileOptions): Promise<void> {
    const { what, expected = {} } = opts;
    await mkdir(dirname(dest), { recursive: true });
    const part = opts.resume ? `${dest}.part` : tempPathFor(dest);
    const maxBytes = opts.maxBytes ?? expected.size ?? 4 * 1024 ** 3;
    let offset = 0;
    if (opts.resume) {
      const st = await stat(part).catch(() => undefined);
      if (st?.isFile() && st.size > 0 && (expected.size === undefined || st.size < expected.size)) offset = st.size;
      else if (st) await unlink(part).catch(() => undefined);
    }
    const hash = createHash(expected.checksum?.type ?? 'sha256');
    const { body, partial } = await this.open(url, offset, what);
    if (offset > 0 && partial) {
      // Hash what we already have, then append.
      for await (const c of createReadStream(part) as AsyncIterable<Buffer>) hash.update(c);
    } else {
      offset = 0;
    }
    const fh = await open(part, offset > 0 ? 'a' : 'w', 0o644);
    let n = offset;
    let ok = false;
    try {
      try {
        for await (const c of body as AsyncIterable<Buffer>) {
          n += c.length;
          if (n > maxBytes) {
            throw new IntegrityError(
              expected.size !== undefined ? `${what}: ${url} is larger than the ${expected.size} bytes the metadata promises` : `${what}: ${url} is larger than ${maxBytes} bytes`,
              { url },
            );
          }
          hash.update(c);
          await fh.write(c);
          opts.onBytes?.(c.length);
        }
      } catch (err) {
        body.destroy();
        if (err instanceof FedostreeError) throw err;
        throw new FetchError(`${what}: reading ${url}: ${(err as Error).message}`, { url });
      }
      if (expected.size !== undefined && n !== expected.size) {
        throw new IntegrityError(`${what}: ${url} has ${n} bytes, the metadata promises ${expected.size} (truncated or changed file)`, { url, size: n, expected: expected.size });
      }
      const digest = hash.digest('hex');
      if (expected.checksum && digest !== expected.checksum.value) {
        throw new IntegrityError(`${what}: ${url} has ${expected.checksum.type} ${digest}, the metadata promises ${expected.checksum.value}`, { url, actual: digest, expected: expected.checksum.value });
      }
      await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      // A verified-bad file is useless for resume; a broken transfer is kept for it.
      if (!ok) {
        const keep = opts.resume && n < (expected.size ?? Infinity) && n === (await stat(part).catch(() => ({ size: -1 }))).size;
        if (!keep) await unlink(part).catch(() => undefined);
      }
    }
    await rename(part, dest);
    await fsyncDir(dirname(dest));
  }
}
