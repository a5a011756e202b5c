/**
 * Extraction equals `rpm2cpio FILE | cpio -idm` (content, modes, mtimes, symlinks, hardlink sets)
 * for every fixture; the >4 GiB fixture (which rpm2cpio refuses) is checked against the header.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import { extract, openPackage, readFiles, readPayload, FileFlag } from '../../src/rpm/index.ts';

const run = promisify(execFile);
const fixtures = await buildRpmFixtures();
const work = await mkdtemp(join(tmpdir(), 'fedostree-rpm-extract-'));
after(() => rm(work, { recursive: true, force: true }));

interface Node {
  type: string;
  mode: number;
  size: number;
  mtime: number | undefined;
  sha256?: string;
  target?: string;
  ino: number;
}

async function snapshot(root: string): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, r));
      const n: Node = {
        type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other',
        mode: st.mode,
        size: st.isDirectory() ? 0 : st.size,
        // Directory times of implicit parents differ by design (creation time), and cpio leaves
        // symlink times alone (we set them like rpm does; checked against the header below).
        mtime: st.isFile() ? Math.floor(st.mtimeMs / 1000) : undefined,
        ino: st.ino,
      };
      if (st.isFile()) n.sha256 = createHash('sha256').update(await readFile(join(root, r))).digest('hex');
      if (st.isSymbolicLink()) n.target = await readlink(join(root, r));
      out.set(r, n);
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

/** Hardlink sets as sorted lists of paths (inode numbers differ between trees). */
function linkSets(snap: Map<string, Node>): string[][] {
  const by = new Map<number, string[]>();
  for (const [p, n] of snap) if (n.type === 'file') by.set(n.ino, [...(by.get(n.ino) ?? []), p]);
  return [...by.values()].filter((s) => s.length > 1).map((s) => s.sort()).sort();
}

function strip(snap: Map<string, Node>): Record<string, Omit<Node, 'ino'>> {
  return Object.fromEntries([...snap].map(([p, n]) => [p, { ...n, ino: undefined }]));
}

for (const [name, file] of fixtures) {
  if (name === 'fx-large') continue;
  void test(`${name}: extract equals rpm2cpio | cpio -idm`, async () => {
    const ours = join(work, `${name}-ours`);
    const theirs = join(work, `${name}-cpio`);
    const r = await extract(file, ours);
    await run('mkdir', ['-p', theirs]);
    await run('sh', ['-c', 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)', 'sh', file, theirs]);
    const a = await snapshot(ours);
    const b = await snapshot(theirs);
    assert.deepEqual(strip(a), strip(b));
    assert.deepEqual(linkSets(a), linkSets(b));
    const { files } = readFiles((await openPackage(file)).header);
    assert.equal(r.files, files.filter((f) => !(f.flags & FileFlag.GHOST)).length);
    for (const f of files) {
      if (!f.linkTo) continue;
      assert.equal(Math.floor((await lstat(join(ours, f.path))).mtimeMs / 1000), f.mtime, f.path);
    }
  });
}

void test('fx-large: the >4 GiB file extracts sparse with the header size, digest-checked while streaming', async () => {
  const file = fixtures.get('fx-large')!;
  const dir = join(work, 'large');
  const t0 = Date.now();
  await extract(file, dir);
  const st = await stat(join(dir, 'usr/share/fx-large/sparse.img'));
  assert.equal(st.size, 4294967400);
  assert.ok(st.blocks * 512 < 16 * 1024 * 1024, `sparse file uses ${st.blocks * 512} bytes on disk`);
  const { stdout } = await run('rpm', ['-qp', '--dump', file]);
  const want = new Map(stdout.trim().split('\n').map((l) => [l.split(' ')[0], l.split(' ')]));
  for (const [p, f] of want) {
    const s = await lstat(join(dir, p));
    assert.equal(s.isDirectory() ? 0 : s.size, Number(f[1]), p);
    assert.equal('0' + s.mode.toString(8), f[4], p);
  }
  const hl1 = await stat(join(dir, 'usr/share/fx-large/hl-1'));
  const hl2 = await stat(join(dir, 'usr/share/fx-large/hl-2'));
  assert.equal(hl1.ino, hl2.ino);
  assert.equal(await readlink(join(dir, 'usr/share/fx-large/link')), 'small.txt');
  process.stderr.write(`# fx-large extract+verify: ${Date.now() - t0} ms\n`);
  await rm(dir, { recursive: true, force: true });
});

void test('readPayload yields the content-carrying hardlink first, then the other links', async () => {
  const order: string[] = [];
  for await (const e of readPayload(fixtures.get('fx-files')!)) {
    order.push(e.hardlinkOf ? `${e.path}=>${e.hardlinkOf}` : e.path);
    e.content.resume();
  }
  assert.deepEqual(order.slice(-3), ['/usr/share/fx/hard-c', '/usr/share/fx/hard-a=>/usr/share/fx/hard-c', '/usr/share/fx/hard-b=>/usr/share/fx/hard-c']);
  assert.ok(!order.includes('/var/log/fx.log'), 'ghosts are not in the payload');
});

void test('extract with owners resolves header user/group names', async () => {
  const dir = join(work, 'owners');
  await extract(fixtures.get('fx-files')!, dir, { owners: true });
  const { stdout } = await run('id', ['-u', 'nobody']);
  const st = await stat(join(dir, 'var/lib/fx/state'));
  assert.equal(st.uid, Number(stdout.trim()));
  assert.equal(st.mode & 0o7777, 0o600);
});
