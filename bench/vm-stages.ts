/**
 * Time per stage of the vm layer beside the real ostree pipeline, on an existing repository:
 *   npx node bench/vm-stages.ts REPO REF [BASE]
 * BASE (default REF^) is imaged fresh with `vm image`; the image is copied; then the same offline
 * update to REF is done twice from the same starting state: by `vm update` (mount, pull-local,
 * deploy, sync, unmount) on one copy, and by the real `ostree pull-local` + `ostree admin deploy`
 * inside the same mounts on the other. Then boots to multi-user under TCG (and KVM when the probe
 * passes). Prints seconds and ratios.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bootCheck, createImage, defaultBootEntry, kvmWorks, updateImage, withMountedImage } from '../src/vm/index.ts';

const run = promisify(execFile);
const [repo, ref, baseArg] = process.argv.slice(2);
if (!repo || !ref) {
  process.stderr.write('usage: bench/vm-stages.ts REPO REF [BASE]\n');
  process.exit(2);
}
const base = baseArg ?? `${ref}^`;
const work = await mkdtemp(join(tmpdir(), 'fedostree-bench-vm-'));
const secs = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};
const row = (k: string, v: number, extra = ''): void => void process.stdout.write(`${k.padEnd(44)} ${v.toFixed(2).padStart(8)} s  ${extra}\n`);
try {
  const ours = join(work, 'ours.img');
  const theirs = join(work, 'theirs.img');
  const image = await secs(() => createImage({ repo, ref: base, output: ours }));
  row(`vm image (fresh, ${base})`, image);
  await run('cp', ['--sparse=always', ours, theirs]);

  const update = await secs(() => updateImage(ours, { repo, ref }));
  row(`vm update to ${ref}`, update, `fresh image / update = ${(image / update).toFixed(1)}x`);
  const real = await secs(() => withMountedImage(theirs, async (sys) => {
    await run('ostree', ['pull-local', `--repo=${join(sys, 'ostree/repo')}`, repo, ref]);
    await run('ostree', ['admin', 'deploy', `--sysroot=${sys}`, '--os=fedostree', '--retain', ref]);
    await run('sync', []);
  }));
  row('same, ostree pull-local + ostree admin deploy', real, `fedostree / ostree = ${(update / real).toFixed(2)}x`);

  const tcg = await bootCheck({ image: ours, accel: 'tcg', timeoutS: 600 });
  row('boot to multi-user (tcg)', tcg.seconds, tcg.ok ? '' : '(failed)');
  const kernel = join(work, 'vmlinuz');
  await writeFile(kernel, (await defaultBootEntry(ours)).kernel);
  if (await kvmWorks(kernel)) {
    const kvm = await bootCheck({ image: ours, accel: 'kvm', timeoutS: 300 });
    row('boot to multi-user (kvm)', kvm.seconds, kvm.ok ? '' : '(failed)');
  } else {
    process.stdout.write('kvm: the probe failed on this machine (no usable /dev/kvm); TCG only\n');
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
