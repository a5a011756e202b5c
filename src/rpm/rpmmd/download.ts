import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { mapLimit } from '../../util/concurrency.ts';
import { FedostreeError, NotFoundError } from '../../util/errors.ts';
import type { ProgressListener } from '../../util/progress.ts';
import { Fetcher } from './fetch.ts';
import type { Checksum } from './repomd.ts';

/** A package to download: where it lives in which repository and what it must hash to. */
export interface DownloadItem {
  nevra: string;
  /** Base URLs of its repository, tried in order. */
  baseurls: string[];
  /** Path relative to the base URL (primary.xml `location href`). */
  location: string;
  checksum?: Checksum;
  size?: number;
  /** Names the repository in errors. */
  repo: string;
}

export interface DownloadOptions {
  destdir: string;
  fetcher?: Fetcher;
  /** Parallel transfers (default 4). */
  concurrency?: number;
  onProgress?: ProgressListener;
}

async function hashFile(path: string, type: string): Promise<string> {
  const h = createHash(type);
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

/** True if `path` exists with the expected size and checksum. */
export async function alreadyDownloaded(path: string, item: DownloadItem): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  if (item.size !== undefined && st.size !== item.size) return false;
  if (item.checksum) return (await hashFile(path, item.checksum.type)) === item.checksum.value;
  return true;
}

/**
 * Download packages into `destdir` (file name = basename of the location) with bounded concurrency.
 * Each file is verified (size, checksum) while streaming and appears only when complete; an
 * interrupted transfer leaves `NAME.part`, which the next run continues with an HTTP Range request.
 * Files already present and valid are not fetched again. Returns the local paths in input order.
 */
export async function downloadPackages(items: DownloadItem[], opts: DownloadOptions): Promise<string[]> {
  const fetcher = opts.fetcher ?? new Fetcher({ connections: opts.concurrency ?? 4 });
  await mkdir(opts.destdir, { recursive: true });
  const total = items.reduce((s, i) => s + (i.size ?? 0), 0);
  let done = 0;
  let files = 0;
  const report = (): void => opts.onProgress?.({ stage: 'download', done, total: total || undefined, unit: 'bytes', message: `${files}/${items.length} packages` });
  try {
    return await mapLimit(items, opts.concurrency ?? 4, async (item) => {
      const name = basename(item.location);
      if (!name.endsWith('.rpm') || name.startsWith('.')) throw new NotFoundError(`repo ${item.repo}: ${item.nevra}: location '${item.location}' is not an .rpm file`);
      const dest = join(opts.destdir, name);
      if (await alreadyDownloaded(dest, item)) {
        done += item.size ?? 0;
        files++;
        report();
        return dest;
      }
      let lastErr: unknown;
      for (const base of item.baseurls) {
        let got = 0;
        try {
          await fetcher.fetchToFile(base + item.location, dest, {
            what: `repo ${item.repo}: ${item.nevra}`,
            expected: { checksum: item.checksum, size: item.size },
            resume: true,
            onBytes: (n) => {
              got += n;
              done += n;
              report();
            },
          });
          files++;
          report();
          return dest;
        } catch (err) {
          done -= got;
          if (!(err instanceof FedostreeError)) throw err;
          lastErr = err;
        }
      }
      throw lastErr;
    });
  } finally {
    if (!opts.fetcher) await fetcher.close();
  }
}
