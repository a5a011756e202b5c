/** The OSTree repository layer: public API (see README.md). */
export * from './objects.ts';
export { OstreeRepo, REPO_MODES, validateRefName, type RepoMode, type ContentSource, type StoredFile, type RepoLock } from './repo.ts';
export { KeyFile } from './keyfile.ts';
export { MutableTree } from './mutable-tree.ts';
export {
  writeDirectoryToMtree, commitTree, mtreeFromRev, putFile, putDirectory, scanHardlinks, defaultTimestamp,
  type CommitOptions, type DirectoryImportOptions,
} from './repo-commit.ts';
export { checkout, type CheckoutOptions } from './repo-checkout.ts';
export { listTree, lookupPath, traverseCommit, objectKey, type TreeEntry } from './repo-traverse.ts';
export { fsck, type FsckOptions, type FsckResult, type FsckProblem } from './repo-fsck.ts';
export { prune, type PruneOptions, type PruneResult } from './repo-prune.ts';
export { diffCommits, formatDiff, type DiffResult } from './repo-diff.ts';
export { parseMetadataArg, parseMetadataStringArg, formatMetaValue, metaValue } from './metadata.ts';
export {
  generateSummary, updateSummary, parseSummary, parseDeltaIndex, listStaticDeltas, updateDeltaIndexes, checksumToB64, checksumFromB64,
  deltaRelDir, deltaIndexRelPath, parseDeltaName, SUMMARY_TYPE, type Summary, type SummaryRef, type SummaryOptions,
} from './summary.ts';
export { ed25519Sign, ed25519Verify, ed25519Generate, ed25519SecretKey, ed25519PublicKey, readKeysFile, ED25519_SIG_KEY } from './sign-ed25519.ts';
export { gpgSign, gpgVerify, gpgGenerateKey, gpgExportKey, gpgImportKeys, GPG_SIG_KEY, type GpgVerifyResult } from './sign-gpg.ts';
export { signCommit, verifyCommit, signSummary, verifySignatures, type SignOptions, type VerifyPolicy, type VerifyResult } from './sign.ts';
export {
  addRemote, deleteRemote, listRemotes, getRemote, remotePolicy, remoteKeyringPath, remoteGpgImport, type RemoteConfig, type AddRemoteOptions,
} from './remote.ts';
export { pull, pullFrom, pullLocal, verifyFilez, commitPartialPath, MAX_METADATA_SIZE, type PullOptions, type PullSource, type PullResult } from './pull.ts';
export { createFetcher, type Fetcher, type FetcherOptions } from './pull-fetch.ts';
export {
  generateStaticDelta, parseSuperblock, listStaticDeltasCli, showStaticDelta, SUPERBLOCK_TYPE, type DeltaGenerateOptions, type DeltaGenerateResult, type SuperblockInfo,
} from './static-delta.ts';
export { applyPart, decodePartFile, applyStaticDeltaFromFetcher } from './static-delta-apply.ts';
