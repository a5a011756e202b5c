/**
 * Everyday client verbs: `fedostree status|upgrade|rebase|rollback|deploy|cleanup`, shaped like
 * rpm-ostree's (human output and `--json`).
 */
import { Command } from 'commander';
import { action, printJson } from './_action.ts';
import { openSysroot } from './admin.ts';
import { cleanup, deployVersion, rebase, rollback, statusOf, upgrade, type DeploymentStatus, type DeployResult } from '../sysroot/index.ts';
import { sysrootOptions, type SysrootOpt } from './_options.ts';

function fmtTime(t: number | null): string {
  return t === null ? '' : new Date(t * 1000).toISOString().replace('.000Z', 'Z');
}

/** rpm-ostree style status. */
export function formatStatus(list: DeploymentStatus[], bootedSystem: boolean): string {
  let s = `State: idle\n${bootedSystem ? '' : 'Note: not booted into any deployment of this sysroot\n'}Deployments:\n`;
  const pad = (k: string): string => `${' '.repeat(Math.max(0, 25 - k.length))}${k}: `;
  for (const d of list) {
    const mark = d.booted ? '●' : ' ';
    s += `${mark} ${d.origin ?? '<origin unreadable>'}${d.default && !d.booted ? ' (default)' : ''}${d.rollback ? ' (rollback)' : ''}\n`;
    if (d.version) s += `${pad('Version')}${d.version} (${fmtTime(d.timestamp)})\n`;
    else if (d.timestamp !== null) s += `${pad('Timestamp')}${fmtTime(d.timestamp)}\n`;
    s += `${pad('Commit')}${d.checksum}\n`;
    if (new Set(list.map((x) => x.stateroot)).size > 1) s += `${pad('StateRoot')}${d.stateroot}\n`;
    if (d.pinned) s += `${pad('Pinned')}yes\n`;
    if (d.missing) s += `${pad('Error')}deployment directory missing\n`;
    if (d.originError) s += `${pad('Error')}${d.originError}\n`;
    if (d.etcConflicts.length) s += `${pad('EtcConflicts')}${d.etcConflicts.join(', ')} (local version kept)\n`;
    s += '\n';
  }
  return s.replace(/\n\n$/, '\n');
}

function printDeployed(r: DeployResult): void {
  if (r.etc) process.stdout.write(`Copying /etc changes: ${r.etc.modified.length} modified, ${r.etc.removed.length} removed, ${r.etc.added.length} added\n`);
  if (r.etc?.conflicts.length) process.stdout.write(`/etc conflicts (local version kept): ${r.etc.conflicts.join(', ')}\n`);
  process.stdout.write(`Staging deployment... done\nDeployed ${r.stateroot} ${r.commit}.${r.serial}\nRun "systemctl reboot" to start a reboot\n`);
}

export function register(program: Command): void {
  sysrootOptions(program.command('status').description('show the deployments of this system'))
    .action(action(async (o: SysrootOpt) => {
      const s = await openSysroot(o);
      const list = await statusOf(s);
      if (o.json) printJson({ booted: s.booted ? `${s.booted.stateroot}/${s.booted.csum}.${s.booted.serial}` : null, deployments: list });
      else process.stdout.write(formatStatus(list, s.bootedSystem));
    }));

  sysrootOptions(program.command('upgrade').description('pull the origin ref and deploy it when newer'))
    .option('--check', 'only check whether an upgrade is available')
    .option('--preview', 'show the package changes of the available upgrade')
    .option('--download-only', 'pull but do not deploy')
    .action(action(async (o: SysrootOpt & { check?: boolean; preview?: boolean; downloadOnly?: boolean }) => {
      const s = await openSysroot(o);
      const r = await upgrade(s, { stateroot: o.os, check: o.check, preview: o.preview, downloadOnly: o.downloadOnly });
      if (o.json) {
        const brief = (p: { nevra: string }): string => p.nevra;
        const pk = r.packages;
        printJson({
          ...r,
          packages: pk && {
            added: pk.added.map(brief), removed: pk.removed.map(brief),
            upgraded: pk.upgraded.map((c) => ({ name: c.name, arch: c.arch, from: c.from.nevra, to: c.to.nevra })),
            downgraded: pk.downgraded.map((c) => ({ name: c.name, arch: c.arch, from: c.from.nevra, to: c.to.nevra })),
          },
        });
        return;
      }
      if (!r.available) {
        process.stdout.write(`No upgrade available (${r.refspec} is at ${r.to}).\n`);
        return;
      }
      if (o.check) process.stdout.write(`Upgrade available: ${r.refspec} ${r.from} → ${r.to}\n`);
      else if (r.packages) {
        const p = r.packages;
        process.stdout.write(`Upgrade available: ${r.to}\n`);
        for (const c of p.upgraded) process.stdout.write(`  Upgraded: ${c.name} ${c.from.version}-${c.from.release} -> ${c.to.version}-${c.to.release}\n`);
        for (const c of p.downgraded) process.stdout.write(`  Downgraded: ${c.name} ${c.from.version}-${c.from.release} -> ${c.to.version}-${c.to.release}\n`);
        for (const a of p.added) process.stdout.write(`  Added: ${a.nevra}\n`);
        for (const a of p.removed) process.stdout.write(`  Removed: ${a.nevra}\n`);
      } else if (o.downloadOnly) process.stdout.write(`Downloaded ${r.to}; run 'fedostree upgrade' to deploy it\n`);
      else if (r.deployed) printDeployed(r.deployed);
    }));

  sysrootOptions(program.command('rebase').description('switch to another tree (REMOTE:REF or REF), keeping /etc and /var').argument('<refspec>'))
    .action(action(async (refspec: string, o: SysrootOpt) => {
      const s = await openSysroot(o);
      const r = await rebase(s, refspec, { stateroot: o.os });
      if (o.json) printJson(r);
      else printDeployed(r);
    }));

  sysrootOptions(program.command('deploy').description("deploy VERSION or CHECKSUM from the origin ref's history").argument('<version>'))
    .action(action(async (version: string, o: SysrootOpt) => {
      const s = await openSysroot(o);
      const r = await deployVersion(s, version, { stateroot: o.os });
      if (o.json) printJson(r);
      else printDeployed(r);
    }));

  sysrootOptions(program.command('rollback').description('make the previous deployment the default'))
    .action(action(async (o: SysrootOpt) => {
      const s = await openSysroot(o);
      const d = await rollback(s, o.os);
      if (o.json) printJson({ default: `${d.stateroot}/${d.csum}.${d.serial}` });
      else process.stdout.write(`Moving '${d.csum}.${d.serial}' to be first deployment\nRun "systemctl reboot" to start a reboot\n`);
    }));

  sysrootOptions(program.command('cleanup').description('remove unpinned deployments beyond booted/default/rollback and prune the repository'))
    .option('-r, --rollback', 'also remove the rollback deployment')
    .action(action(async (o: SysrootOpt & { rollback?: boolean }) => {
      const s = await openSysroot(o);
      const r = await cleanup(s, { rollback: o.rollback, stateroot: o.os });
      if (o.json) printJson(r);
      else process.stdout.write(`Deployments removed: ${r.removed.length}${r.removed.length ? ` (${r.removed.join(', ')})` : ''}\nPruned ${r.prune.pruned} objects, freed ${r.prune.bytesFreed} bytes\n`);
    }));
}
