import type { Command } from 'commander';
import { action, printJson } from './_action.ts';
import { UsageError } from '../util/errors.ts';
import { openPackage } from '../rpm/package.ts';
import { formatDep, readDeps, type DepKind } from '../rpm/deps.ts';
import { dumpLine, modeString, readFiles } from '../rpm/files.ts';
import { formatFileTriggers, formatScripts, formatTriggers, readFileTriggers, readScriptlets, readTriggers } from '../rpm/scripts.ts';
import { describePackage, verifyPackage } from '../rpm/inspect.ts';
import { extract } from '../rpm/extract.ts';
import { registerRpmDb } from './rpm-db.ts';

const DEP_OPTIONS: DepKind[] = ['requires', 'provides', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'];

function date(t: number): string {
  return new Date(t * 1000).toUTCString();
}

/** `fedostree rpm …`: inspect, verify and extract package files. */
export function register(program: Command): void {
  const rpm = program.command('rpm').description('inspect, verify and extract RPM package files');
  registerRpmDb(rpm);

  const deps = rpm
    .command('deps')
    .description('print dependencies of a package file, one per line, like rpm -qp --requires')
    .argument('<file>', 'package file')
    .option('--json', 'print JSON (parsed, with rich dependencies as expressions)');
  for (const k of DEP_OPTIONS) deps.option(`--${k}`, `list ${k}`);
  deps.action(
    action(async (file: string, o: Partial<Record<DepKind, boolean>> & { json?: boolean }) => {
      const kinds = DEP_OPTIONS.filter((k) => o[k]);
      if (kinds.length === 0) throw new UsageError(`rpm deps: pick one of ${DEP_OPTIONS.map((k) => `--${k}`).join(' ')}`);
      const pkg = await openPackage(file);
      if (o.json) {
        const out: Partial<Record<DepKind, unknown>> = {};
        for (const k of kinds) out[k] = readDeps(pkg.header, k, pkg.what);
        printJson(out);
        return;
      }
      let s = '';
      for (const k of kinds) for (const d of readDeps(pkg.header, k, pkg.what)) s += `${formatDep(d)}\n`;
      process.stdout.write(s);
    }),
  );

  rpm
    .command('info')
    .description('describe a package file (headers are checked against their digests)')
    .argument('<file>', 'package file')
    .option('--json', 'print everything the headers say as JSON')
    .action(
      action(async (file: string, o: { json?: boolean }) => {
        const d = describePackage(await openPackage(file));
        if (o.json) {
          printJson(d);
          return;
        }
        const lines: [string, string | number | undefined][] = [
          ['Name', d.name],
          ['Epoch', d.epoch],
          ['Version', d.version],
          ['Release', d.release],
          ['Architecture', d.arch],
          ['Size', d.size],
          ['License', d.license],
          ['Signature', d.signature ? `${d.signature.pubkeyAlgo}/${d.signature.hashAlgo}, Key ID ${d.signature.keyId ?? '?'}` : '(none)'],
          ['Source RPM', d.sourcerpm],
          ['Build Date', date(d.buildtime)],
          ['Build Host', d.buildhost],
          ['Packager', d.packager],
          ['Vendor', d.vendor],
          ['URL', d.url],
          ['Payload', `${d.payloadFormat}, ${d.payloadCompressor}${d.payloadFlags ? ` ${d.payloadFlags}` : ''}`],
          ['Header digests', `sha256 ${d.digests.sha256}, sha1 ${d.digests.sha1}, size ${d.digests.size}`],
          ['Files', d.files.length],
          ['Summary', d.summary],
        ];
        let s = '';
        for (const [k, v] of lines) if (v !== undefined && v !== '') s += `${k.padEnd(12)}: ${v}\n`;
        s += `Description :\n${d.description}\n`;
        process.stdout.write(s);
      }),
    );

  rpm
    .command('ls')
    .description('list the files of a package file')
    .argument('<file>', 'package file')
    .option('--dump', 'print rpm -qp --dump lines')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, o: { dump?: boolean; json?: boolean }) => {
        const pkg = await openPackage(file);
        const { files, digestAlgo } = readFiles(pkg.header, pkg.what);
        if (o.json) {
          printJson({ digestAlgo, files });
          return;
        }
        let s = '';
        for (const f of files) {
          if (o.dump) s += `${dumpLine(f, digestAlgo)}\n`;
          else s += `${modeString(f.mode)} ${f.user.padEnd(8)} ${f.group.padEnd(8)} ${String(f.size).padStart(10)} ${f.path}${f.linkTo ? ` -> ${f.linkTo}` : ''}\n`;
        }
        process.stdout.write(s);
      }),
    );

  rpm
    .command('scripts')
    .description('print scriptlets (and with --triggers / --filetriggers, triggers) like rpm -qp --scripts')
    .argument('<file>', 'package file')
    .option('--triggers', 'print triggers (rpm -qp --triggers)')
    .option('--filetriggers', 'print file triggers (rpm -qp --filetriggers)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, o: { triggers?: boolean; filetriggers?: boolean; json?: boolean }) => {
        const pkg = await openPackage(file);
        const scriptlets = readScriptlets(pkg.header);
        const triggers = readTriggers(pkg.header, pkg.what);
        const fileTriggers = readFileTriggers(pkg.header, pkg.what);
        if (o.json) {
          printJson({ scriptlets, triggers, fileTriggers });
          return;
        }
        let s = '';
        if (!o.triggers && !o.filetriggers) s += formatScripts(scriptlets);
        if (o.triggers) s += formatTriggers(triggers);
        if (o.filetriggers) s += formatFileTriggers(fileTriggers);
        process.stdout.write(s);
      }),
    );

  rpm
    .command('verify')
    .description('check header digests, every file digest and the payload digest')
    .argument('<file...>', 'package files')
    .option('--json', 'print JSON')
    .action(
      action(async (files: string[], o: { json?: boolean }) => {
        const out = [];
        for (const f of files) out.push({ file: f, ...(await verifyPackage(f)) });
        if (o.json) printJson(out);
        else for (const r of out) process.stdout.write(`${r.file}: ok (${r.files} files, ${r.bytes} bytes)\n`);
      }),
    );

  rpm
    .command('extract')
    .description('safely extract the payload of a package file into a directory (like rpm2cpio | cpio -idm)')
    .argument('<file>', 'package file')
    .argument('<dir>', 'target directory (created if missing)')
    .option('--owners', 'set owners from the package (names resolved in the host /etc/passwd and /etc/group)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, dir: string, o: { owners?: boolean; json?: boolean }) => {
        const r = await extract(file, dir, { owners: o.owners });
        if (o.json) printJson(r);
        else process.stdout.write(`${r.files} files, ${r.bytes} bytes extracted to ${dir}\n`);
      }),
    );

}
