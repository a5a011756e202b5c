/**
 * Run a program inside the tree being built: bubblewrap with the build root as `/`, uid 0, no
 * network, fresh /proc, a minimal /dev, tmpfs /tmp and /var/tmp.
 */
import { spawn } from 'node:child_process';
import { FedostreeError } from '../util/errors.ts';

/** What a sandboxed run produced. */
export interface SandboxResult {
  code: number;
  /** stdout and stderr interleaved. */
  output: string;
  ms: number;
}

export interface SandboxOptions {
  /** Data written to the program's stdin. */
  stdin?: string;
  env?: Record<string, string>;
  /** Extra read-only binds host path → sandbox path. */
  roBinds?: Array<[string, string]>;
}

const MAX_OUTPUT = 1 << 20;

/** Run `argv` with `root` as the root directory. Never throws for a non-zero exit (see `code`). */
export async function runInSandbox(root: string, argv: string[], options: SandboxOptions = {}): Promise<SandboxResult> {
  const env: Record<string, string> = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    container: 'fedostree',
    ...(process.env.SOURCE_DATE_EPOCH ? { SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH } : {}),
    ...options.env,
  };
  const args = [
    '--bind', root, '/',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--tmpfs', '/var/tmp',
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--uid', '0', '--gid', '0',
    '--chdir', '/',
    '--clearenv',
  ];
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  for (const [src, dest] of options.roBinds ?? []) args.push('--ro-bind', src, dest);
  args.push('--', ...argv);
  const t0 = performance.now();
  return new Promise<SandboxResult>((resolve, reject) => {
    const child = spawn('bwrap', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const take = (b: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += b.toString('utf8');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => reject(new FedostreeError('ESANDBOX', `running ${argv[0]} in the sandbox: ${err.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output, ms: performance.now() - t0 }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
