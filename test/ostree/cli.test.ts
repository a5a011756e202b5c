/** `fedostree repo` user errors: `error: …` naming the thing, exit 1 (2 for usage), no stack, no partial write. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, run, fedostree } from './_helpers.ts';

let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir('cli');
});
after(async () => work.cleanup());

void test('user errors are reported without stacks and without writes', async () => {
  const repo = join(work.path, 'repo');
  fedostree(['repo', 'init', `--repo=${repo}`, '--mode=archive']);
  const tree = join(work.path, 'tree');
  await mkdir(tree);
  await writeFile(join(tree, 'a'), 'a\n');
  run('mkfifo', [join(tree, 'fifo')]);
  const cases: Array<[string[], number, RegExp]> = [
    [['repo', 'commit', `--repo=${repo}`, '-b', 'x', join(work.path, 'missing')], 1, /missing/],
    [['repo', 'commit', `--repo=${repo}`, '-b', 'x', tree], 1, /fifo: unsupported file type/],
    [['repo', 'checkout', `--repo=${repo}`, 'nosuchref', join(work.path, 'co')], 1, /ref 'nosuchref' not found/],
    [['repo', 'show', `--repo=${repo}`, '0'.repeat(64)], 1, /no such commit object 0{64}/],
    [['repo', 'init', `--repo=${join(work.path, 'r2')}`, '--mode=weird'], 2, /--mode: invalid mode 'weird'/],
    [['repo', 'ls', `--repo=${join(work.path, 'nope')}`, 'x'], 1, /not an OSTree repository/],
    [['repo', 'commit', `--repo=${repo}`, '-b', 'y', '--add-metadata=k=notgvariant(', tree], 2, /--add-metadata: value of 'k'/],
  ];
  for (const [args, code, re] of cases) {
    const r = fedostree(args, { allowFail: true });
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(await readdir(join(repo, 'objects')), [], 'nothing written by the failed commits');
  assert.deepEqual(await readdir(join(repo, 'refs/heads')), []);
});
