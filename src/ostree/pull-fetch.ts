/**
 * Fetching files of a remote archive repository over HTTP(S) or from a local path: whole small
 * files into memory (with a size cap), big ones into a file with byte-range resume, retries with
 * backoff for transient failures. 404 means "absent" (null), never an error by itself.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FedostreeError, FormatError } from '../util/errors.ts';

// require(), not import: an ES import of node:http builds its export facade, which loads Node's
// bundled undici for the WebSocket getter — 15-30 ms on every CLI start here, ten times that in a
// TCG guest. Every command imports this module.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const https = require('node:https') as typeof import('node:https');

export interface FetcherOptions {
  /** Attempts per request for transient failures (connection errors, 5xx). */
  retries?: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** Connections per host (keep-alive). */
  maxSockets?: number;
}

export interface Fetcher {
  readonly base: string;
  /** Bytes of `rel`, or null if the remote does not have it. */
  get(rel: string, maxSize: number): Promise<Buffer | null>;
  /** Download `rel` into `dest`, continuing a partial `dest` if possible; false if absent. */
  download(rel: string, dest: string, maxSize: number): Promise<boolean>;
  /**
   * Fetch `rel`: kept in memory if the server announces at most `memLimit` bytes and nothing partial
   * exists at `dest`, else streamed (resumable) into `dest` ('file'). null if absent.
   */
  fetchSpill(rel: string, dest: string, maxSize: number, memLimit: number): Promise<Buffer | 'file' | null>;
  /** Bytes received so far. */
  bytes: number;
  /** Requests made so far. */
  requests: number;
  /** Drop kept-alive connections. */
  close(): void;
}

class NetError extends Error {}

function capStream(max: number, what: string, start = 0): Transform {
  let n = start;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      if (n > max) cb(new FormatError(`${what}: larger than the ${max} byte limit`));
      else cb(null, chunk);
    },
  });
}

