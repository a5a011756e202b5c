/**
 * Whole-file locks of the kind libostree takes on a repository's `.lock` and a sysroot's
 * `ostree/lock`: open-file-description locks (fcntl F_OFD_SETLK). flock(2) locks are a separate
 * namespace on Linux, so only these make a real `ostree` wait for us and us for it.
 * The lock belongs to the open file, so it goes away with the process however it dies.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { FedostreeError } from './errors.ts';

interface FsLockAddon {
  tryLock(fd: number, exclusive: boolean): boolean;
  unlock(fd: number): void;
}

let addon: FsLockAddon | null = null;
function fsLock(): FsLockAddon {
  if (addon) return addon;
  const path = fileURLToPath(new URL('../../native/build/Release/fslock.node', import.meta.url));
  try {
    addon = createRequire(import.meta.url)(path) as FsLockAddon;
  } catch (err) {
    throw new FedostreeError('ENATIVE', `cannot load ${path} (run \`npm run build:native\`): ${(err as Error).message}`, { path });
  }
  return addon;
}

export interface FileLock {
  release(): Promise<void>;
}

export interface LockOptions {
  exclusive: boolean;
  /** Give up after this long (default: wait for ever, as ostree does). */
  timeoutMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: () => void;
  /** Words for the error when the wait times out. */
  what?: string;
}

/** Take a shared or exclusive lock on `path` (created 0600 when missing). */
export async function lockFile(path: string, opts: LockOptions): Promise<FileLock> {
  const lib = fsLock();
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A read-only repository can still be read under a shared lock.
    if (opts.exclusive || (code !== 'EACCES' && code !== 'EROFS')) {
      throw new FedostreeError('ELOCK', `locking ${path}: ${(err as Error).message}`, { path });
    }
    fh = await open(path, constants.O_RDONLY);
  }
  const started = Date.now();
  let delay = 2;
  let warned = false;
  try {
    while (!lib.tryLock(fh.fd, opts.exclusive)) {
      if (!warned) {
        warned = true;
        opts.onWait?.();
      }
      if (opts.timeoutMs !== undefined && Date.now() - started >= opts.timeoutMs) {
        throw new FedostreeError('ELOCK', `${path}: ${opts.what ?? 'another process holds this lock'} (waited ${Math.round(opts.timeoutMs / 1000)} s)`, { path });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  } catch (err) {
    await fh.close();
    if (err instanceof FedostreeError) throw err;
    throw new FedostreeError('ELOCK', `locking ${path}: ${(err as Error).message}`, { path });
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      try {
        lib.unlock(fh.fd);
      } finally {
        await fh.close();
      }
    },
  };
}
