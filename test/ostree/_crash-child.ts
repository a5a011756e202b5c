/** Child for the crash test: commit a directory to a branch (killed at random moments by the parent). */
import { OstreeRepo, MutableTree, writeDirectoryToMtree, commitTree } from '../../src/ostree/index.ts';

const [repoPath, dir, branch] = process.argv.slice(2);
const repo = await OstreeRepo.open(repoPath);
const lock = await repo.lock(false);
const tree = new MutableTree();
await writeDirectoryToMtree(repo, dir, tree, { ownerUid: 0, ownerGid: 0 });
await commitTree(repo, tree, { branch, subject: 'crash test', timestamp: 1700000000n });
await lock.release();
process.stdout.write('done\n');
