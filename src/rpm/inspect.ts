import { openPackage, packageInfo, verifyHeaderDigests, type HeaderDigestResult, type PackageInfo, type RpmPackage } from './package.ts';
import { readFiles, fileFlagNames, type RpmFile } from './files.ts';
import { DEP_KINDS, readDeps, type DepKind, type Dependency } from './deps.ts';
import { readFileTriggers, readScriptlets, readTriggers, type FileTrigger, type Scriptlet, type Trigger } from './scripts.ts';
import { readPayload } from './payload.ts';

/** Everything a package header says, in one value (what `fedostree rpm info --json` prints). */
export interface PackageDescription extends PackageInfo {
  digests: HeaderDigestResult;
  deps: Record<DepKind, Dependency[]>;
  scriptlets: Scriptlet[];
  triggers: Trigger[];
  fileTriggers: FileTrigger[];
  digestAlgo: number;
  files: (RpmFile & { flagNames: string[] })[];
}

/** Read and describe a package: headers checked against their digests, every field parsed. */
export function describePackage(pkg: RpmPackage): PackageDescription {
  const digests = verifyHeaderDigests(pkg);
  const { files, digestAlgo } = readFiles(pkg.header, pkg.what);
  const deps = {} as Record<DepKind, Dependency[]>;
  for (const k of Object.keys(DEP_KINDS) as DepKind[]) deps[k] = readDeps(pkg.header, k, pkg.what);
  return {
    ...packageInfo(pkg),
    digests,
    deps,
    scriptlets: readScriptlets(pkg.header),
    triggers: readTriggers(pkg.header, pkg.what),
    fileTriggers: readFileTriggers(pkg.header, pkg.what),
    digestAlgo,
    files: files.map((f) => ({ ...f, flagNames: fileFlagNames(f.flags) })),
  };
}

/** Fully verify a package: header digests, then every payload file against its digest, then the payload digest. */
export async function verifyPackage(path: string): Promise<{ files: number; bytes: number; digests: HeaderDigestResult }> {
  const pkg = await openPackage(path);
  const digests = verifyHeaderDigests(pkg);
  let files = 0;
  let bytes = 0;
  for await (const e of readPayload(pkg, { verifyHeader: false })) {
    files++;
    for await (const c of e.content) bytes += (c as Buffer).length;
  }
  return { files, bytes, digests };
}
