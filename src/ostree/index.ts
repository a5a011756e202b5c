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
