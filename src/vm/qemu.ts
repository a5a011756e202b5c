/**
 * qemu runs of a disk image: direct kernel boot from the default BLS entry, serial console to a log
 * file, user-mode networking (the host is 10.0.2.2 in the guest), optional test agent on ttyS1
 * (a unix socket on the host), KVM only when a probe shows it works, TCG otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { copyFile, mkdtemp, readFile, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FedostreeError } from '../util/errors.ts';
import { defaultBootEntry } from './image.ts';

export type Accel = 'kvm' | 'tcg';

/**
 * multi-user reached: systemd's status line, or the serial getty's login prompt (getty.target is part
 * of multi-user, and systemd may stop printing status lines once the getty owns the console).
 */
export const MULTI_USER = /Reached target .*Multi-User System|^\S+ login: /m;

let kvmProbe: Promise<boolean> | null = null;

/**
 * Does KVM work? /dev/kvm may be a nested device on which qemu aborts or the guest hangs: boot the
 * given kernel for a few seconds with KVM and require it to print its banner on the console.
 */
export function kvmWorks(kernel: string): Promise<boolean> {
  kvmProbe ??= (async () => {
    if (process.env.FEDOSTREE_VM_ACCEL === 'tcg') return false;
    const h = await open('/dev/kvm', 'r+').catch(() => null);
    if (!h) return false;
    await h.close();
    return new Promise<boolean>((resolve) => {
      const c = spawn('qemu-system-x86_64', ['-accel', 'kvm', '-machine', 'q35', '-cpu', 'host', '-m', '256', '-nodefaults', '-display', 'none',
        '-serial', 'stdio', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-no-reboot'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        c.kill('SIGKILL');
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), 6000);
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Past early boot: the kernel calibrated and brought up its console and memory.
        if (/Memory: \d+K/.test(out) && /clocksource/.test(out)) done(true);
      });
      c.on('error', () => done(false));
      c.on('close', () => done(false));
    });
  })();
  return kvmProbe;
}

export interface VmOptions {
  image: string;
  /** Serial console log (default: <image>.console.log). */
  consoleLog?: string;
  accel?: Accel | 'auto';
  memoryMiB?: number;
  cpus?: number;
  /** Forward this host port to the guest's port 22. */
  sshPort?: number;
  /** Connect the test agent on ttyS1. */
  agent?: boolean;
  /** `uefi`: OVMF firmware and the image's systemd-boot choose the entry (no -kernel). */
  boot?: 'direct' | 'uefi';
  /** Extra kernel arguments appended to the entry's (direct boot only). */
  extraKargs?: string[];
}

/** A running VM. */
export class Vm {
  readonly child: ChildProcess;
  readonly consoleLog: string;
  readonly accel: Accel;
  readonly entryTitle: string;
  readonly started = Date.now();
  private readonly workDir: string;
  private agentSock: Socket | null = null;
  private agentBuf = '';
  private exited: Promise<number | null>;

