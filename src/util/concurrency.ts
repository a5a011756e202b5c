import { availableParallelism } from 'node:os';

/** Number of workers for CPU-bound work: every core. */
export const cpuCount = Math.max(1, availableParallelism());

/**
 * Run `fn` over `items` with at most `limit` in flight; results keep input order.
 * The first rejection stops new work and is re-thrown after in-flight work settles.
 */
export async function mapLimit<T, R>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const list = Array.from(items);
  const results = new Array<R>(list.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < list.length) {
      const i = next++;
      try {
        results[i] = await fn(list[i], i);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, list.length)) }, worker));
  if (failed) throw firstError;
  return results;
}

/** A semaphore: `run(fn)` waits for a free slot. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
