/**
 * fsck finds a flipped byte and a truncated object in every object type (archive and bare-user),
 * naming the object and exiting non-zero; --delete removes corrupt objects.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile, truncate, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, run, fedostree, makeTree } from './_helpers.ts';
import { OstreeRepo, type ObjectType } from '../../src/ostree/index.ts';

let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir('fsck');
  await makeTree(join(work.path, 'tree'));
});
after(async () => work.cleanup());

async function pick(repo: OstreeRepo, type: ObjectType): Promise<string> {
  // The largest object of the type, so a flip lands in real data.
  let best = '';
  let size = -1;
  for await (const [c, t] of repo.listObjects()) {
    if (t !== type) continue;
    const s = (await stat(repo.objectPath(c, t))).size;
    if (s > size) {
      size = s;
      best = c;
    }
  }
  return best;
}

for (const mode of ['archive', 'bare-user'] as const) {
  void test(`${mode}: fsck detects flipped and truncated objects of every type`, async () => {
    const pristine = join(work.path, `pristine-${mode}`);
    fedostree(['repo', 'init', `--repo=${pristine}`, `--mode=${mode}`]);
    fedostree(['repo', 'commit', `--repo=${pristine}`, '-b', 'main', '--timestamp=1600000000', join(work.path, 'tree')]);
    assert.equal(fedostree(['repo', 'fsck', `--repo=${pristine}`]).status, 0);
    for (const type of ['commit', 'dirtree', 'dirmeta', 'file'] as const) {
      for (const damage of ['flip', 'truncate'] as const) {
        const repoPath = join(work.path, `r-${mode}-${type}-${damage}`);
        run('cp', ['-a', pristine, repoPath]); // keeps bare-user's xattrs
        const repo = await OstreeRepo.open(repoPath);
        const victim = await pick(repo, type);
        const p = repo.objectPath(victim, type);
        const data = await readFile(p);
        if (damage === 'flip') {
          data[Math.floor(data.length / 2)] ^= 0x20;
          await writeFile(p, data);
        } else await truncate(p, Math.floor(data.length / 2));
        const r = fedostree(['repo', 'fsck', `--repo=${repoPath}`], { allowFail: true });
        assert.notEqual(r.status, 0, `${mode} ${type} ${damage}: exit status`);
        const lines = r.stderr.trim().split('\n');
        assert.ok(lines[0].includes(victim), `${mode} ${type} ${damage}: the first error names the object:\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:/, 'no stack trace');
        if (type === 'file') {
          // the real ostree agrees
          assert.notEqual(run('ostree', ['fsck', `--repo=${repoPath}`], { allowFail: true }).status, 0);
          const d = fedostree(['repo', 'fsck', '--delete', `--repo=${repoPath}`], { allowFail: true });
          assert.notEqual(d.status, 0);
          assert.equal(await repo.hasObject(victim, type), false, 'deleted');
        }
        await rm(repoPath, { recursive: true, force: true });
      }
    }
  });
}
