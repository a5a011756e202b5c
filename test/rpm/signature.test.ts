/** A package signed by the real rpmsign/gpg: signature presence, algorithm, time and key id equal what rpm reports. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRpmFixtures } from '../helpers/rpm-fixtures.ts';
import { openPackage, packageInfo, readPayload, verifyHeaderDigests } from '../../src/rpm/index.ts';

const run = promisify(execFile);
const fixtures = await buildRpmFixtures();
const work = await mkdtemp(join(tmpdir(), 'fedostree-rpm-sign-'));
after(() => rm(work, { recursive: true, force: true }));

void test('signed package: key id, algorithms and time equal rpm --qf %{RSAHEADER:pgpsig}', async () => {
  const home = join(work, 'gnupg');
  await run('mkdir', ['-m', '700', home]);
  const env = { ...process.env, GNUPGHOME: home, TZ: 'UTC', LC_ALL: 'C.UTF-8' };
  await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Fixture Signer <sign@example.org>', 'rsa2048', 'sign', 'never'], { env });
  const signed = join(work, 'signed.rpm');
  await copyFile(fixtures.get('fx-deps')!, signed);
  await run('rpmsign', ['--addsign', '--define', '_gpg_name Fixture Signer', '--define', `_gpg_path ${home}`, '--define', '__gpg /usr/bin/gpg', signed], { env });
  const { stdout } = await run('rpm', ['-qp', '--nosignature', '--qf', '%{RSAHEADER:pgpsig}', signed], { env });
  const m = /^(\w+)\/(\w+), (.+), Key ID ([0-9a-f]{16})$/.exec(stdout.trim());
  assert.ok(m, stdout);
  const pkg = await openPackage(signed);
  const sig = packageInfo(pkg).signature;
  assert.ok(sig);
  assert.equal(sig.pubkeyAlgo, m[1]);
  assert.equal(sig.hashAlgo, m[2]);
  assert.equal(sig.keyId, m[4]);
  // rpm prints the creation time like ctime(3) in TZ=UTC: 'Sun Nov 29 19:00:42 2026'.
  const d = new Date(sig.created! * 1000);
  const [wd, day, mon, year, hms] = d.toUTCString().replace(',', '').split(' ');
  assert.equal(`${wd} ${mon} ${day} ${hms} ${year}`, m[3]);
  // Signing rewrites only the signature header: digests and payload still verify.
  assert.deepEqual(verifyHeaderDigests(pkg), { sha256: 'ok', sha1: 'ok', size: 'ok' });
  let n = 0;
  for await (const e of readPayload(pkg)) {
    n++;
    e.content.resume();
  }
  assert.equal(n, 1);
});
