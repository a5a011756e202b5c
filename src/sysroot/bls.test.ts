import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editKargs, formatBls, parseBls, splitKargs, userKargs, kargValue } from './bls.ts';

// The entry text below is the reference tool's output recorded in the shared 06-deploy vector.
const ENTRY = `title MyOS 1 (ostree:1)
version 1
options root=LABEL=rootfs rw ostree=/ostree/boot.0/myos/166ace07e5846366508186963b5030d981163988f4dda918aa18bdfc9b5465f6/0
linux /ostree/myos-166ace07e5846366508186963b5030d981163988f4dda918aa18bdfc9b5465f6/vmlinuz-5.10.0-test
initrd /ostree/myos-166ace07e5846366508186963b5030d981163988f4dda918aa18bdfc9b5465f6/initramfs-5.10.0-test.img
`;

void test('BLS entries round-trip byte for byte', () => {
  const e = parseBls(ENTRY, 'entry');
  assert.equal(e.version, '1');
  assert.equal(formatBls(e), ENTRY);
  assert.throws(() => parseBls('title x\n', 'broken.conf'), /broken\.conf: BLS entry has no 'version' line/);
});

void test('kernel arguments: split with quotes, strip ostree=, edit like the client', () => {
  const args = splitKargs('root=LABEL=rootfs  rw quiet="a b" ostree=/ostree/boot.0/x/y/0\n');
  assert.deepEqual(args, ['root=LABEL=rootfs', 'rw', 'quiet="a b"', 'ostree=/ostree/boot.0/x/y/0']);
  assert.equal(kargValue(args, 'root'), 'LABEL=rootfs');
  assert.deepEqual(userKargs(args), ['root=LABEL=rootfs', 'rw', 'quiet="a b"']);
  assert.deepEqual(editKargs(['root=a', 'rw', 'console=tty0', 'console=ttyS0'], { delete: ['rw'], replace: ['root=b', 'console=ttyS0=ttyS1'], append: ['x=1'] }),
    ['root=b', 'console=tty0', 'console=ttyS1', 'x=1']);
  assert.throws(() => editKargs(['rw'], { delete: ['quiet'] }), /'quiet' is not set/);
});
