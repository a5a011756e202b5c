/**
 * Crash safety: a child committing a tree of a few thousand files is SIGKILLed at 50+ random
 * moments; after each kill both `fedostree` fsck and the real `ostree fsck` pass and every ref
 * points at a complete commit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, run, ROOT } from './_helpers.ts';
import { OstreeRepo, fsck, traverseCommit } from '../../src/ostree/index.ts';

let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir('crash');
});
after(async () => work.cleanup());

const FILES = 1500;

/** Write the whole tree (`all`) or change a tenth of its files, so every run writes new objects. */
async function writeTree(dir: string, gen: number, all: boolean): Promise<void> {
  for (let d = 0; d < 40; d++) {
    await mkdir(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < FILES / 40; f++) {
      if (!all && (f + gen) % 10 !== 0) continue;
      await writeFile(join(dir, `d${d}/f${f}`), `file ${d}/${f} generation ${gen}\n`.repeat(1 + (f % 40)));
    }
  }
}

function runChild(repo: string, dir: string, killAfterMs: number | null): Promise<{ killed: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(ROOT, 'test/ostree/_crash-child.ts'), repo, dir, 'crash/main'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve({ killed: true, ms: Date.now() - t0 });
      else if (code === 0) resolve({ killed: false, ms: Date.now() - t0 });
      else reject(new Error(`child failed (${code}): ${err}`));
    });
  });
}

async function checkInvariants(repoPath: string, label: string): Promise<void> {
  const repo = await OstreeRepo.open(repoPath);
  const res = await fsck(repo);
  assert.deepEqual(res.problems, [], `${label}: fedostree fsck`);
  const o = run('ostree', ['fsck', `--repo=${repoPath}`], { allowFail: true });
  assert.equal(o.status, 0, `${label}: ostree fsck: ${o.stderr}`);
  for (const [ref, c] of await repo.listRefs()) {
    const reach = new Set<string>();
    await traverseCommit(repo, c, reach, { depth: 0 });
    for (const key of reach) {
      const [cs, type] = key.split('.');
      if (type === 'commitmeta') continue;
      assert.ok(await repo.hasObject(cs, type as 'file'), `${label}: ref ${ref} → missing ${key}`);
    }
  }
}

void test('SIGKILL during commit at 50+ random moments leaves valid repos (archive and bare-user)', async () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  let killed = 0;
  let completed = 0;
  for (const mode of ['archive', 'bare-user'] as const) {
    const dir = join(work.path, `tree-${mode}`);
    const repoPath = join(work.path, `repo-${mode}`);
    await OstreeRepo.init(repoPath, mode);
    await writeTree(dir, 0, true);
    await runChild(repoPath, dir, null);
    await writeTree(dir, 1, false);
    const full = await runChild(repoPath, dir, null);
    assert.equal(full.killed, false);
    completed += 2;
    // Runs until this mode has 26 kills (a run may finish before its kill time on a busy machine).
    const target = killed + 26;
    for (let round = 0; killed < target && round < 60; round++) {
      await writeTree(dir, round + 2, false);
      const r = await runChild(repoPath, dir, Math.floor(rand() * full.ms * 0.9));
      if (r.killed) killed++;
      else completed++;
      await checkInvariants(repoPath, `${mode} round ${round} (${r.killed ? 'killed' : 'completed'})`);
    }
  }
  assert.ok(killed >= 50, `${killed} kills`);
  assert.ok(completed >= 4, `${completed} completed runs`);
});
