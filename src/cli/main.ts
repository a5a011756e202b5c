import { Command, CommanderError } from 'commander';
import { reportError } from './_action.ts';
import { UsageError } from '../util/errors.ts';

/**
 * The fedostree command line. Each command group lives in its own file and exports `register`.
 * This file only wires them together and maps errors to exit codes.
 */
const program = new Command();
program
  .name('fedostree')
  .description('Compose RPM package sets into OSTree commits, deliver them over HTTP, deploy them atomically.')
  .version('0.1.0')
  .option('--debug', 'print stack traces for errors')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str.startsWith('error:') ? str : `error: ${str}`) });

/**
 * Each command group lives in one module. Start-up: a command named here loads only its own module
 * (the others pull in heavy layers it does not need); anything else (--help, `help`, an unknown
 * command, an option before the command) loads every module, in this order.
 */
const client = (): Promise<{ register: (p: Command) => void }> => import('./client.ts');
const commandModules: Record<string, () => Promise<{ register: (p: Command) => void }>> = {
  repo: () => import('./repo.ts'),
  'rpm-md': () => import('./rpm-md.ts'),
  resolve: () => import('./resolve.ts'),
  rpm: () => import('./rpm.ts'),
  compose: () => import('./compose.ts'),
  serve: () => import('./serve.ts'),
  remote: () => import('./remote.ts'),
  pull: () => import('./pull.ts'),
  admin: () => import('./admin.ts'),
  // the everyday client verbs, run on every booted machine: start-up matters most there
  status: client, upgrade: client, rebase: client, rollback: client, deploy: client, cleanup: client,
  vm: () => import('./vm.ts'),
};
const registrations = [...new Set(Object.values(commandModules))];
const first = process.argv.slice(2).find((a) => !a.startsWith('-'));
const only = first !== undefined && Object.hasOwn(commandModules, first) ? commandModules[first] : undefined;
for (const load of only ? [only] : registrations) (await load()).register(program);

for (const cmd of program.commands) cmd.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; everything else commander rejects is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    reportError(err instanceof Error ? err : new UsageError(String(err)));
  }
}
