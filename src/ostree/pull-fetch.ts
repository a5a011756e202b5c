/**
 * Fetching files of a remote archive repository over HTTP(S) or from a local path: whole small
 * files into memory (with a size cap), big ones into a file with byte-range resume, retries with
 * backoff for transient failures. 404 means "absent" (null), never an error by itself.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FedostreeError, FormatError } from '../util/errors.ts';

export interface FetcherOptions {
  /** Attempts per request for transient failures (connection errors, 5xx). */
  retries?: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

export interface Fetcher {
  readonly base: string;
  /** Bytes of `rel`, or null if the remote does not have it. */
  get(rel: string, maxSize: number): Promise<Buffer | null>;
  /** Download `rel` into `dest`, continuing a partial `dest` if possible; false if absent. */
  download(rel: string, dest: string, maxSize: number): Promise<boolean>;
  /** Bytes received so far. */
  bytes: number;
  /** Requests made so far. */
  requests: number;
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
  constructor(base: string, o: FetcherOptions) {
    this.base = base.endsWith('/') ? base : base + '/';
    this.retries = o.retries ?? 5;
    this.timeoutMs = o.timeoutMs ?? 120_000;
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

  private async request(rel: string, headers: Record<string, string> = {}): Promise<Response | null> {
    this.requests++;
    let res: Response;
    try {
      res = await fetch(this.base + rel, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new NetError((err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message);
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return null;
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      await res.body?.cancel();
      throw new NetError(`HTTP ${res.status}`);
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new FedostreeError('ENETWORK', `fetching ${this.base}${rel}: HTTP ${res.status} ${res.statusText}`);
    }
    return res;
  }

  get(rel: string, maxSize: number): Promise<Buffer | null> {
    return this.attempt(rel, async () => {
      const res = await this.request(rel);
      if (!res) return null;
      const len = Number(res.headers.get('content-length') ?? '0');
      if (len > maxSize) {
        await res.body?.cancel();
        throw new FormatError(`${this.base}${rel}: ${len} bytes is larger than the ${maxSize} byte limit`);
      }
      const chunks: Buffer[] = [];
      try {
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), capStream(maxSize, `${this.base}${rel}`), async function* (src: AsyncIterable<Buffer>) {
          for await (const c of src) chunks.push(c);
        });
      } catch (err) {
        if (err instanceof FedostreeError) throw err;
        throw new NetError((err as Error).message);
      }
      const buf = Buffer.concat(chunks);
      this.bytes += buf.length;
      return buf;
    });
  }

  download(rel: string, dest: string, maxSize: number): Promise<boolean> {
    return this.attempt(rel, async () => {
      let have = 0;
      try {
        have = (await stat(dest)).size;
      } catch {
        have = 0;
      }
      const res = await this.request(rel, have > 0 ? { range: `bytes=${have}-` } : {});
      if (!res) return false;
      const append = have > 0 && res.status === 206;
      const start = append ? have : 0;
      try {
        await pipeline(
          Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
          capStream(maxSize, `${this.base}${rel}`, start),
          new Transform({ transform: (c: Buffer, _e, cb) => { this.bytes += c.length; cb(null, c); } }),
          createWriteStream(dest, { flags: append ? 'a' : 'w', mode: 0o644 }),
        );
      } catch (err) {
        if (err instanceof FedostreeError) throw err;
        throw new NetError((err as Error).message);
      }
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
