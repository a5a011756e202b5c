import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** fsync a directory so a rename inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A temporary name beside `path` (same filesystem, so rename is atomic). */
export function tempPathFor(path: string, tmpDir?: string): string {
  return join(tmpDir ?? dirname(path), `.tmp-${basename(path)}-${randomBytes(6).toString('hex')}`);
}

export interface AtomicWriteOptions {
  mode?: number;
  /** Directory for the temporary file; must be on the same filesystem as `path`. */
  tmpDir?: string;
  /** Skip fsync (for bulk writes whose durability is ensured by a later syncfs). */
  noSync?: boolean;
}

/**
 * Write `data` to `path` so that readers see either the old file or the whole new one:
 * temp file, fsync, rename, fsync of the directory.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path, options.tmpDir);
  const fh = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    if (options.mode !== undefined) await fh.chmod(options.mode);
    if (!options.noSync) await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (!options.noSync) await fsyncDir(dirname(path));
}
