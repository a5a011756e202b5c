/**
 * Byte compatibility with the real ostree 2022.7, both directions, in archive, bare and bare-user:
 * same checksums for the same tree and options; ostree fsck/checkout accept our repos; we read,
 * check out, diff and fsck repos written by ostree.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, run, fedostree, makeTree, snapshot, VECTORS } from './_helpers.ts';
import { OstreeRepo, fsck, checkout, diffCommits, formatDiff, prune } from '../../src/ostree/index.ts';

let work: { path: string; cleanup: () => Promise<void> };
let tree: string;
const MODES = ['archive', 'bare', 'bare-user'] as const;
const TS = '2021-03-04T05:06:07Z';

before(async () => {
  work = await tempDir('compat');
  tree = join(work.path, 'tree');
  await makeTree(tree, { huge: true, owner: [1234, 5678] });
});
after(async () => work.cleanup());

function ostreeRefs(repo: string, ref: string): string {
  return readFileSync(join(repo, 'refs/heads', ref), 'utf8').trim();
}

for (const mode of MODES) {
  void test(`${mode}: fedostree commit gives ostree's checksums; each reads the other's repo`, async () => {
    const ours = join(work.path, `ours-${mode}`);
    const theirs = join(work.path, `theirs-${mode}`);
    fedostree(['repo', 'init', `--repo=${ours}`, `--mode=${mode}`]);
    run('ostree', ['init', `--repo=${theirs}`, `--mode=${mode}`]);
    const common = ['-b', 'test/main', `--timestamp=${TS}`, '--subject=Compat', '--body=Body text\nline 2',
      '--add-metadata-string=version=1.2.3', '--add-metadata=example.n=uint64 42', "--add-metadata=example.strv=['a', 'b']"];
    const a = fedostree(['repo', 'commit', `--repo=${ours}`, ...common, tree]).stdout.trim();
    run('ostree', ['commit', `--repo=${theirs}`, ...common, tree]);
    assert.equal(a, ostreeRefs(theirs, 'test/main'), 'commit checksum');
    // Second commit: parent, owner override, no xattrs, no bindings, orphan variants.
    await writeFile(join(tree, 'README'), 'changed\n');
    const opts2 = ['-b', 'test/main', `--timestamp=${TS}`, '--owner-uid=0', '--owner-gid=0', '--no-xattrs', '--no-bindings', '-s', 'second'];
    const b = fedostree(['repo', 'commit', `--repo=${ours}`, ...opts2, tree]).stdout.trim();
    run('ostree', ['commit', `--repo=${theirs}`, ...opts2, tree]);
    assert.equal(b, ostreeRefs(theirs, 'test/main'), 'second commit checksum (parent, owner, no-xattrs)');
    await writeFile(join(tree, 'README'), 'hello\n');
    // ostree accepts our repo, and its checkout of our commit equals its checkout of its own.
    run('ostree', ['fsck', `--repo=${ours}`]);
    const userFlag = mode === 'bare-user' ? ['-U'] : [];
    run('ostree', ['checkout', `--repo=${ours}`, ...userFlag, 'test/main^', join(work.path, `o-of-ours-${mode}`)]);
    run('ostree', ['checkout', `--repo=${theirs}`, ...userFlag, 'test/main^', join(work.path, `o-of-theirs-${mode}`)]);
    assert.equal(snapshot(join(work.path, `o-of-ours-${mode}`)), snapshot(join(work.path, `o-of-theirs-${mode}`)));
    // We read ostree's repo: fsck clean, checkout byte for byte equal to ostree's checkout.
    const repo = await OstreeRepo.open(theirs);
    const f = await fsck(repo);
    assert.deepEqual(f.problems, []);
    const mine = join(work.path, `f-of-theirs-${mode}`);
    await checkout(repo, 'test/main^', mine, { userMode: mode === 'bare-user' });
    assert.equal(snapshot(mine), snapshot(join(work.path, `o-of-theirs-${mode}`)));
    if (mode !== 'archive') assert.equal(snapshot(mine).includes('1234'), mode === 'bare', 'ownership kept (bare) / dropped (-U)');
    // diff equals ostree diff
    const d = formatDiff(await diffCommits(repo, 'test/main^', 'test/main'));
    assert.equal(d, run('ostree', ['diff', `--repo=${theirs}`, 'test/main^', 'test/main']).stdout);
    // ls -R -C output equals ostree's
    assert.equal(fedostree(['repo', 'ls', '-R', '-C', `--repo=${theirs}`, 'test/main']).stdout,
      run('ostree', ['ls', '-R', '-C', `--repo=${theirs}`, 'test/main'], { env: { LC_ALL: 'C.UTF-8' } }).stdout);
  });
}

void test('checkout: hardlinks (-H), --union, --subpath match ostree', async () => {
  const repoPath = join(work.path, 'ours-bare');
  const repo = await OstreeRepo.open(repoPath);
  const h1 = join(work.path, 'h-ours');
  const h2 = join(work.path, 'h-theirs');
  await checkout(repo, 'test/main', h1, { hardlinks: true });
  run('ostree', ['checkout', `--repo=${repoPath}`, '-H', 'test/main', h2]);
  assert.equal(snapshot(h1), snapshot(h2));
  assert.ok(Number(run('stat', ['-c', '%h', join(h1, 'README')]).stdout) >= 3, 'hardlinked');
  // Re-commit of hardlink checkouts with one file changed: same checksum as ostree --link-checkout-speedup.
  for (const h of [h1, h2]) {
    await writeFile(join(h, 'etc/new-file'), 'new\n');
    await rm(join(h, 'bin/tool'));
    await writeFile(join(h, 'bin/tool'), 'replaced\n');
  }
  const recommit = ['--orphan', `--timestamp=${TS}`, '--no-bindings'];
  const ra = fedostree(['repo', 'commit', `--repo=${repoPath}`, ...recommit, h1]).stdout.trim();
  const rb = run('ostree', ['commit', `--repo=${repoPath}`, '--link-checkout-speedup', ...recommit, h2]).stdout.trim();
  assert.equal(ra, rb, 're-commit of a hardlink checkout');
  await rm(h1, { recursive: true, force: true });
  await rm(h2, { recursive: true, force: true });
  await checkout(repo, 'test/main', h1, { hardlinks: true });
  run('ostree', ['checkout', `--repo=${repoPath}`, '-H', 'test/main', h2]);
  // union over the other commit
  await checkout(repo, 'test/main^', h1, { union: true, hardlinks: false });
  run('ostree', ['checkout', `--repo=${repoPath}`, '--union', 'test/main^', h2]);
  assert.equal(snapshot(h1), snapshot(h2));
  const s1 = join(work.path, 's-ours');
  const s2 = join(work.path, 's-theirs');
  await checkout(repo, 'test/main', s1, { subpath: '/names' });
  run('ostree', ['checkout', `--repo=${repoPath}`, '--subpath=/names', 'test/main', s2]);
  assert.equal(snapshot(s1), snapshot(s2));
  await assert.rejects(checkout(repo, 'test/main', s1), /already exists/);
});

void test('--tree=ref= plus --tree=dir= on top, and orphan commits, match ostree', async () => {
  const ours = join(work.path, 'ours-archive');
  const theirs = join(work.path, 'theirs-archive');
  const overlay = join(work.path, 'overlay');
  await mkdir(join(overlay, 'etc'), { recursive: true });
  await writeFile(join(overlay, 'etc/added'), 'added\n');
  await writeFile(join(overlay, 'README'), 'overlaid\n');
  const args = ['--orphan', `--timestamp=${TS}`, '--tree=ref=test/main', `--tree=dir=${overlay}`, '--owner-uid=0', '--owner-gid=0'];
  const a = fedostree(['repo', 'commit', `--repo=${ours}`, ...args]).stdout.trim();
  const b = run('ostree', ['commit', `--repo=${theirs}`, ...args]).stdout.trim();
  assert.equal(a, b);
  run('ostree', ['fsck', `--repo=${ours}`]);
});

void test('golden vectors: committing the vector tree reproduces 01-basic and 03-metadata', async () => {
  const t = join(work.path, 'vtree');
  run('bash', ['-c', `source ${VECTORS}/_lib/common.sh; mk_tree "$1"`, 'x', t]);
  const r1 = join(work.path, 'v1');
  fedostree(['repo', 'init', `--repo=${r1}`, '--mode=archive']);
  const c1 = fedostree(['repo', 'commit', `--repo=${r1}`, '--branch=vector/basic', '--timestamp=2020-01-01T00:00:00Z', '--owner-uid=0', '--owner-gid=0',
    '--subject=Basic vector commit', '--body=Body of: Basic vector commit', t]).stdout.trim();
  const e1 = JSON.parse(readFileSync(join(VECTORS, '01-basic/expected.json'), 'utf8')) as { refs: Record<string, string>; objects: Record<string, unknown> | string[] };
  assert.equal(c1, e1.refs['vector/basic']);
  const names = Array.isArray(e1.objects) ? e1.objects : Object.keys(e1.objects);
  const repo = await OstreeRepo.open(r1);
  const ours: string[] = [];
  for await (const [c, ty] of repo.listObjects()) ours.push(`${c}.${ty === 'file' ? 'filez' : ty}`);
  assert.deepEqual(ours.sort(), names.filter((n) => !n.endsWith('.commitmeta')).sort());
  const r3 = join(work.path, 'v3');
  fedostree(['repo', 'init', `--repo=${r3}`, '--mode=archive']);
  const c3 = fedostree(['repo', 'commit', `--repo=${r3}`, '--branch=vector/metadata', '--owner-uid=1000', '--owner-gid=1000', '--no-bindings',
    '--subject=Metadata vector', '--body=', '--add-metadata-string=version=42.1', '--add-metadata=example.uint64=uint64 1234567890123',
    "--add-metadata=example.strv=['alpha', 'beta', 'gamma']", t], { env: { SOURCE_DATE_EPOCH: '1600000000' } }).stdout.trim();
  const e3 = JSON.parse(readFileSync(join(VECTORS, '03-metadata/expected.json'), 'utf8')) as { refs: Record<string, string> };
  assert.equal(c3, e3.refs['vector/metadata']);
  await rm(t, { recursive: true, force: true });
});

void test('refs, rev-parse, log and prune against ostree-written history', async () => {
  const theirs = join(work.path, 'theirs-archive');
  const head = ostreeRefs(theirs, 'test/main');
  assert.equal(fedostree(['repo', 'rev-parse', `--repo=${theirs}`, 'test/main']).stdout.trim(), head);
  assert.equal(fedostree(['repo', 'log', `--repo=${theirs}`, 'test/main']).stdout, run('ostree', ['log', `--repo=${theirs}`, 'test/main']).stdout);
  fedostree(['repo', 'refs', `--repo=${theirs}`, '--create=other', 'test/main^']);
  assert.equal(run('ostree', ['rev-parse', `--repo=${theirs}`, 'other']).stdout.trim(), run('ostree', ['rev-parse', `--repo=${theirs}`, 'test/main^']).stdout.trim());
  fedostree(['repo', 'refs', `--repo=${theirs}`, '--delete', 'other']);
  assert.equal(run('ostree', ['refs', `--repo=${theirs}`]).stdout, 'test/main\n');
  const repo = await OstreeRepo.open(theirs);
  const res = await prune(repo, { refsOnly: true, depth: 0 });
  assert.ok(res.pruned > 0, 'history beyond depth 0 pruned');
  run('ostree', ['fsck', `--repo=${theirs}`]);
  assert.equal(await repo.hasObject((await repo.resolveRev('test/main')) ?? '', 'commit'), true);
  const res2 = await prune(repo, { refsOnly: true });
  assert.equal(res2.pruned, 0);
});
