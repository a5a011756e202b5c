import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../src/util/errors.ts';
import { controlToRpm, debVersionToEvr, dependsToRpm, parseControl } from '../../samples/lib/debian.ts';
import { fileLine, renderSpec } from '../../samples/lib/spec.ts';
import { parseAptSimulation } from '../../samples/lib/debs.ts';

void test('Debian versions map to RPM EVR', () => {
  assert.deepEqual(debVersionToEvr('1:9.2p1-2+deb12u3'), { epoch: 1, version: '9.2p1', release: '2+deb12u3' });
  assert.deepEqual(debVersionToEvr('590-2.1~deb12u2'), { epoch: 0, version: '590', release: '2.1~deb12u2' });
  assert.deepEqual(debVersionToEvr('1.2.3'), { epoch: 0, version: '1.2.3', release: '0' });
  assert.deepEqual(debVersionToEvr('2:1.02.185-2'), { epoch: 2, version: '1.02.185', release: '2' });
  assert.deepEqual(debVersionToEvr('0.8-beta-3'), { epoch: 0, version: '0.8_beta', release: '3' });
  assert.throws(() => debVersionToEvr('x:1'), FormatError);
  assert.throws(() => debVersionToEvr('1.0-a b'), FormatError);
});

void test('dependency fields map to RPM deps, alternatives to rich or-deps', () => {
  assert.deepEqual(dependsToRpm('libc6 (>= 2.34), libtinfo6 (>= 6)'), ['libc6 >= 2.34', 'libtinfo6 >= 6']);
  assert.deepEqual(dependsToRpm('debconf (>= 0.5) | debconf-2.0'), ['(debconf >= 0.5 or debconf-2.0)']);
  assert.deepEqual(dependsToRpm('a (<< 2:1.0-1), b (>> 3-1), c (= 1.0-2), python3:any'), ['a < 2:1.0-1', 'b > 3-1', 'c = 1.0-2', 'python3']);
  // Without a revision: >> and <= must count the (empty, lowest) revision; 2.36-9 satisfies `>> 2.36`.
  assert.deepEqual(dependsToRpm('libc6 (>> 2.36), libc6 (<< 2.37), x (<= 1.0), y (>= 1:2), z (= 3)'), [
    'libc6 > 2.36-0', 'libc6 < 2.37', 'x <= 1.0-0', 'y >= 1:2', 'z = 3',
  ]);
  assert.deepEqual(dependsToRpm('x\n  , y (<= 1~rc1)'), ['x', 'y <= 1~rc1-0']);
  assert.deepEqual(dependsToRpm(undefined), []);
  assert.throws(() => dependsToRpm('libc6 (>= )'), FormatError);
});

void test('a control stanza maps to RPM metadata', () => {
  const c = parseControl(
    [
      'Package: openssh-server',
      'Version: 1:9.2p1-2+deb12u3',
      'Architecture: amd64',
      'Pre-Depends: init-system-helpers (>= 1.54~)',
      'Depends: libc6 (>= 2.34), openssh-client (= 1:9.2p1-2+deb12u3)',
      'Recommends: default-logind | logind',
      'Provides: ssh-server',
      'Breaks: foo (<< 1)',
      'Conflicts: ssh-socks',
      'Description: secure shell (SSH) server',
      ' This is the portable version.',
      ' .',
      ' Second paragraph.',
      '',
    ].join('\n'),
  );
  const m = controlToRpm(c, 'x.deb');
  assert.equal(m.name, 'openssh-server');
  assert.equal(m.arch, 'x86_64');
  assert.deepEqual(m.evr, { epoch: 1, version: '9.2p1', release: '2+deb12u3' });
  assert.deepEqual(m.requiresPre, ['init-system-helpers >= 1.54~']);
  assert.deepEqual(m.requires, ['libc6 >= 2.34', 'openssh-client = 1:9.2p1-2+deb12u3']);
  assert.deepEqual(m.recommends, ['(default-logind or logind)']);
  assert.deepEqual(m.conflicts, ['ssh-socks', 'foo < 1']);
  assert.equal(m.summary, 'secure shell (SSH) server');
  assert.equal(m.description, 'This is the portable version.\n\nSecond paragraph.');
  assert.throws(() => controlToRpm(parseControl('Package: xx\nVersion: 1\n'), 'y.deb'), /y\.deb: control field Description missing/);
});

void test('%files lines escape macros and globs, and refuse unlistable names', () => {
  assert.equal(fileLine({ path: '/usr/bin/a b', kind: 'file', mode: 0o4755, user: 'root', group: 'shadow' }), '%attr(4755,root,shadow) "/usr/bin/a b"');
  assert.equal(fileLine({ path: '/etc/x%y', kind: 'file', mode: 0o644, user: 'root', group: 'root', config: true }), '%config(noreplace) %attr(0644,root,root) "/etc/x%%y"');
  assert.equal(fileLine({ path: '/usr/share/[x]', kind: 'dir', mode: 0o755, user: 'root', group: 'root' }), '%dir %attr(0755,root,root) "/usr/share/[[]x[]]"');
  assert.equal(fileLine({ path: '/usr/bin/sh', kind: 'symlink', mode: 0o777, user: 'root', group: 'root' }), '%attr(-,root,root) "/usr/bin/sh"');
  // A backslash is literal as long as no glob character follows (systemd's escaped unit names).
  assert.equal(fileLine({ path: '/usr/lib/a\\x2db.slice', kind: 'file', mode: 0o644, user: 'root', group: 'root' }), '%attr(0644,root,root) "/usr/lib/a\\x2db.slice"');
  assert.throws(() => fileLine({ path: '/a"b', kind: 'file', mode: 0o644, user: 'root', group: 'root' }), FormatError);
});

void test('a rendered spec carries deps, noarch and no automatic dependencies', () => {
  const meta = controlToRpm(parseControl('Package: tiny\nVersion: 1.0-1\nArchitecture: all\nDepends: a | b\nDescription: t\n'), 't.deb');
  const spec = renderSpec({ meta, files: [], tree: '/tmp/t', payload: 'xz' });
  assert.match(spec, /^AutoReqProv: no$/m);
  assert.match(spec, /^BuildArch: noarch$/m);
  assert.match(spec, /^Requires: \(a or b\)$/m);
  assert.match(spec, /^%global _binary_payload w2\.xzdio$/m);
});

void test('apt simulation output parses into name, version, arch', () => {
  const out = [
    'NOTE: This is only a simulation!',
    'Inst libgcc-s1 (12.2.0-14+deb12u1 Debian:12.15/oldstable [amd64]) []',
    'Inst base-files (12.4+deb12u15 Debian:12.15/oldstable [all])',
    'Conf base-files (12.4+deb12u15 Debian:12.15/oldstable [all])',
  ].join('\n');
  assert.deepEqual(parseAptSimulation(out), [
    { name: 'base-files', version: '12.4+deb12u15', arch: 'all' },
    { name: 'libgcc-s1', version: '12.2.0-14+deb12u1', arch: 'amd64' },
  ]);
});
