/**
 * Two writers never corrupt each other: fedostree commits running in parallel with each other,
 * with a real `ostree commit` and with a prune, on one repository; then both fscks pass.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { tempDir, run, makeTree, ROOT } from './_helpers.ts';
import { OstreeRepo, fsck } from '../../src/ostree/index.ts';

let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir('concurrency');
});
after(async () => work.cleanup());

function go(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => resolve(code ?? 1));
  });
}

void test('parallel commits (fedostree ×3, ostree) and a prune on one bare-user repo', async () => {
  const repoPath = join(work.path, 'repo');
  await OstreeRepo.init(repoPath, 'bare-user');
  const trees = [];
  for (let i = 0; i < 4; i++) {
    const t = join(work.path, `tree${i}`);
    await makeTree(t);
    await writeFile(join(t, 'README'), `tree ${i}\n`);
    trees.push(t);
  }
  const cli = join(ROOT, 'bin/fedostree.js');
  const codes = await Promise.all([
    go(process.execPath, [cli, 'repo', 'commit', `--repo=${repoPath}`, '-b', 'a', trees[0]]),
    go(process.execPath, [cli, 'repo', 'commit', `--repo=${repoPath}`, '-b', 'b', trees[1]]),
    go(process.execPath, [cli, 'repo', 'commit', `--repo=${repoPath}`, '-b', 'c', trees[2]]),
    go('ostree', ['commit', `--repo=${repoPath}`, '-b', 'd', trees[3]]),
    go(process.execPath, [cli, 'repo', 'prune', `--repo=${repoPath}`, '--refs-only']),
  ]);
  assert.deepEqual(codes, [0, 0, 0, 0, 0]);
  const repo = await OstreeRepo.open(repoPath);
  assert.deepEqual([...(await repo.listRefs()).keys()], ['a', 'b', 'c', 'd']);
  assert.deepEqual((await fsck(repo)).problems, []);
  assert.equal(run('ostree', ['fsck', `--repo=${repoPath}`], { allowFail: true }).status, 0);
});

/** `ostree ARGS` must not finish while `lock` is held, and must succeed once it is released. */
async function heldBack(lock: { release(): Promise<void> }, args: string[]): Promise<void> {
  let finished = false;
  const done = go('ostree', args).then((c) => {
    finished = true;
    return c;
  });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(finished, false, `ostree ${args[0]} ran while fedostree held the lock`);
  await lock.release();
  assert.equal(await done, 0);
}

void test('our repository lock and the real ostree wait for each other (OFD locks, as libostree takes)', async () => {
  const repoPath = join(work.path, 'lockrepo');
  await OstreeRepo.init(repoPath, 'bare-user');
  const tree = join(work.path, 'locktree');
  await makeTree(tree);
  const repo = await OstreeRepo.open(repoPath);

  // Our exclusive lock (prune's) holds back an ostree commit, which takes the shared lock; our
  // shared lock (a writer's) holds back ostree prune, which takes the exclusive lock.
  await heldBack(await repo.lock(true), ['commit', `--repo=${repoPath}`, '-b', 'held', tree]);
  await heldBack(await repo.lock(false), ['prune', `--repo=${repoPath}`, '--refs-only']);

  // Two shared holders do not block each other.
  const a = await repo.lock(false);
  const b = await repo.lock(false);
  await a.release();
  await b.release();
});
