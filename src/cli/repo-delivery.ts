/**
 * Delivery verbs under `fedostree repo`: summary, sign / gpg-sign, key generation, static-delta,
 * pull-local.
 */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { action, collect, intOption, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';
import {
  OstreeRepo, updateSummary, parseSummary, signSummary, signCommit, verifyCommit, readKeysFile, ed25519Generate,
  gpgGenerateKey, gpgExportKey, pullLocal,
} from '../ostree/index.ts';
import { generateStaticDelta, listStaticDeltasCli, showStaticDelta } from '../ostree/index.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openRepo, signOptions, type RepoOpt, type SignOpts } from './_options.ts';

export function registerRepoDelivery(repo: Command): void {
  const withRepo = (cmd: Command): Command => cmd.option('--repo <path>', 'repository path (default: $OSTREE_REPO)').option('--json', 'machine-readable output');

  withRepo(repo.command('summary').description('regenerate, sign or show the summary file'))
    .option('-u, --update', 'regenerate the summary (and delta indexes)')
    .option('-v, --view', 'show the summary')
    .option('--sign-type <type>', 'signature type (ed25519)')
    .option('--sign <secret>', 'ed25519 secret key (base64)', collect)
    .option('--keys-file <file>', 'file with secret keys, one per line')
    .option('--gpg-sign <keyid>', 'sign with this OpenPGP key', collect)
    .option('--gpg-homedir <dir>', 'GnuPG home directory with the secret key')
    .option('--expires <seconds>', 'expiry (seconds since the epoch)', intOption('--expires'))
    .action(action(async (o: RepoOpt & SignOpts & { update?: boolean; view?: boolean; expires?: number }) => {
      const r = await openRepo(o);
      if (!o.update && !o.view && !o.sign?.length && !o.keysFile && !o.gpgSign?.length) throw new UsageError('repo summary: give --update, --view or a signing key');
      if (o.update) await updateSummary(r, { expires: o.expires === undefined ? undefined : BigInt(o.expires) });
      if (o.sign?.length || o.keysFile || o.gpgSign?.length) await signSummary(r, await signOptions(o));
      if (o.view) {
        let data: Buffer;
        try {
          data = await readFile(join(r.path, 'summary'));
        } catch {
          throw new UsageError(`${r.path}: no summary (run 'repo summary -u')`);
        }
        const s = parseSummary(data, `${r.path}/summary`);
        if (o.json) {
          printJson({
            refs: Object.fromEntries([...s.refs].map(([k, v]) => [k, { checksum: v.checksum, size: Number(v.commitSize), timestamp: v.timestamp, version: v.version }])),
            lastModified: s.lastModified, mode: s.mode, deltas: Object.fromEntries(s.deltas), indexedDeltas: s.indexedDeltas,
          });
          return;
        }
        for (const [name, ref] of s.refs) {
          process.stdout.write(`* ${name}\n    Latest Commit (${ref.commitSize} bytes):\n      ${ref.checksum}\n`);
          if (ref.version) process.stdout.write(`    Version (ostree.commit.version): ${ref.version}\n`);
          if (ref.timestamp !== undefined) process.stdout.write(`    Timestamp (ostree.commit.timestamp): ${new Date(Number(ref.timestamp) * 1000).toISOString()}\n`);
          process.stdout.write('\n');
        }
        for (const [name, sha] of s.deltas) process.stdout.write(`Static delta ${name}: ${sha}\n`);
        if (s.lastModified !== undefined) process.stdout.write(`Last-Modified (ostree.summary.last-modified): ${new Date(Number(s.lastModified) * 1000).toISOString()}\n`);
      }
    }));

  withRepo(repo.command('sign').description('sign a commit (ed25519), or --verify its signatures')).argument('<commit>').argument('[keys...]')
    .option('--sign-type <type>', 'signature type (ed25519)', 'ed25519')
    .option('--keys-file <file>', 'file with keys, one per line')
    .option('--verify', 'verify with the given public keys instead of signing')
    .action(action(async (rev: string, keys: string[], o: RepoOpt & SignOpts & { verify?: boolean }) => {
      const r = await openRepo(o);
      const commit = (await r.resolveRev(rev)) as string;
      if (o.verify) {
        const pub = [...keys];
        if (o.keysFile) pub.push(...(await readKeysFile(o.keysFile)));
        if (!pub.length) throw new UsageError('repo sign --verify needs at least one public key');
        const res = await verifyCommit(r, commit, { ed25519Keys: pub });
        if (o.json) printJson(res);
        else for (const k of res.ed25519) process.stdout.write(`ed25519: Signature verified successfully with key '${Buffer.from(k, 'base64').toString('hex')}'\n`);
        return;
      }
      const so = await signOptions(o, keys);
      if (!so.ed25519Secrets?.length) throw new UsageError('repo sign needs a secret key (argument or --keys-file)');
      await signCommit(r, commit, { ed25519Secrets: so.ed25519Secrets });
    }));

  withRepo(repo.command('gpg-sign').description('sign a commit with OpenPGP keys')).argument('<commit>').argument('<keyids...>')
    .option('--gpg-homedir <dir>', 'GnuPG home directory with the secret keys')
    .action(action(async (rev: string, keyIds: string[], o: RepoOpt & { gpgHomedir?: string }) => {
      const r = await openRepo(o);
      if (!o.gpgHomedir) throw new UsageError('--gpg-homedir is required');
      await signCommit(r, (await r.resolveRev(rev)) as string, { gpgKeyIds: keyIds, gpgHomedir: o.gpgHomedir });
    }));

  repo.command('sign-keygen').description('generate an ed25519 key pair (base64, the peer tool\'s layout)')
    .option('--secret-file <file>', 'write the secret key here (mode 0600)')
    .option('--public-file <file>', 'write the public key here')
    .option('--json', 'machine-readable output')
    .action(action(async (o: { secretFile?: string; publicFile?: string; json?: boolean }) => {
      const k = ed25519Generate();
      if (o.secretFile) await writeFile(o.secretFile, k.secretKey + '\n', { mode: 0o600, flag: 'wx' });
      if (o.publicFile) await writeFile(o.publicFile, k.publicKey + '\n');
      if (o.json) printJson(o.secretFile ? { publicKey: k.publicKey } : k);
      else process.stdout.write(o.secretFile ? `${k.publicKey}\n` : `public: ${k.publicKey}\nsecret: ${k.secretKey}\n`);
    }));

  repo.command('gpg-key').description('generate an unprotected OpenPGP signing key in a GnuPG home directory')
    .requiredOption('--gpg-homedir <dir>', 'GnuPG home directory (created)')
    .option('--uid <userid>', 'user ID', 'fedostree signing key <signing@localhost>')
    .option('--export <file>', 'write the public key (binary) to FILE')
    .option('--json', 'machine-readable output')
    .action(action(async (o: { gpgHomedir: string; uid: string; export?: string; json?: boolean }) => {
      const fpr = await gpgGenerateKey(o.gpgHomedir, o.uid);
      if (o.export) await writeFile(o.export, await gpgExportKey(o.gpgHomedir, fpr));
      if (o.json) printJson({ fingerprint: fpr });
      else process.stdout.write(`${fpr}\n`);
    }));

  withRepo(repo.command('pull-local').description('copy refs from another local repository')).argument('<src>').argument('[refs...]')
    .option('--remote <name>', 'write refs as REMOTE:REF')
    .option('--allow-downgrade', 'accept a commit older than the current one')
    .option('--depth <n>', 'parents to copy (-1 = all; archive sources)', intOption('--depth'), 0)
    .action(action(async (src: string, refs: string[], o: RepoOpt & { remote?: string; allowDowngrade?: boolean; depth: number }) => {
      const r = await openRepo(o);
      let list = refs;
      if (!list.length) list = [...(await (await OstreeRepo.open(src)).listRefs()).keys()].filter((k) => !k.includes(':'));
      const res = await pullLocal(r, src, list, { remote: o.remote, allowDowngrade: o.allowDowngrade, depth: o.depth });
      if (o.json) printJson({ ...res, refs: Object.fromEntries(res.refs) });
      else process.stdout.write(`${res.objectsFetched} objects copied, ${res.objectsPresent} already present\n`);
    }));

  const sd = repo.command('static-delta').description('static deltas: generate, list, show');
  withRepo(sd.command('generate').description('generate a static delta FROM→TO (or from scratch)'))
    .option('--from <rev>', 'source commit')
    .option('--empty', 'from scratch (no source commit)')
    .requiredOption('--to <rev>', 'target commit')
    .option('--max-chunk-size <mb>', 'uncompressed part size limit (MB)', intOption('--max-chunk-size'), 32)
    .option('--min-fallback-size <mb>', 'objects larger than this are fetched loose (MB)', intOption('--min-fallback-size'), 4)
    .option('--disable-compression', 'store parts uncompressed')
    .action(action(async (o: RepoOpt & { from?: string; empty?: boolean; to: string; maxChunkSize: number; minFallbackSize: number; disableCompression?: boolean }) => {
      const r = await openRepo(o);
      const to = (await r.resolveRev(o.to)) as string;
      let from: string | null = null;
      if (o.from && o.empty) throw new UsageError('--from and --empty are exclusive');
      if (o.from) from = (await r.resolveRev(o.from));
      else if (!o.empty) {
        const c = await r.readCommit(to);
        from = c.parent;
        if (!from) throw new UsageError(`commit ${to} has no parent; use --empty or --from`);
      }
      const res = await generateStaticDelta(r, from, to, {
        maxChunkSize: o.maxChunkSize * 1_000_000, minFallbackSize: o.minFallbackSize * 1_000_000, compress: !o.disableCompression,
      });
      if (o.json) printJson(res);
      else process.stdout.write(`Generated static delta ${res.name}: ${res.parts} part(s), ${res.fallbacks} fallback(s), ${res.size} bytes\n`);
    }));
  withRepo(sd.command('list').description('list static deltas'))
    .action(action(async (o: RepoOpt) => {
      const names = await listStaticDeltasCli(await openRepo(o));
      if (o.json) printJson(names);
      else process.stdout.write(names.length ? names.map((n) => n + '\n').join('') : '(No static deltas)\n');
    }));
  withRepo(sd.command('show').description('describe a static delta')).argument('<name>')
    .action(action(async (name: string, o: RepoOpt) => {
      const info = await showStaticDelta(await openRepo(o), name);
      if (o.json) printJson(info);
      else {
        process.stdout.write(`Delta: ${name}\nFrom: ${info.from ?? '<scratch>'}\nTo: ${info.to}\nTimestamp: ${info.timestamp}\nNumber of parts: ${info.parts.length}\n`);
        info.parts.forEach((p, i) => process.stdout.write(`PartMeta${i}: nobjects=${p.objects} size=${p.size} usize=${p.usize}\n`));
        process.stdout.write(`Number of fallback entries: ${info.fallbacks}\n`);
      }
    }));
}
