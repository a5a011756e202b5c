import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderBuilder } from './header.ts';
import { diffPackages, type InstalledPackage } from './rpmdb.ts';
import { Tag, Type } from './tags.ts';

const header = new HeaderBuilder({ region: Tag.HEADERIMMUTABLE }).add(Tag.NAME, Type.STRING, 'x').toHeader();

function pkg(nevra: string): InstalledPackage {
  const m = /^(.+)-(?:(\d+):)?([^-]+)-([^-]+)\.([^.]+)$/.exec(nevra)!;
  const [, name, epoch, version, release, arch] = m as unknown as [string, string, string | undefined, string, string, string];
  return {
    hnum: 0,
    name,
    epoch: epoch === undefined ? undefined : Number(epoch),
    version,
    release,
    arch,
    nevra,
    summary: '',
    size: 0,
    installTime: 0,
    buildTime: 0,
    license: '',
    sourceRpm: '',
    sha1header: undefined,
    header,
  };
}

const names = (l: InstalledPackage[]): string[] => l.map((p) => p.nevra);

void test('diff pairs by name, uses EVR order, and handles multi-version and arch changes', () => {
  const d = diffPackages(
    ['a-1.0-1.x86_64', 'b-2.0-1.noarch', 'c-1:1.0-1.x86_64', 'gone-1-1.noarch', 'kernel-6.1-1.x86_64', 'kernel-6.2-1.x86_64', 'lib-1-1.x86_64', 'lib-1-1.i686', 'arch-1-1.x86_64'].map(pkg),
    ['a-1.1-1.x86_64', 'b-2.0~rc1-1.noarch', 'c-2.0-1.x86_64', 'new-1-1.noarch', 'kernel-6.2-1.x86_64', 'kernel-6.3-1.x86_64', 'lib-2-1.x86_64', 'arch-1-2.noarch'].map(pkg),
  );
  assert.deepEqual(
    d.upgraded.map((c) => `${c.from.nevra} -> ${c.to.nevra}`),
    ['a-1.0-1.x86_64 -> a-1.1-1.x86_64', 'arch-1-1.x86_64 -> arch-1-2.noarch', 'kernel-6.1-1.x86_64 -> kernel-6.3-1.x86_64', 'lib-1-1.x86_64 -> lib-2-1.x86_64'],
  );
  assert.deepEqual(
    d.downgraded.map((c) => `${c.from.nevra} -> ${c.to.nevra}`),
    ['b-2.0-1.noarch -> b-2.0~rc1-1.noarch', 'c-1:1.0-1.x86_64 -> c-2.0-1.x86_64'],
  );
  assert.deepEqual(names(d.removed), ['gone-1-1.noarch', 'lib-1-1.i686']);
  assert.deepEqual(names(d.added), ['new-1-1.noarch']);
  const none = diffPackages([pkg('a-1-1.x86_64')], [pkg('a-1-1.x86_64')]);
  assert.deepEqual([none.added, none.removed, none.upgraded, none.downgraded], [[], [], [], []]);
});
