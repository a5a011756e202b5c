import { access, lstat } from 'node:fs/promises';

const settles = (p: Promise<unknown>): Promise<boolean> => p.then(() => true, () => false);

/** Whether `path` names anything, without following a final symlink (a dangling link exists). */
export function lexists(path: string): Promise<boolean> {
  return settles(lstat(path));
}

/** Whether `path` resolves to something (symlinks followed). */
export function exists(path: string): Promise<boolean> {
  return settles(access(path));
}
