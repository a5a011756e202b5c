import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { action, printJson } from './_action.ts';
import { addRepoOptions, repoSetOptions, type RepoCliOptions } from './rpm-md.ts';
import { FedostreeError, NotFoundError } from '../util/errors.ts';

/** The package manager's default install-only packages (several versions side by side). */
const INSTALLONLY = ['kernel', 'kernel-PAE', 'installonlypkg(kernel)', 'installonlypkg(kernel-module)', 'installonlypkg(vm)', 'multiversion(kernel)'];

interface ResolveOptions extends RepoCliOptions {
  installed?: string;
  best?: boolean;
  allowerasing?: boolean;
  weakDeps?: boolean;
  withOptional?: boolean;
  installonlyLimit?: string;
  timing?: boolean;
}

/** A solve that found no transaction: exit 1 with the explanation. */
class UnsolvableError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown>) {
    super('EUNSOLVABLE', message, data);
    this.name = 'UnsolvableError';
  }
}

export function register(program: Command): void {
  addRepoOptions(
    program
      .command('resolve')
      .description('resolve packages and @groups against rpm-md repositories and print the transaction')
      .argument('<spec...>', 'package names, provides, NEVRAs, @group or @^environment')
      .option('--installed <root>', 'the installed set: the rpmdb of this root (usr/share/rpm, else var/lib/rpm)')
      .option('--best', 'only the best candidates (fail rather than pick an older one)')
      .option('--allowerasing', 'allow removing installed packages to resolve conflicts')
      .option('--no-weak-deps', 'do not install Recommends/Supplements')
      .option('--with-optional', 'also install optional group members')
      .option('--installonly-limit <n>', 'versions of install-only packages to keep', '3')
      .option('--timing', 'print where the time went (to stderr)'),
  ).action(
    action(async (specs: string[], o: ResolveOptions) => {
      const t0 = performance.now();
      // Loaded here, not at startup, so other commands do not pay for them.
      const [{ loadRepoSet }, { addReposToPool, INSTALLED_REPO, obsoletesIndex, resolveRequest, transactionJson, transactionLines }, { Pool }] = await Promise.all([
        import('../rpm/rpmmd/reposet.ts'),
        import('../rpm/rpmmd/resolve.ts'),
        import('../solver/index.ts'),
      ]);
      const tMods = performance.now();
      const set = await loadRepoSet(repoSetOptions(o));
      const tMeta = performance.now();
      const pool = Pool.create({ arch: set.arch, installonly: INSTALLONLY, installonlyLimit: Number(o.installonlyLimit) || 3 });
      try {
        let installedNames: string[] = [];
        const tInst = performance.now();
        if (o.installed) {
          const dbDir = ['usr/share/rpm', 'var/lib/rpm'].map((d) => join(o.installed!, d)).find((d) => existsSync(d));
          if (!dbDir) throw new NotFoundError(`--installed ${o.installed}: no rpmdb under usr/share/rpm or var/lib/rpm`);
          const { readInstalledSet } = await import('../rpm/rpmmd/installed.ts');
          const pkgs = await readInstalledSet(dbDir);
          pool.addPackages(INSTALLED_REPO, pkgs);
          pool.setInstalled(INSTALLED_REPO);
          installedNames = pkgs.map((p) => p.name);
        }
        const installedMs = performance.now() - tInst;
        const load = await addReposToPool(pool, set.repos);
        const tObs = performance.now();
        const obsoletes = await obsoletesIndex(set.repos);
        const obsMs = performance.now() - tObs;
        const report = resolveRequest(pool, specs, set.comps, {
          best: o.best,
          allowErasing: o.allowerasing,
          noWeakDeps: o.weakDeps === false,
          withOptional: o.withOptional,
          installedNames,
          obsoletes,
        });
        for (const m of report.missingGroupPackages) process.stderr.write(`warning: no match for group package "${m}"\n`);
        if (o.timing) {
          const t = (ms: number): string => `${ms.toFixed(0)} ms`;
          process.stderr.write(
            `timing: start ${t(t0)} (process start to command), modules ${t(tMods - t0)}, metadata ${t(tMeta - tMods)}, installed set ${t(installedMs)}, pool load ${t(load.loadMs)} (${load.fromSolvCache}/${set.repos.length} from solv cache), obsoletes index ${t(obsMs)}, solve ${t(report.solveMs)}\n`,
          );
        }
        const out = report.outcome;
        if (!out.ok) {
          if (o.json) {
            printJson({ problems: out.problems });
            process.exitCode = 1;
            return;
          }
          const lines = out.problems.map((p, i) => `  problem ${i + 1}: ${p.summary}${p.details.map((d) => `\n    - ${d}`).join('')}`);
          throw new UnsolvableError(`no solution for the request:\n${lines.join('\n')}`, { problems: out.problems });
        }
        if (o.json) printJson(transactionJson(out.transaction));
        else for (const l of transactionLines(out.transaction)) process.stdout.write(`${l}\n`);
      } finally {
        pool.free();
      }
    }),
  );
}
