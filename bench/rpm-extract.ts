/**
 * Payload extraction throughput: `fedostree` extract vs `rpm2cpio FILE | cpio -idm` on the same
 * packages (~75 MB of real files from /usr, packed with zstd, xz and gzip), in the same run.
 * Prints MB/s of uncompressed payload and the ratio (>1 = fedostree faster). Not a test.
 *
 *   npx node bench/rpm-extract.ts [--runs N]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSpecs } from '../test/helpers/rpmbuild.ts';
import { extract, openPackage, packageInfo, readPayload } from '../src/rpm/index.ts';

const run = promisify(execFile);
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const SOURCES = ['/usr/lib/python3.11', '/usr/share/perl'];

const work = await mkdtemp(join(tmpdir(), 'fedostree-bench-rpm-'));
try {
  const specs: string[] = [];
  for (const [comp, macro] of [
    ['zstd', 'w19.zstdio'],
    ['xz', 'w2.xzdio'],
    ['gzip', 'w9.gzdio'],
  ]) {
    const spec = join(work, `bench-${comp}.spec`);
    await writeFile(
      spec,
      `Name: bench-${comp}\nVersion: 1\nRelease: 1\nSummary: bench\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n%define _binary_payload ${macro}\n` +
        `%description\nbench\n%install\nmkdir -p %{buildroot}/opt/bench\n` +
        SOURCES.map((s) => `cp -a ${s} %{buildroot}/opt/bench/\n`).join('') +
        `%files\n/opt/bench\n`,
    );
    specs.push(spec);
  }
  process.stderr.write('building packages with rpmbuild…\n');
  const rpms = await buildSpecs(specs, { topdir: join(work, 'top') });
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  /** CPU seconds (user + system) of this process, thread pool included, while `fn` runs. */
  const cpu = async (fn: () => Promise<unknown>): Promise<[number, number]> => {
    const c = process.cpuUsage();
    const wall = await time(fn);
    const d = process.cpuUsage(c);
    return [wall, (d.user + d.system) / 1e6];
  };
  /** Wall and CPU seconds of a shell pipeline (children's user + system from /usr/bin/time). */
  const timedShell = async (script: string, args: string[]): Promise<[number, number]> => {
    let out = '';
    const wall = await time(async () => {
      out = (await run('/usr/bin/time', ['-f', '@@cpu %U %S', 'sh', '-c', script, 'sh', ...args])).stderr;
    });
    const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(out);
    return [wall, m ? Number(m[1]) + Number(m[2]) : NaN];
  };
  console.log(`runs per measurement: ${runs} (median)`);
  console.log(`load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores; CPU = user + system seconds (ours: this process incl. thread pool; theirs: rpm2cpio + cpio)`);
  console.log('package          payload MB  files   fedostree MB/s   rpm2cpio|cpio MB/s   ratio   stream-only MB/s   CPU s ours / cpio (cpio/ours)');
  for (const rpm of rpms) {
    const pkg = await openPackage(rpm);
    const info = packageInfo(pkg);
    const mb = (info.archiveSize ?? 0) / 1e6;
    const ours: number[] = [];
    const theirs: number[] = [];
    const stream: number[] = [];
    const oursCpu: number[] = [];
    const theirsCpu: number[] = [];
    let files = 0;
    for (let i = 0; i < runs; i++) {
      const a = join(work, `ours-${i}`);
      const b = join(work, `cpio-${i}`);
      const oursRun = async (): Promise<void> => {
        const [ow, oc] = await cpu(async () => (files = (await extract(rpm, a)).files));
        ours.push(ow);
        oursCpu.push(oc);
      };
      const theirsRun = async (): Promise<void> => {
        await run('mkdir', ['-p', b]);
        const [tw, tc] = await timedShell('rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet)', [rpm, b]);
        theirs.push(tw);
        theirsCpu.push(tc);
      };
      // Alternate who goes first: the run right after the previous round's deletions pays for them.
      if (i % 2 === 0) {
        await oursRun();
        await theirsRun();
      } else {
        await theirsRun();
        await oursRun();
      }
      stream.push(
        await time(async () => {
          for await (const e of readPayload(rpm)) e.content.resume();
        }),
      );
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
    const o = median(ours);
    const t = median(theirs);
    console.log(
      `${info.payloadCompressor.padEnd(16)} ${mb.toFixed(1).padStart(10)} ${String(files).padStart(6)} ${(mb / o).toFixed(1).padStart(16)} ${(mb / t).toFixed(1).padStart(20)} ${(t / o).toFixed(2).padStart(7)} ${(mb / median(stream)).toFixed(1).padStart(18)}   ${median(oursCpu).toFixed(2)} / ${median(theirsCpu).toFixed(2)} (${(median(theirsCpu) / median(oursCpu)).toFixed(2)})`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
