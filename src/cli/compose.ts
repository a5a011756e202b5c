import type { Command } from 'commander';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BootTestRecord } from '../vm/boot-test.ts';
import { action, collect, printJson } from './_action.ts';
import type { SignOptions } from '../ostree/sign.ts';
import { signOptions } from './_options.ts';
import type { ProgressEvent } from '../util/progress.ts';

interface ComposeCliOptions {
  repo: string;
  cachedir?: string;
  dryRun?: boolean;
  printOnly?: boolean;
  writeComposejson?: string;
  forceNocache?: boolean;
  json?: boolean;
  verbose?: boolean;
  parallel?: string;
  sign?: string[];
  signKey?: string;
  gpgSign?: string[];
  gpgHomedir?: string;
  bootTest?: boolean;
  bootTestImages?: string;
}

/** One status line per stage on a TTY (stderr), nothing otherwise. */
function progressPrinter(): { onProgress: (e: ProgressEvent) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  const counts = new Map<string, number>();
  let last = 0;
  return {
    onProgress: (e) => {
      if (!tty) return;
      const done = e.stage === 'scripts' ? (counts.get('scripts') ?? 0) + e.done : e.done;
      counts.set(e.stage, done);
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const n = e.unit === 'bytes' ? `${(done / 1e6).toFixed(1)} MB` : `${done}${e.total ? `/${e.total}` : ''} ${e.unit ?? ''}`;
      process.stderr.write(`\r\x1b[K${e.stage}: ${n}${e.message ? ` ${e.message}` : ''}`.slice(0, (process.stderr.columns || 100) - 1));
    },
    end: () => {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

/** Keys to sign new commits and the summary with (ed25519 inline or from a file; OpenPGP key ids). */
async function composeSignOptions(o: ComposeCliOptions): Promise<SignOptions | undefined> {
  const so = await signOptions({ sign: o.sign, keysFile: o.signKey, gpgSign: o.gpgSign, gpgHomedir: o.gpgHomedir });
  return so.ed25519Secrets?.length || so.gpgKeyIds?.length ? so : undefined;
}

/**
 * Boot every tree that got a new commit from a cached disk image per ref (updated offline when it
 * exists) and record the result beside the commit; exit 1 when one fails.
 */
async function runBootTests(trees: Array<{ ref: string; commit: string | null; changed: boolean }>, o: ComposeCliOptions): Promise<BootTestRecord[]> {
  const { bootTest } = await import('../vm/index.ts');
  const dir = o.bootTestImages ?? join(o.cachedir ?? `${o.repo}.cache`, 'vm-images');
  await mkdir(dir, { recursive: true });
  const out: BootTestRecord[] = [];
  for (const t of trees) {
    if (!t.changed || !t.commit) continue;
    const image = join(dir, `${t.ref.replaceAll('/', '_')}.img`);
    const reuse = await stat(image).then(() => true, () => false);
    const r = await bootTest({ repo: o.repo, ref: t.ref, image, reuse });
    if (!r.passed) process.exitCode = 1;
    out.push(r);
  }
  return out;
}

async function runCompose(paths: string[], o: ComposeCliOptions, requireRef: boolean): Promise<void> {
  const { composeTrees } = await import('../compose/compose.ts');
  const p = progressPrinter();
  const log = (s: string): void => {
    if (o.verbose) {
      p.end();
      process.stderr.write(`${s}\n`);
    }
  };
  let res;
  try {
    res = await composeTrees(paths, {
      repo: o.repo, cachedir: o.cachedir, dryRun: o.dryRun, forceNocache: o.forceNocache, onProgress: p.onProgress, log,
      parallel: o.parallel ? Number(o.parallel) : undefined, sign: await composeSignOptions(o),
    }, requireRef);
  } finally {
    p.end();
  }
  if (o.writeComposejson) {
    const t = res.trees[0];
    await writeFile(o.writeComposejson, JSON.stringify({
      ref: t?.ref, 'commit-version': t?.version, 'ostree-commit': t?.commit, 'rpmostree-inputhash': t?.inputhash, 'ostree-parent-commit': t?.parent,
      packages: t?.packages, trees: res.trees.map((x) => ({ ref: x.ref, commit: x.commit, version: x.version, changed: x.changed })),
    }, null, 2) + '\n');
  }
  const bootTests = o.bootTest && !o.dryRun ? await runBootTests(res.trees, o) : [];
  if (o.json) {
    printJson(o.bootTest ? { ...res, bootTests } : res);
    return;
  }
  for (const r of bootTests) {
    process.stdout.write(`boot test ${r.passed ? 'PASS' : 'FAIL'} ${r.ref} ${r.commit}: ${r.reachedMultiUser ? `multi-user in ${r.bootSeconds.toFixed(1)} s` : 'did not reach multi-user'}\n`);
    for (const u of r.failedUnits) process.stdout.write(`  failed unit: ${u}\n`);
    if (!r.passed) process.stdout.write(`${r.consoleTail}\n`);
  }
  for (const t of res.trees) {
    if (o.dryRun) {
      process.stdout.write(`${t.ref}: ${t.packages.length} packages\n`);
      for (const n of t.packages) process.stdout.write(`  ${n}\n`);
    } else if (!t.changed) process.stdout.write(`${t.ref}: no changes (${t.commit ?? ''})\n`);
    else process.stdout.write(`${t.ref}: ${t.commit ?? ''}${t.version ? ` version ${t.version}` : ''} (${t.packages.length} packages)\n`);
  }
  if (!o.dryRun) {
    const parts = Object.entries(res.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`);
    const scripts = res.trees.reduce((n, t) => n + t.scripts.length, 0);
    const written = res.trees.reduce((n, t) => n + (t.stats?.written ?? 0), 0);
    process.stdout.write(
      `${res.trees.length} trees, ${res.cachedPackages} packages (${(res.downloadedBytes / 1e6).toFixed(1)} MB of packages, ${res.imported} newly imported), ` +
        `${scripts} scripts run, ${written} objects written\ntiming: ${parts.join(', ')}\n`,
    );
  }
}

export function register(program: Command): void {
  const compose = program.command('compose').description('compose treefiles into OSTree commits');
  const common = (c: Command): Command =>
    c
      .requiredOption('--repo <path>', 'output OSTree repository')
      .option('--cachedir <path>', 'cache for metadata, downloads, the package cache and build roots')
      .option('--dry-run', 'resolve and print the package sets; write nothing')
      .option('--force-nocache', 'commit even when nothing changed')
      .option('--write-composejson <file>', 'write a JSON summary of the compose')
      .option('--parallel <n>', 'trees assembled at once')
      .option('-v, --verbose', 'log scriptlets and decisions to stderr')
      .option('--sign <key>', 'sign new commits and the summary with this ed25519 secret key (base64; repeatable)', collect)
      .option('--sign-key <file>', 'ed25519 secret keys to sign with, one per line (from repo sign-keygen)')
      .option('--gpg-sign <keyid>', 'sign new commits and the summary with this OpenPGP key (repeatable)', collect)
      .option('--gpg-homedir <dir>', 'GnuPG home directory holding the --gpg-sign key')
      .option('--boot-test', 'boot each new commit in a VM (multi-user, no failed units) and record the result in the repository')
      .option('--boot-test-images <dir>', 'where the per-ref disk images are cached (default: CACHEDIR/vm-images)')
      .option('--json', 'print the result as JSON');
  common(
    compose
      .command('tree')
      .description('compose one treefile')
      .argument('<treefile>', 'YAML or JSON treefile')
      .option('--print-only', 'print the fully expanded treefile as JSON and exit'),
  ).action(
    action(async (treefile: string, o: ComposeCliOptions) => {
      if (o.printOnly) {
        const [{ loadTreefile }, { hostArch, basearchOf }] = await Promise.all([import('../compose/treefile.ts'), import('../rpm/rpmmd/reposet.ts')]);
        const t = await loadTreefile(treefile, basearchOf(hostArch()));
        printJson(t.treefile);
        return;
      }
      await runCompose([treefile], o, true);
    }),
  );
  common(compose.command('all').description('compose every treefile under a directory').argument('<dir>', 'directory of treefiles')).action(
    action(async (dir: string, o: ComposeCliOptions) => {
      const { findTreefiles } = await import('../compose/compose.ts');
      await runCompose(await findTreefiles(dir), o, false);
    }),
  );
}
