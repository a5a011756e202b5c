/**
 * `fedostree vm …`: disk images of a ref, qemu boots with console checks, offline image updates,
 * recorded boot tests.
 */
import type { Command } from 'commander';
import { action, collect, intOption, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';

function accelOf(v: string | undefined): 'kvm' | 'tcg' | 'auto' {
  if (v === undefined || v === 'auto' || v === 'kvm' || v === 'tcg') return v ?? 'auto';
  throw new UsageError(`--accel must be kvm, tcg or auto, not '${v}'`);
}

export function register(program: Command): void {
  const vm = program.command('vm').description('disk images, VM boots and boot tests of composed trees');

  vm.command('image').description('build a raw disk image with REF deployed (separate /boot, direct kernel boot)')
    .requiredOption('--repo <path>', 'repository holding REF')
    .requiredOption('--ref <ref>', 'the ref to deploy')
    .requiredOption('-o, --output <file>', 'the disk image to write')
    .option('--size <MiB>', 'total size in MiB', intOption('--size'))
    .option('--karg <arg>', 'extra kernel argument (repeatable)', collect)
    .option('--os <stateroot>', 'stateroot name', 'fedostree')
    .option('--remote <name=url>', 'record this remote in the image and deploy REF from it (guest upgrades)')
    .option('--remote-sign-verify <spec>', 'ed25519=inline:KEY or ed25519=file:PATH for --remote (repeatable)', collect)
    .option('--agent', 'add the test agent (root shell on ttyS1; test images only)')
    .option('--boot <kind>', 'direct (qemu loads the kernel) or uefi (adds an ESP with systemd-boot)', 'direct')
    .option('--json', 'machine-readable output')
    .action(action(async (o: { repo: string; ref: string; output: string; size?: number; karg?: string[]; os: string; remote?: string; remoteSignVerify?: string[]; agent?: boolean; boot: string; json?: boolean }) => {
      if (o.boot !== 'direct' && o.boot !== 'uefi') throw new UsageError(`--boot must be direct or uefi, not '${o.boot}'`);
      let remote;
      if (o.remote) {
        const i = o.remote.indexOf('=');
        if (i <= 0) throw new UsageError(`--remote must be NAME=URL, not '${o.remote}'`);
        remote = { name: o.remote.slice(0, i), url: o.remote.slice(i + 1), noGpgVerify: true, signVerify: o.remoteSignVerify };
      }
      const { createImage } = await import('../vm/index.ts');
      const r = await createImage({ repo: o.repo, ref: o.ref, output: o.output, sizeMiB: o.size, kargs: o.karg, stateroot: o.os, remote, agent: o.agent, boot: o.boot });
      if (o.json) printJson(r);
      else process.stdout.write(`${r.output}: ${o.ref} (${r.commit}) deployed; ${r.partitions.map((p) => `${p.label} ${Math.round(p.size / 1048576)} MiB`).join(', ')}\n`);
    }));

  vm.command('boot').description('boot a disk image in qemu and check its serial console').argument('<image>')
    .option('--expect <text>', 'text that must appear on the console (repeatable)', collect)
    .option('--timeout <s>', 'seconds to wait for multi-user', intOption('--timeout'), 300)
    .option('--accel <kind>', 'kvm, tcg or auto (probe KVM)', 'auto')
    .option('--console-log <file>', 'serial console log (default IMAGE.console.log)')
    .option('--ssh <port>', 'forward this host port to the guest port 22', intOption('--ssh'))
    .option('--boot <kind>', 'direct (kernel from the default BLS entry) or uefi (OVMF + the image\'s systemd-boot)', 'direct')
    .option('--json', 'machine-readable output')
    .action(action(async (image: string, o: { expect?: string[]; timeout: number; accel: string; consoleLog?: string; ssh?: number; boot: string; json?: boolean }) => {
      if (o.boot !== 'direct' && o.boot !== 'uefi') throw new UsageError(`--boot must be direct or uefi, not '${o.boot}'`);
      const { bootCheck } = await import('../vm/index.ts');
      const r = await bootCheck({ image, expect: o.expect, timeoutS: o.timeout, accel: accelOf(o.accel), consoleLog: o.consoleLog, sshPort: o.ssh, boot: o.boot });
      if (o.json) printJson(r);
      else {
        process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'}: ${r.entry} (${r.accel}) ${r.reached ? `multi-user after ${r.seconds.toFixed(1)} s` : 'did not reach multi-user'}\n`);
        for (const e of r.expectMissing) process.stdout.write(`  missing on the console: ${e}\n`);
        for (const u of r.failedUnits) process.stdout.write(`  failed unit: ${u}\n`);
        process.stdout.write(`console log: ${r.consoleLog}\n`);
        if (!r.ok) process.stdout.write(`${r.consoleTail}\n`);
      }
      if (!r.ok) process.exitCode = 1;
    }));

  vm.command('update').description('deploy the newest commit of the origin ref (or REF) into an image, offline').argument('<image>')
    .requiredOption('--repo <path>', 'repository to pull from')
    .option('--ref <ref>', 'ref (default: the origin of the default deployment)')
    .option('--json', 'machine-readable output')
    .action(action(async (image: string, o: { repo: string; ref?: string; json?: boolean }) => {
      const { updateImage } = await import('../vm/index.ts');
      const r = await updateImage(image, { repo: o.repo, ref: o.ref });
      if (o.json) printJson(r);
      else process.stdout.write(r.changed ? `${image}: deployed ${r.commit} (was ${r.previous ?? 'none'})\n` : `${image}: already at ${r.commit}\n`);
    }));

  vm.command('boot-test').description('image (or update) and boot REF, record pass/fail in the repository')
    .requiredOption('--repo <path>', 'repository holding REF')
    .requiredOption('--ref <ref>', 'the ref to test')
    .requiredOption('--image <file>', 'the cached disk image (updated in place when it exists)')
    .option('--timeout <s>', 'seconds to wait for multi-user', intOption('--timeout'), 300)
    .option('--accel <kind>', 'kvm, tcg or auto', 'auto')
    .option('--json', 'machine-readable output')
    .action(action(async (o: { repo: string; ref: string; image: string; timeout: number; accel: string; json?: boolean }) => {
      const { bootTest } = await import('../vm/index.ts');
      const { existsSync } = await import('node:fs');
      const r = await bootTest({ repo: o.repo, ref: o.ref, image: o.image, reuse: existsSync(o.image), timeoutS: o.timeout, accel: accelOf(o.accel) });
      if (o.json) printJson(r);
      else {
        process.stdout.write(`${r.passed ? 'PASS' : 'FAIL'} ${o.ref} ${r.commit}: ${r.reachedMultiUser ? `multi-user in ${r.bootSeconds.toFixed(1)} s` : 'did not reach multi-user'} (${r.accel})\n`);
        for (const u of r.failedUnits) process.stdout.write(`  failed unit: ${u}\n`);
        if (!r.passed) process.stdout.write(`${r.consoleTail}\n`);
      }
      if (!r.passed) process.exitCode = 1;
    }));
}
