/**
 * Dependency resolution on libsolv: a pool of packages for a target arch (RPM rules), repositories from
 * rpm-md or .solv caches or package lists, an installed set, jobs and flags in, a sorted transaction or
 * problems explained in sentences out.
 *
 * @example
 * const pool = Pool.create({ arch: 'x86_64' });
 * pool.addRpmmdRepo({ id: 'fedora', primary: 'repodata/primary.xml.gz', filelists: 'repodata/filelists.xml.gz' });
 * const res = pool.solve([{ op: 'install', spec: 'bash' }], { noWeakDeps: true });
 * if (!res.ok) for (const p of res.problems) console.log(p.summary);
 * pool.free();
 */
export { Pool, SolverError } from './pool.ts';
export { closeNames, editDistance } from './suggest.ts';
export type {
  Job, JobFlag, JobHow, PackageSpec, Problem, RepoSource, Selector, SolveDetail, SolvedPackage, SolveFlags, SolveResult, Step, Transaction,
} from './types.ts';
