import { Option, type Command } from 'commander';
import { OstreeRepo } from '../ostree/repo.ts';
import { UsageError } from '../util/errors.ts';

/** Options of every command that works on a repository (`--repo`, or $OSTREE_REPO as ostree does). */
export interface RepoOpt { repo?: string; json?: boolean }

export async function openRepo(o: RepoOpt): Promise<OstreeRepo> {
  const path = o.repo ?? process.env.OSTREE_REPO;
  if (!path) throw new UsageError('--repo=PATH is required (or set OSTREE_REPO)');
  return OstreeRepo.open(path);
}

/** Options of every command that works on a sysroot (`admin …` and the everyday client verbs). */
export interface SysrootOpt { sysroot: string; os?: string; json?: boolean; cmdline?: string }

export function sysrootOptions(cmd: Command): Command {
  return cmd
    .option('--sysroot <dir>', 'the physical root', '/')
    .option('--os <stateroot>', 'operate on this stateroot')
    .option('--json', 'machine-readable output')
    .addOption(new Option('--cmdline <args>', 'kernel command line for booted detection (tests)').hideHelp());
}
