/**
 * A static HTTP server for an archive repository (what clients pull from): GET and HEAD of files
 * under the repository root, byte ranges, no directory listings, nothing outside the root.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';

// require(): an ES import of node:http also loads Node's bundled undici (see ostree/pull-fetch.ts).
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface ServeOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (0 = any free port). */
  port?: number;
  /** Called once per finished request (for access logs). */
  onRequest?: (entry: { method: string; path: string; status: number; bytes: number }) => void;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Parts of the repository a client may read; everything else (config secrets, tmp, state, locks) is 404. */
const SERVED = /^\/(config|summary|summary\.sig|objects\/[0-9a-f]{2}\/[0-9a-f]{62}\.(commit|commitmeta|dirtree|dirmeta|filez|file|commit-tombstone)|refs\/(heads|mirrors)\/[-._\w\d/]+|deltas\/[A-Za-z0-9+_]{2}\/[-A-Za-z0-9+_]+\/(superblock|\d+)|delta-indexes\/[A-Za-z0-9+_]{2}\/[A-Za-z0-9+_]+\.index)$/;

function respond(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<number> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    respond(res, 405, 'method not allowed\n');
    return 0;
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    respond(res, 400, 'bad request\n');
    return 0;
  }
  if (!SERVED.test(path) || path.split('/').some((c) => c === '..' || c === '.')) {
    respond(res, 404, 'not found\n');
    return 0;
  }
  const file = resolve(join(root, path));
  if (!file.startsWith(root + sep)) {
    respond(res, 404, 'not found\n');
    return 0;
  }
  let size: number;
  let mtime: Date;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
    mtime = st.mtime;
  } catch {
    respond(res, 404, 'not found\n');
    return 0;
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) {
      res.setHeader('content-range', `bytes */${size}`);
      respond(res, 416, 'bad range\n');
      return 0;
    }
    if (m[1] === '') start = Math.max(0, size - Number(m[2]));
    else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start >= size || start > end) {
      res.setHeader('content-range', `bytes */${size}`);
      respond(res, 416, 'range not satisfiable\n');
      return 0;
    }
    status = 206;
    res.setHeader('content-range', `bytes ${start}-${end}/${size}`);
  }
  const length = size === 0 ? 0 : end - start + 1;
  res.writeHead(status, {
    'content-type': 'application/octet-stream', 'content-length': length, 'accept-ranges': 'bytes',
    'last-modified': mtime.toUTCString(), 'cache-control': path.startsWith('/objects/') || path.startsWith('/deltas/') ? 'max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return 0;
  }
  await pipeline(createReadStream(file, { start, end, highWaterMark: 1 << 20 }), res);
  return length;
}

/** Serve the repository at `repoPath` until `close()`. */
export async function serveRepo(repoPath: string, options: ServeOptions = {}): Promise<RunningServer> {
  const root = resolve(repoPath);
  const server = createServer((req, res) => {
    handle(root, req, res).then(
      (bytes) => options.onRequest?.({ method: req.method ?? '', path: req.url ?? '', status: res.statusCode, bytes }),
      () => {
        if (!res.headersSent) respond(res, 500, 'internal error\n');
        else res.destroy();
      },
    );
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => res());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    port: addr.port,
    url: `http://${host}:${addr.port}/`,
    close: () => new Promise<void>((res) => {
      server.closeAllConnections();
      server.close(() => res());
    }),
  };
}
