import { access, lstat } from 'node:fs/promises';

/** Whether `path` names anything, without following a final symlink (a dangling link exists). */
export async function lexists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` resolves to something (symlinks followed). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
