/**
 * Time per stage of the vm layer beside the real ostree pipeline, on an existing repository:
 *   npx node bench/vm-stages.ts REPO REF [REF2]
 * Stages: `vm image` (fresh image), `vm update` (offline deploy of REF2 or REF again), boot to
 * multi-user (TCG, and KVM when the probe passes); and the real `ostree admin deploy` of the same
 * commit into the same mounted image (after `ostree pull-local`). Prints seconds and ratios.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bootCheck, createImage, updateImage, withMountedImage } from '../src/vm/index.ts';

const run = promisify(execFile);
const [repo, ref, ref2] = process.argv.slice(2);
if (!repo || !ref) {
  process.stderr.write('usage: bench/vm-stages.ts REPO REF [REF2]\n');
  process.exit(2);
}
const work = await mkdtemp(join(tmpdir(), 'fedostree-bench-vm-'));
const secs = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = Date.now();
  await fn();
  return (Date.now() - t) / 1000;
};
try {
  const disk = join(work, 'disk.img');
  const image = await secs(() => createImage({ repo, ref, output: disk }));
  const update = await secs(() => updateImage(disk, { repo, ref: ref2 ?? ref }));
  // the real tool: pull-local + admin deploy into the same image
  const real = await withMountedImage(disk, (sys) => secs(async () => {
    await run('ostree', ['pull-local', `--repo=${join(sys, 'ostree/repo')}`, repo, ref2 ?? ref]);
    await run('ostree', ['admin', 'deploy', `--sysroot=${sys}`, '--os=fedostree', '--retain', ref2 ?? ref]);
  }));
  const tcg = await bootCheck({ image: disk, accel: 'tcg', timeoutS: 600 });
  const kvm = await bootCheck({ image: disk, accel: 'auto', timeoutS: 120 });
  const row = (k: string, v: number, extra = ''): void => void process.stdout.write(`${k.padEnd(34)} ${v.toFixed(2).padStart(8)} s ${extra}\n`);
  row('vm image (fresh)', image);
  row('vm update (offline deploy)', update, `fresh/update = ${(image / update).toFixed(1)}x`);
  row('ostree pull-local + admin deploy', real, `fedostree/ostree = ${(update / real).toFixed(2)}x`);
  row('boot to multi-user (tcg)', tcg.seconds, tcg.ok ? '' : '(failed)');
  row(`boot to multi-user (${kvm.accel})`, kvm.seconds, kvm.ok ? '' : '(failed)');
} finally {
  await rm(work, { recursive: true, force: true });
}
