import { Option, type Command } from 'commander';
import { OstreeRepo } from '../ostree/repo.ts';
import { UsageError } from '../util/errors.ts';
import { readKeysFile } from '../ostree/sign-ed25519.ts';
import type { SignOptions } from '../ostree/sign.ts';

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

/** Signing options as ostree names them (`--sign`, `--keys-file`, `--gpg-sign`, `--gpg-homedir`, `--sign-type`). */
export interface SignOpts { signType?: string; sign?: string[]; keysFile?: string; gpgSign?: string[]; gpgHomedir?: string }

/** The keys to sign with: inline ed25519 secrets, `extra` ones, those in the keys file, OpenPGP key ids. */
export async function signOptions(o: SignOpts, extra: string[] = []): Promise<SignOptions> {
  if (o.signType && o.signType !== 'ed25519') throw new UsageError(`--sign-type: '${o.signType}' is not supported (ed25519)`);
  const ed = [...(o.sign ?? []), ...extra];
  if (o.keysFile) ed.push(...(await readKeysFile(o.keysFile)));
  return { ed25519Secrets: ed, gpgKeyIds: o.gpgSign, gpgHomedir: o.gpgHomedir };
}
