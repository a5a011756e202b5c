/**
 * `fedostree pull REMOTE [REF...]`: fetch commits from a remote into a repository of any mode.
 */
import type { Command } from 'commander';
import { action, intOption, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';
import { OstreeRepo, pull } from '../ostree/index.ts';

export function register(program: Command): void {
  program.command('pull').description('pull refs from a remote (verified, resumable)').argument('<remote>').argument('[refs...]')
    .option('--repo <path>', 'repository path (default: $OSTREE_REPO)')
    .option('--json', 'machine-readable output')
    .option('--depth <n>', 'parents to pull (-1 = all)', intOption('--depth'), 0)
    .option('--mirror', 'write refs under refs/heads and copy the summary')
    .option('--allow-downgrade', 'accept a commit older than the current one')
    .option('--commit-metadata-only', 'fetch commits only')
    .option('--disable-static-deltas', 'never use static deltas')
    .option('--require-static-deltas', 'fail unless static deltas are used')
    .option('--concurrency <n>', 'parallel requests', intOption('--concurrency'), 8)
    .action(action(async (remote: string, refs: string[], o: {
      repo?: string; json?: boolean; depth: number; mirror?: boolean; allowDowngrade?: boolean; commitMetadataOnly?: boolean;
      disableStaticDeltas?: boolean; requireStaticDeltas?: boolean; concurrency: number;
    }) => {
      const path = o.repo ?? process.env.OSTREE_REPO;
      if (!path) throw new UsageError('--repo=PATH is required (or set OSTREE_REPO)');
      if (o.concurrency < 1) throw new UsageError('--concurrency must be at least 1');
      const repo = await OstreeRepo.open(path);
      let last = 0;
      const tty = process.stderr.isTTY;
      const res = await pull(repo, remote, refs, {
        depth: o.depth, mirror: o.mirror, allowDowngrade: o.allowDowngrade, commitMetadataOnly: o.commitMetadataOnly,
        disableStaticDeltas: o.disableStaticDeltas, requireStaticDeltas: o.requireStaticDeltas, concurrency: o.concurrency,
        onProgress: tty ? (e) => {
          const now = Date.now();
          if (now - last < 200) return;
          last = now;
          process.stderr.write(`\r${e.stage}: ${e.done}${e.total ? `/${e.total}` : ''} ${e.unit ?? ''}   `);
        } : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (o.json) {
        printJson({ ...res, refs: Object.fromEntries(res.refs) });
        return;
      }
      for (const [ref, c] of res.refs) process.stdout.write(`${ref} ${c}${res.unchanged.includes(ref) ? ' (unchanged)' : ''}\n`);
      process.stdout.write(`${res.objectsFetched} objects fetched, ${res.objectsPresent} already present, ${res.bytesTransferred} bytes transferred${res.deltasUsed.length ? `, ${res.deltasUsed.length} static delta(s) used` : ''}\n`);
    }));
}
