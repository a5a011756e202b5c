import { FedostreeError, UsageError } from '../util/errors.ts';

/** Print a value as JSON on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

/** Print the error the way every command does: `error: …`, exit 1 (2 for usage). Stack only with --debug. */
export function reportError(err: unknown): void {
  const debug = process.argv.includes('--debug') || process.env.FEDOSTREE_DEBUG === '1';
  if (err instanceof FedostreeError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = err instanceof UsageError ? 2 : 1;
    return;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.message === 'string' && e.syscall) {
    // A system error on a path the user named (ENOENT, EACCES, ENOSPC...): not a bug.
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`error: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}

/** Wrap a commander action so thrown errors become `error: …` and an exit code, never a raw stack. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
    }
  };
}

/** Collect a repeatable option into an array (commander's argParser). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parse an integer option, naming the option in the error. */
export function intOption(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value)) throw new UsageError(`option ${name}: '${value}' is not an integer`);
    return Number(value);
  };
}
