/**
 * Worker thread for extract: creates batches of small files with synchronous calls, so the
 * main thread keeps parsing, decompressing and hashing meanwhile. Only used for targets the
 * extraction created itself (files go straight to their final names, O_EXCL|O_NOFOLLOW).
 */
import { constants, openSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { writeAndFinish } from './_write-file.ts';

/** One file of a batch: its bytes are data[start, start + length). */
export interface WriterFile {
  path: string;
  start: number;
  length: number;
  mode: number;
  mtime: number;
  owner?: [number, number];
}

export interface WriterBatch {
  id: number;
  data: ArrayBuffer;
  files: WriterFile[];
  fsync: boolean;
}

export type WriterReply = { id: number } | { id: number; error: { message: string; code?: string; syscall?: string; path: string } };

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function writeFile(data: Buffer, f: WriterFile, fsync: boolean): void {
  writeAndFinish(openSync(f.path, CREATE, 0o600), f.path, f, fsync, (fd) => {
    let off = 0;
    while (off < f.length) off += writeSync(fd, data, f.start + off, f.length - off);
  });
}

parentPort?.on('message', (b: WriterBatch) => {
  const data = Buffer.from(b.data);
  for (const f of b.files) {
    try {
      writeFile(data, f, b.fsync);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      parentPort?.postMessage({ id: b.id, error: { message: e.message, code: e.code, syscall: e.syscall, path: f.path } } satisfies WriterReply);
      return;
    }
  }
  parentPort?.postMessage({ id: b.id } satisfies WriterReply);
});
