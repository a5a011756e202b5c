/**
 * `fedostree admin …`: the low-level sysroot commands, named and shaped like `ostree admin`.
 */
import { Command } from 'commander';
import { action, collect, intOption, printJson } from './_action.ts';
import { NotFoundError } from '../util/errors.ts';
import {
  Sysroot, adminDeploy, cleanup, editDeploymentKargs, initFs, osInit, setDefault, setPinned, statusOf, undeploy, RETAIN, type DeploymentStatus,
} from '../sysroot/index.ts';
import { sysrootOptions, type SysrootOpt } from './_options.ts';

export function openSysroot(o: SysrootOpt): Promise<Sysroot> {
  return Sysroot.open(o.sysroot, { cmdline: o.cmdline });
}

/** `ostree admin status` style. */
export function formatAdminStatus(list: DeploymentStatus[], bootedSystem: boolean): string {
  if (!list.length) return 'No deployments.\n';
  const bootedIdx = list.findIndex((d) => d.booted);
  let s = '';
  for (const d of list) {
    let tag = '';
    if (bootedSystem && bootedIdx >= 0 && !d.booted) tag = d.index < bootedIdx ? ' (pending)' : ' (rollback)';
    s += `${d.booted ? '*' : ' '} ${d.stateroot} ${d.id}${tag}${d.missing ? ' (directory missing)' : ''}\n`;
    if (d.version) s += `    Version: ${d.version}\n`;
    if (d.pinned) s += '    Pinned: yes\n';
    if (d.origin) s += `    origin refspec: ${d.origin}\n`;
    else s += `    origin: <unreadable: ${d.originError ?? 'missing'}>\n`;
    if (d.etcConflicts.length) s += `    /etc conflicts (local version kept): ${d.etcConflicts.join(', ')}\n`;
  }
  return s;
}