class HttpFetcher implements Fetcher {
  readonly base: string;
  bytes = 0;
  requests = 0;
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  constructor(base: string, o: FetcherOptions) {
    this.base = base.endsWith('/') ? base : base + '/';
    this.retries = o.retries ?? 5;
    this.timeoutMs = o.timeoutMs ?? 120_000;
    const maxSockets = o.maxSockets ?? 16;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async attempt<T>(rel: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof NetError) || i + 1 >= this.retries) {
          if (err instanceof NetError) throw new FedostreeError('ENETWORK', `fetching ${this.base}${rel}: ${err.message} (after ${i + 1} attempts)`);
          throw err;
        }
        await sleep(Math.min(2000, 100 * 2 ** i));
      }
    }
  }

  private request(rel: string, headers: Record<string, string> = {}): Promise<IncomingMessage | null> {
    this.requests++;
    const url = new URL(this.base + rel);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.get(url, { headers, agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent, timeout: this.timeoutMs }, (res) => {
        const status = res.statusCode ?? 0;
        if (status === 404 || status === 410) {
          res.resume();
          resolve(null);
        } else if (status >= 500 || status === 429 || status === 408) {
          res.resume();
          reject(new NetError(`HTTP ${status}`));
        } else if (status !== 200 && status !== 206) {
          res.resume();
          reject(new FedostreeError('ENETWORK', `fetching ${this.base}${rel}: HTTP ${status} ${res.statusMessage ?? ''}`.trim()));
        } else resolve(res);
      });
      req.on('timeout', () => req.destroy(new Error(`no response within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(new NetError(e.message)));
    });
  }

  get(rel: string, maxSize: number): Promise<Buffer | null> {
    return this.attempt(rel, async () => {
      const res = await this.request(rel);
      if (!res) return null;
      const len = Number(res.headers['content-length'] ?? '0');
      if (len > maxSize) {
        res.destroy();
        throw new FormatError(`${this.base}${rel}: ${len} bytes is larger than the ${maxSize} byte limit`);
      }
      const chunks: Buffer[] = [];
      let n = 0;
      try {
        for await (const c of res as AsyncIterable<Buffer>) {
          n += c.length;
          if (n > maxSize) {
            res.destroy();
            throw new FormatError(`${this.base}${rel}: larger than the ${maxSize} byte limit`);
          }
          chunks.push(c);
        }
      } catch (err) {
        if (err instanceof FedostreeError) throw err;
        throw new NetError((err as Error).message);
      }
      if (!res.complete) throw new NetError('connection closed before the end of the response');
      const buf = Buffer.concat(chunks, n);
      this.bytes += buf.length;
      return buf;
    });
  }

  fetchSpill(rel: string, dest: string, maxSize: number, memLimit: number): Promise<Buffer | 'file' | null> {
    return this.attempt(rel, async () => {
      const have = await partialSize(dest);
      const res = await this.request(rel, have > 0 ? { range: `bytes=${have}-` } : {});
      if (!res) return null;
      const lenHeader = res.headers['content-length'];
      const len = lenHeader === undefined ? -1 : Number(lenHeader);
      if (have === 0 && res.statusCode === 200 && len >= 0 && len <= memLimit) {
        const chunks: Buffer[] = [];
        let n = 0;
        try {
          for await (const c of res as AsyncIterable<Buffer>) {
            n += c.length;
            if (n > memLimit) throw new NetError('response longer than announced');
            chunks.push(c);
          }
        } catch (err) {
          throw err instanceof NetError ? err : new NetError((err as Error).message);
        }
        if (!res.complete || n !== len) throw new NetError('connection closed before the end of the response');
        this.bytes += n;
        return Buffer.concat(chunks, n);
      }
      const append = have > 0 && res.statusCode === 206;
      try {
        await pipeline(
          res,
          capStream(maxSize, `${this.base}${rel}`, append ? have : 0),
          new Transform({ transform: (c: Buffer, _e, cb) => { this.bytes += c.length; cb(null, c); } }),
          createWriteStream(dest, { flags: append ? 'a' : 'w', mode: 0o644 }),
        );
      } catch (err) {
        if (err instanceof FedostreeError) throw err;
        throw new NetError((err as Error).message);
      }
      if (!res.complete) throw new NetError('connection closed before the end of the response');
      return 'file';
    });
  }

  download(rel: string, dest: string, maxSize: number): Promise<boolean> {
    return this.attempt(rel, async () => {
      const have = await partialSize(dest);
      const res = await this.request(rel, have > 0 ? { range: `bytes=${have}-` } : {});
      if (!res) return false;
      const append = have > 0 && res.statusCode === 206;
      const start = append ? have : 0;
      try {
        await pipeline(
          res,
          capStream(maxSize, `${this.base}${rel}`, start),
          new Transform({ transform: (c: Buffer, _e, cb) => { this.bytes += c.length; cb(null, c); } }),
          createWriteStream(dest, { flags: append ? 'a' : 'w', mode: 0o644 }),
        );
      } catch (err) {
        if (err instanceof FedostreeError) throw err;
        throw new NetError((err as Error).message);
      }
      if (!res.complete) throw new NetError('connection closed before the end of the response');
      return true;
    });
  }
}

class FileFetcher implements Fetcher {
  readonly base: string;
  bytes = 0;
  requests = 0;
  private readonly root: string;
  constructor(base: string) {
    this.base = base;
    this.root = base.startsWith('file://') ? fileURLToPath(base) : base;
  }
  close(): void {
    // nothing held open
  }
  async get(rel: string, maxSize: number): Promise<Buffer | null> {
    this.requests++;
    const p = join(this.root, rel);
    try {
      const st = await stat(p);
      if (st.size > maxSize) throw new FormatError(`${p}: ${st.size} bytes is larger than the ${maxSize} byte limit`);
      const b = await readFile(p);
      this.bytes += b.length;
      return b;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  }
  async fetchSpill(rel: string, dest: string, maxSize: number, memLimit: number): Promise<Buffer | 'file' | null> {
    const p = join(this.root, rel);
    let size: number;
    try {
      size = (await stat(p)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
    if (size <= memLimit) return this.get(rel, memLimit);
    return (await this.download(rel, dest, maxSize)) ? 'file' : null;
  }
  async download(rel: string, dest: string, maxSize: number): Promise<boolean> {
    this.requests++;
    const p = join(this.root, rel);
    try {
      const st = await stat(p);
      if (st.size > maxSize) throw new FormatError(`${p}: ${st.size} bytes is larger than the ${maxSize} byte limit`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    await pipeline(createReadStream(p), createWriteStream(dest, { mode: 0o644 }));
    this.bytes += (await stat(dest)).size;
    return true;
  }
}

/** A fetcher for `http(s)://…`, `file://…` or a plain local path. */
export function createFetcher(url: string, options: FetcherOptions = {}): Fetcher {
  if (/^https?:\/\//.test(url)) return new HttpFetcher(url, options);
  return new FileFetcher(url);
}

/** Bytes of a partial download already on disk (0 when there is none). */
async function partialSize(path: string): Promise<number> {
  return stat(path).then((st) => st.size, () => 0);
}
