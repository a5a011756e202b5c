/**
 * Demo of the repository layer: build a small sample tree, commit it with fedostree, show the
 * commit, check it out, fsck it with fedostree and with the real ostree, and prove the checksum is
 * the one `ostree commit` computes for the same tree. Prints each step. Run: `npm run demo`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, symlink, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OstreeRepo, MutableTree, writeDirectoryToMtree, commitTree, checkout, fsck, diffCommits, formatDiff,
} from '../src/ostree/index.ts';

const say = (s: string): void => {
  process.stdout.write(`\n== ${s}\n`);
};
const show = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
};
function ostree(args: string[]): string {
  const r = spawnSync('ostree', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ostree ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const work = await mkdtemp(join(tmpdir(), 'fedostree-demo-'));
try {
  say(`Sample tree in ${work}/tree`);
  const tree = join(work, 'tree');
  await mkdir(join(tree, 'usr/bin'), { recursive: true });
  await mkdir(join(tree, 'etc'), { recursive: true });
  await mkdir(join(tree, 'var/empty'), { recursive: true });
  await writeFile(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hello\n');
  await chmod(join(tree, 'usr/bin/hello'), 0o755);
  await writeFile(join(tree, 'etc/os-release'), 'NAME=Demo\nVERSION_ID=1\n');
  await writeFile(join(tree, 'etc/shadow'), 'root:*:1::::::\n');
  await chmod(join(tree, 'etc/shadow'), 0o400);
  await symlink('usr/bin', join(tree, 'bin'));
  show(spawnSync('find', [tree, '-printf', '%M %P\n'], { encoding: 'utf8' }).stdout);

  say('Create an archive repository (fedostree repo init --mode=archive)');
  const repo = await OstreeRepo.init(join(work, 'repo'), 'archive');
  show(`repo ${repo.path}, mode ${repo.mode}`);

  say('Commit the tree to branch demo/main (timestamp fixed so the checksum is reproducible)');
  const mtree = new MutableTree();
  await writeDirectoryToMtree(repo, tree, mtree, { ownerUid: 0, ownerGid: 0 });
  const c1 = await commitTree(repo, mtree, { branch: 'demo/main', subject: 'Demo commit', timestamp: 1700000000n });
  show(`commit ${c1}`);

  say('Same tree, same options, real `ostree commit` into its own repository');
  const theirs = join(work, 'ostree-repo');
  ostree(['init', `--repo=${theirs}`, '--mode=archive']);
  ostree(['commit', `--repo=${theirs}`, '-b', 'demo/main', '-s', 'Demo commit', '--timestamp=@1700000000', '--owner-uid=0', '--owner-gid=0', tree]);
  const c1o = ostree(['rev-parse', `--repo=${theirs}`, 'demo/main']).trim();
  show(`ostree: ${c1o}\n${c1 === c1o ? 'IDENTICAL checksums' : 'MISMATCH!'}`);

  say('A second commit: change a file, add one');
  await writeFile(join(tree, 'etc/os-release'), 'NAME=Demo\nVERSION_ID=2\n');
  await writeFile(join(tree, 'usr/bin/new'), 'new\n');
  const m2 = new MutableTree();
  await writeDirectoryToMtree(repo, tree, m2, { ownerUid: 0, ownerGid: 0 });
  const c2 = await commitTree(repo, m2, { branch: 'demo/main', subject: 'Second', timestamp: 1700000100n });
  show(`commit ${c2} (parent ${(await repo.readCommit(c2)).parent})`);
  show(formatDiff(await diffCommits(repo, c1, c2)));

  say('Check out demo/main with fedostree');
  const co = join(work, 'checkout');
  await checkout(repo, 'demo/main', co);
  show(spawnSync('find', [co, '-printf', '%M %P\n'], { encoding: 'utf8' }).stdout);
  show(`etc/os-release: ${spawnSync('cat', [join(co, 'etc/os-release')], { encoding: 'utf8' }).stdout.trim()}`);

  say('fsck with fedostree (every object re-hashed, reachability)');
  const f = await fsck(repo);
  show(`${f.objects} objects, ${f.commits} commits, ${f.problems.length} problems`);

  say('fsck and checkout of the fedostree repository with the real ostree');
  show(ostree(['fsck', `--repo=${repo.path}`]).trim().split('\n').pop() ?? '');
  ostree(['checkout', `--repo=${repo.path}`, 'demo/main', join(work, 'ostree-checkout')]);
  const same = spawnSync('diff', ['-r', co, join(work, 'ostree-checkout')]).status === 0;
  show(`ostree checkout ${same ? 'equals' : 'DIFFERS from'} fedostree checkout`);
  show(ostree(['log', `--repo=${repo.path}`, 'demo/main']));
} finally {
  await rm(work, { recursive: true, force: true });
}
