/**
 * Boot tests recorded in the repository: `<repo>/boot-tests/<commit>.json` and the latest per ref in
 * `<repo>/boot-tests/refs/<ref>.json` (plain files, served with the repository so a web page can read them).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { OstreeRepo } from '../ostree/index.ts';
import { NotFoundError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { createImage, updateImage } from './image.ts';
import { bootCheck, type Accel, type BootCheck } from './qemu.ts';

export interface BootTestRecord {
  ref: string;
  commit: string;
  passed: boolean;
  bootSeconds: number;
  accel: Accel;
  reachedMultiUser: boolean;
  failedUnits: string[];
  consoleLog: string;
  consoleTail: string;
  time: string;
}

export async function bootTest(o: { repo: string; ref: string; image: string; reuse?: boolean; timeoutS?: number; accel?: Accel | 'auto' }): Promise<BootTestRecord> {
  const repo = await OstreeRepo.open(o.repo);
  const commit = await repo.resolveRev(o.ref, true);
  if (!commit) throw new NotFoundError(`ref '${o.ref}' not found in ${o.repo}`);
  let updated = false;
  if (o.reuse) updated = await updateImage(o.image, { repo: o.repo, ref: o.ref }).then(() => true, () => false);
  if (!updated) await createImage({ repo: o.repo, ref: o.ref, output: o.image });
  const r: BootCheck = await bootCheck({ image: o.image, timeoutS: o.timeoutS, accel: o.accel });
  const rec: BootTestRecord = {
    ref: o.ref, commit, passed: r.ok, bootSeconds: r.seconds, accel: r.accel, reachedMultiUser: r.reached, failedUnits: r.failedUnits,
    consoleLog: resolve(r.consoleLog), consoleTail: r.consoleTail, time: new Date().toISOString(),
  };
  const text = JSON.stringify(rec, null, 2) + '\n';
  const byCommit = join(o.repo, 'boot-tests', `${commit}.json`);
  const byRef = join(o.repo, 'boot-tests', 'refs', `${o.ref}.json`);
  for (const p of [byCommit, byRef]) {
    await mkdir(dirname(p), { recursive: true });
    await writeFileAtomic(p, text);
  }
  return rec;
}

export async function readBootTest(repo: string, ref: string): Promise<BootTestRecord | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    return JSON.parse(await readFile(join(repo, 'boot-tests', 'refs', `${ref}.json`), 'utf8')) as BootTestRecord;
  } catch {
    return null;
  }
}
