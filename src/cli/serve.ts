/**
 * `fedostree serve`: serve an archive repository over HTTP for clients to pull from.
 */
import type { Command } from 'commander';
import { appendFileSync } from 'node:fs';
import { action, intOption, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';
import { OstreeRepo } from '../ostree/index.ts';
import { serveRepo } from '../server/index.ts';

export function register(program: Command): void {
  program.command('serve').description('serve an archive repository over HTTP (GET/HEAD, byte ranges)')
    .option('--repo <path>', 'repository path (default: $OSTREE_REPO)')
    .option('--bind <address>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port (0 = any free port)', intOption('--port'), 8080)
    .option('--access-log <file>', 'append one line per request to FILE')
    .option('--json', 'print {"url", "port"} as JSON once listening')
    .action(action(async (o: { repo?: string; bind: string; port: number; accessLog?: string; json?: boolean }) => {
      const path = o.repo ?? process.env.OSTREE_REPO;
      if (!path) throw new UsageError('--repo=PATH is required (or set OSTREE_REPO)');
      const repo = await OstreeRepo.open(path);
      if (!repo.isArchive) throw new UsageError(`${repo.path}: mode is '${repo.mode}'; only archive repositories can be served`);
      const log = o.accessLog;
      const srv = await serveRepo(repo.path, {
        host: o.bind, port: o.port,
        onRequest: log ? (e) => appendFileSync(log, `${new Date().toISOString()} ${e.method} ${e.path} ${e.status} ${e.bytes}\n`) : undefined,
      });
      if (o.json) printJson({ url: srv.url, port: srv.port });
      else process.stdout.write(`Serving ${repo.path} at ${srv.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void srv.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));
}