export function register(program: Command): void {
  const admin = program.command('admin').description('manage a sysroot: deployments, stateroots, boot entries (like ostree admin)');

  admin.command('init-fs').description('create an empty sysroot (top-level dirs and a bare repository)').argument('<dir>')
    .option('--json', 'machine-readable output')
    .action(action(async (dir: string, o: { json?: boolean }) => {
      await initFs(dir);
      if (o.json) printJson({ sysroot: dir });
    }));

  sysrootOptions(admin.command('os-init').description('create a stateroot (its persistent /var)').argument('<stateroot>'))
    .option('--share-home', "make this stateroot's /var/home the physical root's /home (shared by stateroots)")
    .action(action(async (name: string, o: SysrootOpt & { shareHome?: boolean }) => {
      await osInit(o.sysroot, name, { shareHome: o.shareHome });
      if (o.json) printJson({ stateroot: name });
      else process.stdout.write(`ostree/deploy/${name} initialized as OSTree root\n`);
    }));

  sysrootOptions(admin.command('deploy').description('check out a ref or commit as a new deployment and make it the default').argument('<ref>'))
    .option('--karg <arg>', 'replace the kernel arguments with these (repeatable)', collect)
    .option('--karg-append <arg>', 'append a kernel argument (repeatable)', collect)
    .option('--origin-file <refspec>', 'refspec to record in the origin instead of REF')
    .option('--retain', 'keep all existing deployments')
    .option('--retain-rollback', 'also keep the previous default')
    .option('--not-as-default', 'add it after the default')
    .action(action(async (ref: string, o: SysrootOpt & { karg?: string[]; kargAppend?: string[]; originFile?: string; retain?: boolean; retainRollback?: boolean; notAsDefault?: boolean }) => {
      const s = await openSysroot(o);
      const r = await adminDeploy(s, ref, {
        stateroot: o.os, kargs: o.karg, kargsAppend: o.kargAppend, origin: o.originFile, notAsDefault: o.notAsDefault,
        retain: o.retain ? RETAIN.all : o.retainRollback ? RETAIN.rollback : RETAIN.ostree,
      });
      if (o.json) {
        printJson(r);
        return;
      }
      if (r.etc) process.stdout.write(`Copying /etc changes: ${r.etc.modified.length} modified, ${r.etc.removed.length} removed, ${r.etc.added.length} added\n`);
      if (r.etc?.conflicts.length) process.stdout.write(`/etc conflicts (local version kept): ${r.etc.conflicts.join(', ')}\n`);
      process.stdout.write(`Bootloader updated; bootconfig swap: ${r.write.swappedBootversion ? 'yes' : 'no'}; bootversion: boot.${r.write.bootversion}.${r.write.subbootversion}\n`);
    }));

  sysrootOptions(admin.command('undeploy').description('remove the deployment at INDEX').argument('<index>', 'deployment index', intOption('INDEX')))
    .action(action(async (index: number, o: SysrootOpt) => {
      const s = await openSysroot(o);
      const d = await undeploy(s, index);
      if (o.json) printJson({ removed: `${d.stateroot}/${d.csum}.${d.serial}` });
      else process.stdout.write(`Deleted deployment ${d.csum}.${d.serial}\n`);
    }));

  sysrootOptions(admin.command('set-default').description('make the deployment at INDEX the default').argument('<index>', 'deployment index', intOption('INDEX')))
    .action(action(async (index: number, o: SysrootOpt) => {
      const s = await openSysroot(o);
      await setDefault(s, index);
      if (o.json) printJson({ default: index });
      else process.stdout.write(`Deployment ${index} is now the default\n`);
    }));

  sysrootOptions(admin.command('pin').description('protect the deployment at INDEX from cleanup').argument('<index>', 'deployment index', intOption('INDEX')))
    .option('-u, --unpin', 'remove the pin')
    .action(action(async (index: number, o: SysrootOpt & { unpin?: boolean }) => {
      const s = await openSysroot(o);
      await setPinned(s, index, !o.unpin);
      if (o.json) printJson({ index, pinned: !o.unpin });
      else process.stdout.write(`Deployment ${index} is now ${o.unpin ? 'unpinned' : 'pinned'}\n`);
    }));

  sysrootOptions(admin.command('unpin').description('remove the pin of the deployment at INDEX').argument('<index>', 'deployment index', intOption('INDEX')))
    .action(action(async (index: number, o: SysrootOpt) => {
      const s = await openSysroot(o);
      await setPinned(s, index, false);
      if (o.json) printJson({ index, pinned: false });
      else process.stdout.write(`Deployment ${index} is now unpinned\n`);
    }));

  sysrootOptions(admin.command('kargs').description('show or edit the kernel arguments of a deployment (in place)'))
    .option('--deploy-index <n>', 'deployment (default 0)', intOption('--deploy-index'), 0)
    .option('--append <arg>', 'append KEY=VALUE (repeatable)', collect)
    .option('--delete <arg>', 'delete KEY or KEY=VALUE (repeatable)', collect)
    .option('--replace <arg>', 'replace KEY=VALUE or KEY=OLD=NEW (repeatable)', collect)
    .action(action(async (o: SysrootOpt & { deployIndex: number; append?: string[]; delete?: string[]; replace?: string[] }) => {
      const s = await openSysroot(o);
      let kargs: string[];
      if (o.append || o.delete || o.replace) kargs = await editDeploymentKargs(s, o.deployIndex, { append: o.append, delete: o.delete, replace: o.replace });
      else {
        const d = s.deployments[o.deployIndex];
        if (!d) throw new NotFoundError(`no deployment with index ${o.deployIndex} (there are ${s.deployments.length})`);
        kargs = d.kargs;
      }
      if (o.json) printJson({ kargs });
      else process.stdout.write(kargs.join(' ') + '\n');
    }));

  sysrootOptions(admin.command('cleanup').description('delete files no deployment references and prune the repository'))
    .action(action(async (o: SysrootOpt) => {
      const s = await openSysroot(o);
      const r = await cleanup(s, { onlyStale: true });
      if (o.json) printJson(r);
      else process.stdout.write(`Removed ${r.removed.length} stale deployment(s); pruned ${r.prune.pruned} objects, freed ${r.prune.bytesFreed} bytes\n`);
    }));

  sysrootOptions(admin.command('status').description('list deployments'))
    .action(action(async (o: SysrootOpt) => {
      const s = await openSysroot(o);
      const list = await statusOf(s);
      if (o.json) printJson({ bootversion: s.bootversion, subbootversion: s.subbootversion, deployments: list });
      else process.stdout.write(formatAdminStatus(list, s.bootedSystem));
    }));
}
