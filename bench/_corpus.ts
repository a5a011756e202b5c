import { chmod, copyFile, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes and files copied so far; copying stops once `bytes` reaches `budget`. */
export interface CorpusState { bytes: number; files: number; budget: number }

/**
 * Copy real files from the host (e.g. /usr/lib) into `dst`, in name order, until the byte budget is
 * spent: the benchmark corpus. Unreadable entries are skipped.
 */
export async function copyHostTree(src: string, dst: string, state: CorpusState): Promise<void> {
  await mkdir(dst, { recursive: true });
  let entries;
  try {
    entries = await readdir(src, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (state.bytes >= state.budget) return;
    const s = join(src, e.name);
    const d = join(dst, e.name);
    try {
      if (e.isDirectory()) await copyHostTree(s, d, state);
      else if (e.isSymbolicLink()) await symlink(await readlink(s), d);
      else if (e.isFile()) {
        const st = await lstat(s);
        await copyFile(s, d);
        await chmod(d, st.mode & 0o777);
        state.bytes += st.size;
        state.files++;
      }
    } catch {
      // unreadable: skip
    }
  }
}
