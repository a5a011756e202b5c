/** prune --depth / --keep-younger-than / --refs-only: the same objects survive as with the real ostree. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, run, fedostree, makeTree } from './_helpers.ts';
import { OstreeRepo } from '../../src/ostree/index.ts';

let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir('prune');
});
after(async () => work.cleanup());

async function objects(path: string): Promise<string[]> {
  const repo = await OstreeRepo.open(path);
  const out: string[] = [];
  for await (const [c, t] of repo.listObjects()) out.push(`${c}.${t}`);
  return out.sort();
}

void test('prune matches ostree prune', async () => {
  const tree = join(work.path, 'tree');
  await makeTree(tree);
  const base = join(work.path, 'base');
  fedostree(['repo', 'init', `--repo=${base}`, '--mode=archive']);
  for (const [i, date] of ['2020-01-01T00:00:00Z', '2021-01-01T00:00:00Z', '2022-01-01T00:00:00Z', '2023-01-01T00:00:00Z'].entries()) {
    await writeFile(join(tree, 'README'), `version ${i}\n`);
    fedostree(['repo', 'commit', `--repo=${base}`, '-b', 'main', `--timestamp=${date}`, tree]);
  }
  fedostree(['repo', 'commit', `--repo=${base}`, '--orphan', '--timestamp=2020-06-01T00:00:00Z', tree]);
  for (const args of [['--refs-only', '--depth=1'], ['--refs-only', '--keep-younger-than=2021-06-01 00:00:00 +0000'], ['--depth=0'], ['--refs-only']]) {
    const a = join(work.path, `a-${args.join('')}`);
    const b = join(work.path, `b-${args.join('')}`);
    run('cp', ['-a', base, a]);
    run('cp', ['-a', base, b]);
    fedostree(['repo', 'prune', `--repo=${a}`, ...args]);
    run('ostree', ['prune', `--repo=${b}`, ...args]);
    assert.deepEqual(await objects(a), await objects(b), args.join(' '));
    run('ostree', ['fsck', `--repo=${a}`]);
  }
});
