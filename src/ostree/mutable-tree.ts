/**
 * An in-memory directory tree of object checksums that a commit is built from. Filled from a
 * directory on disk, from a commit's tree (lazily expanded), or entry by entry (compose feeds
 * cpio entries with ownership and modes from RPM headers).
 */
import { FormatError, UsageError } from '../util/errors.ts';
import { EMPTY_DIRTREE_CHECKSUM, encodeDirTree, validateName } from './objects.ts';
import type { OstreeRepo } from './repo.ts';

export class MutableTree {
  /** name → content checksum */
  readonly files = new Map<string, string>();
  /** name → subdirectory */
  readonly dirs = new Map<string, MutableTree>();
  /** dirmeta checksum of this directory. */
  metaChecksum: string | null = null;
  /** Unexpanded dirtree this directory still equals (lazy loading of a base commit). */
  private lazyTree: string | null = null;

  /** A tree that starts out as the stored dirtree `tree` with dirmeta `meta`. */
  static fromStored(tree: string, meta: string): MutableTree {
    const t = new MutableTree();
    t.lazyTree = tree;
    t.metaChecksum = meta;
    return t;
  }

  /** Load the lazy base dirtree (if any) so this level can be modified. */
  async expand(repo: OstreeRepo): Promise<void> {
    if (!this.lazyTree) return;
    const dt = await repo.readDirTree(this.lazyTree);
    this.lazyTree = null;
    for (const f of dt.files) if (!this.dirs.has(f.name) && !this.files.has(f.name)) this.files.set(f.name, f.checksum);
    for (const d of dt.dirs) {
      if (!this.dirs.has(d.name) && !this.files.has(d.name)) this.dirs.set(d.name, MutableTree.fromStored(d.tree, d.meta));
    }
  }

  get isLazy(): boolean {
    return this.lazyTree !== null;
  }

  /** Set (or replace) a file entry; a directory of that name is replaced. */
  replaceFile(name: string, checksum: string): void {
    validateName(name, 'file entry');
    this.dirs.delete(name);
    this.files.set(name, checksum);
  }

  /** Get or create the subdirectory `name` (a file of that name is replaced). */
  async ensureDir(repo: OstreeRepo, name: string): Promise<MutableTree> {
    validateName(name, 'directory entry');
    await this.expand(repo);
    let d = this.dirs.get(name);
    if (!d) {
      this.files.delete(name);
      d = new MutableTree();
      this.dirs.set(name, d);
    }
    await d.expand(repo);
    return d;
  }

  /** Remove an entry (file or directory); returns whether it existed. */
  async remove(repo: OstreeRepo, name: string): Promise<boolean> {
    await this.expand(repo);
    return this.files.delete(name) || this.dirs.delete(name);
  }

  /** Walk to the directory at `path` (slash-separated, relative), creating it if asked. */
  async walk(repo: OstreeRepo, path: string, create = false): Promise<MutableTree | null> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let t: MutableTree = this;
    for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
      if (part === '..') throw new UsageError(`path '${path}': '..' is not allowed`);
      await t.expand(repo);
      const next = t.dirs.get(part);
      if (next) {
        await next.expand(repo);
        t = next;
      } else if (create) t = await t.ensureDir(repo, part);
      else return null;
    }
    await t.expand(repo);
    return t;
  }

  /**
   * Write this tree's dirtree objects bottom-up; returns the root dirtree checksum. Unmodified
   * lazy subtrees are not rewritten.
   */
  async write(repo: OstreeRepo, path = '/'): Promise<string> {
    if (this.lazyTree) return this.lazyTree;
    const dirs = [];
    for (const [name, sub] of this.dirs) {
      const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
      const tree = await sub.write(repo, childPath);
      if (!sub.metaChecksum) throw new FormatError(`directory ${childPath}: no directory metadata was set`);
      dirs.push({ name, tree, meta: sub.metaChecksum });
    }
    const files = [...this.files].map(([name, checksum]) => ({ name, checksum }));
    if (files.length === 0 && dirs.length === 0) {
      await repo.writeMetadata('dirtree', Buffer.from([0]));
      return EMPTY_DIRTREE_CHECKSUM;
    }
    return repo.writeMetadata('dirtree', encodeDirTree({ files, dirs }));
  }
}
