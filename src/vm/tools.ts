/** Running the host tools the vm layer needs (sfdisk, mkfs.ext4, debugfs, mount, qemu). */
import { spawn } from 'node:child_process';
import { FedostreeError, NotFoundError } from '../util/errors.ts';

export interface RunResult { stdout: string; stderr: string }

/** Run a tool; a non-zero exit becomes an error naming the command and its stderr tail. */
export function run(cmd: string, args: string[], options: { input?: string; context?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new NotFoundError(`${options.context ? `${options.context}: ` : ''}'${cmd}' is not installed`));
      else reject(e);
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout, stderr });
      else {
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        reject(new FedostreeError('ETOOL', `${options.context ? `${options.context}: ` : ''}${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${tail}`));
      }
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
