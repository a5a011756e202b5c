/** `fedostree rpm …` prints what `rpm -qp` prints, and user errors are one `error:` line with exit 1. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'fedostree.js');
const fixtures = await buildRpmFixtures();
const work = await mkdtemp(join(tmpdir(), 'fedostree-rpm-cli-'));
after(() => rm(work, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

void test('rpm deps --<kind> prints exactly the lines rpm -qp prints', async () => {
  // Each CLI start costs ~0.5 s: every kind on the fixture that has them all, two on another.
  for (const [name, kinds] of [
    ['fx-deps', ['requires', 'provides', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances']],
    ['fx-files', ['requires', 'provides']],
  ] as const) {
    const file = fixtures.get(name)!;
    for (const kind of kinds) {
      const ours = await cli('rpm', 'deps', file, `--${kind}`);
      const { stdout } = await run('rpm', ['-qp', `--${kind}`, file]);
      assert.equal(ours.stdout, stdout, `${name} --${kind}`);
    }
  }
});

void test('rpm scripts / ls --dump / info --json / extract', async () => {
  const file = fixtures.get('fx-scripts')!;
  assert.equal((await cli('rpm', 'scripts', file)).stdout, (await run('rpm', ['-qp', '--scripts', file])).stdout);
  assert.equal((await cli('rpm', 'scripts', file, '--triggers')).stdout, (await run('rpm', ['-qp', '--triggers', file])).stdout);
  const files = fixtures.get('fx-files')!;
  assert.equal((await cli('rpm', 'ls', files, '--dump')).stdout, (await run('rpm', ['-qp', '--dump', files])).stdout);
  const info = JSON.parse((await cli('rpm', 'info', files, '--json')).stdout) as { name: string; files: unknown[]; digests: { sha256: string } };
  assert.equal(info.name, 'fx-files');
  assert.equal(info.digests.sha256, 'ok');
  const ex = await cli('rpm', 'extract', files, join(work, 'x'), '--json');
  assert.equal(ex.code, 0, ex.stderr);
  assert.deepEqual(JSON.parse(ex.stdout), { files: 25, bytes: 200163 });
  const v = await cli('rpm', 'verify', files, fixtures.get('fx-deps')!);
  assert.equal(v.code, 0, v.stderr);
});

void test('user errors: one error line naming the file, exit 1, no stack', async () => {
  const junk = join(work, 'junk.rpm');
  await writeFile(junk, 'not an rpm at all, just some text that is long enough to fill a lead of ninety-six bytes........');
  for (const args of [['rpm', 'info', junk], ['rpm', 'extract', junk, join(work, 'y')], ['rpm', 'deps', join(work, 'missing.rpm'), '--requires']]) {
    const r = await cli(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /^error: .*(junk\.rpm|missing\.rpm)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const usage = await cli('rpm', 'deps', fixtures.get('fx-deps')!);
  assert.equal(usage.code, 2);
});
