/**
 * The synchronous tail every small extracted file shares, in the main thread and in the writer
 * worker: write the bytes, set owner, mode and mtime on the descriptor, fsync when asked, close;
 * a file that failed half-way is removed.
 */
import { closeSync, fchmodSync, fchownSync, fsyncSync, futimesSync, unlinkSync } from 'node:fs';

export interface FileAttrs {
  mode: number;
  mtime: number;
  owner?: [number, number] | null;
}

/** Run `write(fd)`, then apply `attrs` and close `fd`; on any error unlink `path` and rethrow. */
export function writeAndFinish(fd: number, path: string, attrs: FileAttrs, fsync: boolean, write: (fd: number) => void): void {
  let ok = false;
  try {
    write(fd);
    if (attrs.owner) fchownSync(fd, attrs.owner[0], attrs.owner[1]);
    fchmodSync(fd, attrs.mode);
    futimesSync(fd, attrs.mtime, attrs.mtime);
    if (fsync) fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }
}
