/** The client layer: sysroots, deployments, /etc merge, boot entries (see README.md). */
export { Sysroot, initFs, osInit, commitVersion, deployDirName, validateStateroot, type Deployment, type SysrootOptions } from './sysroot.ts';
export { parseBls, formatBls, splitKargs, kargKey, kargValue, userKargs, editKargs, type BlsEntry, type KargEdit } from './bls.ts';
export { mergeEtc, copyTree, type EtcMergeResult } from './etc-merge.ts';
export { writeDeployments, cleanupSysroot, planFrom, type PlannedDeployment, type WriteResult } from './sysroot-write.ts';
export { deployCommit, originFor, originRefspec, RETAIN, type Retain, type DeployOptions, type DeployResult } from './sysroot-deploy.ts';
export {
  setDefault, rollback, rollbackTarget, undeploy, setPinned, editDeploymentKargs, cleanup, upgrade, rebase, deployVersion, adminDeploy,
  packageDiff, statusOf, type CleanupOptions, type UpgradeOptions, type UpgradeResult, type DeploymentStatus,
} from './sysroot-ops.ts';