  private constructor(child: ChildProcess, consoleLog: string, accel: Accel, workDir: string, entryTitle: string) {
    this.child = child;
    this.consoleLog = consoleLog;
    this.accel = accel;
    this.workDir = workDir;
    this.entryTitle = entryTitle;
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  static async start(o: VmOptions): Promise<Vm> {
    const work = await mkdtemp(join(tmpdir(), 'fedostree-vm-'));
    const sel = await defaultBootEntry(o.image);
    const kernel = join(work, 'vmlinuz');
    const initrd = join(work, 'initrd');
    await writeFile(kernel, sel.kernel);
    if (sel.initrd) await writeFile(initrd, sel.initrd);
    let accel: Accel = o.accel === 'kvm' || o.accel === 'tcg' ? o.accel : 'tcg';
    if (o.accel === undefined || o.accel === 'auto') accel = (await kvmWorks(kernel)) ? 'kvm' : 'tcg';
    const consoleLog = o.consoleLog ?? `${o.image}.console.log`;
    await writeFile(consoleLog, '');
    const net = `user,id=n0${o.sshPort ? `,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22` : ''}`;
    const args = [
      '-machine', 'q35', '-m', String(o.memoryMiB ?? 1536), '-smp', String(o.cpus ?? 2), '-nodefaults', '-display', 'none', '-no-reboot',
      // TCG with one host thread for all vCPUs: under multi-threaded TCG, guest node processes died of
      // SIGSEGV now and then (twice in about a hundred runs, with `max` and with `Nehalem` CPU models);
      // a JIT writing code on one vCPU that another runs is the kind of work MTTCG gets wrong.
      ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=single', '-cpu', 'max']),
      '-drive', `file=${o.image},format=raw,if=virtio,cache=unsafe`,
      '-netdev', net, '-device', 'virtio-net-pci,netdev=n0',
      '-device', 'virtio-rng-pci',
      '-serial', `file:${consoleLog}`,
      ...(o.agent ? ['-chardev', `socket,id=agent,path=${join(work, 'agent.sock')},server=on,wait=off`, '-serial', 'chardev:agent'] : []),
      ...(o.boot === 'uefi'
        ? ['-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd', '-drive', `if=pflash,format=raw,file=${join(work, 'vars.fd')}`]
        : ['-kernel', kernel, ...(sel.initrd ? ['-initrd', initrd] : []), '-append', [sel.entry.options, ...(o.extraKargs ?? [])].join(' ')]),
    ];
    if (o.boot === 'uefi') await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', join(work, 'vars.fd'));
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const vm = new Vm(child, consoleLog, accel, work, o.boot === 'uefi' ? '(chosen by systemd-boot)' : sel.entry.title);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e) => reject(new FedostreeError('ETOOL', `starting qemu-system-x86_64: ${e.message}`)));
    });
    void vm.exited.then((code) => {
      if (code) vm.qemuError = err.trim();
    });
    return vm;
  }

  qemuError = '';

  async console(): Promise<string> {
    return (await readFile(this.consoleLog, 'utf8').catch(() => '')).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  }

  /** Wait until the console log matches; false on timeout or when qemu exits first. */
  async waitFor(pattern: RegExp | string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void this.exited.then(() => (gone = true));
    for (;;) {
      const text = await this.console();
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return true;
      if (gone || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  waitMultiUser(timeoutMs: number): Promise<boolean> {
    return this.waitFor(MULTI_USER, timeoutMs);
  }

  /** Run a shell command in the guest through the agent; returns its output and exit status. */
  async exec(cmd: string, timeoutMs = 60_000): Promise<{ out: string; rc: number }> {
    if (!this.agentSock) {
      const path = join(this.workDir, 'agent.sock');
      this.agentSock = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(path, () => resolve(s));
        s.once('error', (e) => reject(new FedostreeError('EVM', `connecting to the guest agent: ${e.message}`)));
      });
      this.agentSock.on('data', (d: Buffer) => (this.agentBuf += d.toString()));
      this.agentSock.on('error', () => undefined);
    }
    const tag = `__FEDOSTREE_${Math.random().toString(36).slice(2)}__`;
    this.agentBuf = '';
    this.agentSock.write(`echo ${tag}B; ( ${cmd} ) 2>&1; echo ${tag}E$?\n`);
    const deadline = Date.now() + timeoutMs;
    const re = new RegExp(`${tag}B\\r?\\n([\\s\\S]*?)${tag}E(\\d+)`);
    for (;;) {
      const m = re.exec(this.agentBuf);
      if (m) return { out: m[1].replace(/\r/g, ''), rc: Number(m[2]) };
      if (Date.now() > deadline) throw new FedostreeError('ETIMEDOUT', `guest command timed out after ${timeoutMs / 1000} s: ${cmd}\n${this.agentBuf.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Wait until the agent answers (the guest reached the point where it runs). */
  async waitAgent(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const r = await this.exec('true', 3000);
        if (r.rc === 0) return true;
      } catch {
        this.agentSock?.destroy();
        this.agentSock = null;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    return false;
  }

  /** Power off: ask the guest (agent) when possible, then kill qemu; waits for exit. */
  async stop(graceMs = 0): Promise<void> {
    if (graceMs > 0 && this.agentSock) {
      this.agentSock.write('systemctl poweroff\n');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    } else {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    this.agentSock?.destroy();
    await rm(this.workDir, { recursive: true, force: true });
  }
}

export interface BootCheck {
  ok: boolean;
  accel: Accel;
  seconds: number;
  entry: string;
  reached: boolean;
  expectMissing: string[];
  failedUnits: string[];
  consoleLog: string;
  consoleTail: string;
}


/** Boot an image, wait for multi-user (and each EXPECT text) on the console, report, power off. */
export async function bootCheck(o: VmOptions & { expect?: string[]; timeoutS?: number }): Promise<BootCheck> {
  const vm = await Vm.start(o);
  try {
    const timeout = (o.timeoutS ?? 300) * 1000;
    const reached = await vm.waitMultiUser(timeout);
    const seconds = (Date.now() - vm.started) / 1000;
    const expectMissing: string[] = [];
    for (const e of o.expect ?? []) if (!(await vm.waitFor(e, reached ? 5000 : 0))) expectMissing.push(e);
    const text = await vm.console();
    const failedUnits = [...text.matchAll(/\[FAILED\] Failed to start (.*?)\.?\r?$/gm)].map((m) => m[1].trim());
    const tail = text.split('\n').slice(-60).join('\n');
    return {
      ok: reached && !expectMissing.length && !failedUnits.length, accel: vm.accel, seconds, entry: vm.entryTitle, reached, expectMissing, failedUnits,
      consoleLog: vm.consoleLog, consoleTail: tail + (vm.qemuError ? `\nqemu: ${vm.qemuError}` : ''),
    };
  } finally {
    await vm.stop();
  }
}
