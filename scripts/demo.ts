/**
 * The fedostree story on the bundled sample distribution, narrated step by step:
 * sample RPMs → compose three signed trees → serve over HTTP → a client sysroot pulls, verifies and
 * deploys → a v2 compose → upgrade with a package preview → rollback → then the same on a real
 * machine: a disk image of v1 boots in qemu, upgrades itself over HTTP, reboots into v2, rolls back.
 * Every step is a real `fedostree` command, printed before it runs, so it doubles as a tutorial.
 * Work files live in ${FEDOSTREE_DEMO_DIR:-~/.cache/fedostree/demo} (kept between runs: a second run
 * finds "no changes" and takes seconds); the client sysroot is made fresh in a temp directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, access } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Vm } from '../src/vm/index.ts';

const project = resolve(import.meta.dirname, '..');
const cli = join(project, 'bin/fedostree.js');
const started = performance.now();

function say(title: string): void {
  const secs = ((performance.now() - started) / 1000).toFixed(0);
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m  (+${secs}s)\n`);
}

/** Run `fedostree ARGS`, echoing the command and its output; throws on failure. */
function fedostree(args: string[], opts: { quiet?: boolean } = {}): string {
  process.stdout.write(`$ fedostree ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (!opts.quiet && r.stdout) process.stdout.write(r.stdout.replace(/^(?=.)/gm, '  '));
  if (r.status !== 0) throw new Error(`fedostree ${args[0]} failed (exit ${r.status})`);
  return r.stdout;
}

/** Boot DISK and wait for multi-user and the agent; prints the boot time. */
async function bootVm(disk: string): Promise<Vm> {
  process.stdout.write(`$ fedostree vm boot ${disk}   (the default boot entry picks the tree)\n`);
  const vm = await Vm.start({ image: disk, agent: true });
  if (!(await vm.waitMultiUser(420_000)) || !(await vm.waitAgent(120_000))) {
    const tail = (await vm.console()).slice(-2000);
    await vm.stop();
    throw new Error(`the machine did not come up; console tail:\n${tail}`);
  }
  process.stdout.write(`  multi-user after ${((Date.now() - vm.started) / 1000).toFixed(1)} s (${vm.accel}); console log: ${vm.consoleLog}\n`);
  return vm;
}

/** Run a shell command in the guest as root, echoing it and its output; throws on failure. */
async function inGuest(vm: Vm, cmd: string): Promise<string> {
  process.stdout.write(`[machine]# ${cmd}\n`);
  const r = await vm.exec(cmd, 300_000);
  if (r.out) process.stdout.write(r.out.replace(/\n?$/, '\n').replace(/^(?=.)/gm, '  '));
  if (r.rc !== 0) throw new Error(`in the machine: ${cmd} exited ${r.rc}`);
  return r.out;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

const work = process.env.FEDOSTREE_DEMO_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fedostree', 'demo');
await mkdir(work, { recursive: true });
const repo = join(work, 'repo');
const cachedir = join(work, 'cache');
const key = join(work, 'ed25519');

say('1. Sample distribution: Debian 12 binaries rebuilt as real RPMs with rpmbuild (cached after the first run)');
const samples = spawnSync(process.execPath, [join(project, 'samples/build.ts')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (samples.status !== 0) throw new Error('building the sample distribution failed');
const sampleDir = samples.stdout.trim().split('\n').pop() as string;
process.stdout.write(`  repositories and treefiles in ${sampleDir}\n`);

say('2. A signing key for the build server (ed25519, the format `ostree sign` uses)');
if (!(await exists(`${key}.secret`))) fedostree(['repo', 'sign-keygen', '--secret-file', `${key}.secret`, '--public-file', `${key}.pub`]);
const publicKey = (await readFile(`${key}.pub`, 'utf8')).trim();
process.stdout.write(`  public key: ${publicKey}\n`);

say('3. Compose every sample treefile (v1): resolve, import each RPM once, assemble, run scriptlets, commit, sign');
if (!(await exists(join(repo, 'config')))) fedostree(['repo', 'init', '--repo', repo, '--mode', 'archive']);
fedostree(['compose', 'all', join(sampleDir, 'trees'), '--repo', repo, '--cachedir', cachedir, '--sign-key', `${key}.secret`]);

say('4. What the repository holds: refs, versions, package counts');
const refs = fedostree(['repo', 'refs', '--repo', repo], { quiet: true }).split('\n').filter((r) => r.startsWith('fedostree/'));
for (const ref of refs) {
  // Metadata values come as GVariant text: 'string' and [(name, epoch, version, release, arch), …].
  const show = JSON.parse(fedostree(['repo', 'show', '--repo', repo, '--json', ref], { quiet: true })) as { checksum: string; metadata?: Record<string, string> };
  const meta = show.metadata ?? {};
  const text = (k: string): string => (meta[k] ?? '-').replace(/^'(.*)'$/, '$1');
  const pkgs = (meta['rpmostree.rpmdb.pkglist'] ?? '').match(/\('/g)?.length ?? 0;
  process.stdout.write(`  ${ref}\n    commit ${show.checksum.slice(0, 12)}, version ${text('version')}, ${pkgs} packages, kernel ${text('ostree.linux')}\n`);
}
const ref = refs.find((r) => r.endsWith('/base/minimal')) as string;

say('5. Serve the repository over plain HTTP (any static server works; this one is built in)');
const server = spawn(process.execPath, [cli, 'serve', '--repo', repo, '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((res, rej) => {
  // `serve --json` prints one JSON object (possibly over several lines) once it listens.
  let text = '';
  const lines = createInterface({ input: server.stdout });
  lines.on('line', (l) => {
    text += l;
    try {
      res((JSON.parse(text) as { url: string }).url);
      lines.close();
    } catch {
      // not complete yet
    }
  });
  server.once('exit', (code) => rej(new Error(`serve exited with ${code}`)));
});
process.stdout.write(`  serving ${repo} at ${url}\n`);

const sysroot = await mkdtemp(join(tmpdir(), 'fedostree-demo-sysroot-'));
try {
  say(`6. A client: an empty sysroot in ${sysroot}, a remote that requires our signature, pull, deploy`);
  fedostree(['admin', 'init-fs', sysroot]);
  fedostree(['admin', 'os-init', '--sysroot', sysroot, 'sample']);
  fedostree(['remote', 'add', '--repo', join(sysroot, 'ostree/repo'), '--no-gpg-verify', `--sign-verify=ed25519=inline:${publicKey}`, 'sample', url]);
  fedostree(['pull', '--repo', join(sysroot, 'ostree/repo'), 'sample', ref]);
  fedostree(['admin', 'deploy', '--sysroot', sysroot, '--os', 'sample', `sample:${ref}`]);
  fedostree(['status', '--sysroot', sysroot]);

  say('7. The build server composes v2 (three packages updated, one added, one removed)');
  fedostree(['compose', 'all', join(sampleDir, 'trees-v2'), '--repo', repo, '--cachedir', cachedir, '--sign-key', `${key}.secret`]);

  say('8. The client previews and applies the upgrade: a new deployment beside the old one');
  fedostree(['upgrade', '--sysroot', sysroot, '--os', 'sample', '--preview']);
  fedostree(['upgrade', '--sysroot', sysroot, '--os', 'sample']);
  fedostree(['status', '--sysroot', sysroot]);

  say('9. Something is wrong with v2? Roll back: the previous deployment becomes the default again');
  fedostree(['rollback', '--sysroot', sysroot, '--os', 'sample']);
  fedostree(['status', '--sysroot', sysroot]);

  say('10. The boot entries a boot loader reads');
  const entries = spawnSync('sh', ['-c', `head -n 20 ${sysroot}/boot/loader/entries/*.conf`], { encoding: 'utf8' });
  process.stdout.write(entries.stdout.replace(/^(?=.)/gm, '  '));

  // The guest reaches the host's server as 10.0.2.2 (qemu user-mode networking).
  const guestUrl = url.replace(/\/\/[^/:]+/, '//10.0.2.2');
  const disk = join(work, 'machine.img');
  say('11. A real machine: a disk image of v1 (separate /boot, the remote and its key recorded)');
  fedostree(['vm', 'image', '--repo', repo, '--ref', `${ref}^`, '-o', disk, '--remote', `sample=${guestUrl}`, '--remote-sign-verify', `ed25519=inline:${publicKey}`, '--agent']);
  process.stdout.write('  (--agent adds a root shell on a second serial port, so this script can type into the guest)\n');

  say('12. Boot it in qemu (KVM when it works, else TCG: about half a minute)');
  let vm = await bootVm(disk);
  try {
    await inGuest(vm, 'cat /etc/os-release | grep -E "^(NAME|VERSION)="');
    await inGuest(vm, 'fedostree status');
    await inGuest(vm, 'touch /usr/probe || echo "/usr is read-only, as it should be"');

    say('13. Inside the machine: upgrade over HTTP from the build server (signature checked), reboot');
    await inGuest(vm, 'fedostree upgrade --preview');
    await inGuest(vm, 'fedostree upgrade');
    await vm.stop(60_000);
    vm = await bootVm(disk);
    await inGuest(vm, 'fedostree status');

    say('14. Roll back to v1 and reboot: the previous tree is still there, untouched');
    await inGuest(vm, 'fedostree rollback');
    await vm.stop(60_000);
    vm = await bootVm(disk);
    await inGuest(vm, 'ostree admin status');
  } finally {
    await vm.stop();
  }
} finally {
  server.kill('SIGTERM');
  // Deployment roots carry the immutable attribute, as libostree sets it; lift it to clean up.
  spawnSync('sh', ['-c', `chattr -i ${sysroot}/ostree/deploy/*/deploy/* 2>/dev/null`]);
  await rm(sysroot, { recursive: true, force: true });
}
say(`Done. Repository: ${repo}. Try: npx fedostree repo log --repo ${repo} ${ref}`);
