/**
 * Hand-made packages for malformed-input tests only: a real header layout (built with
 * HeaderBuilder) around a cpio payload whose members the test controls.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { HeaderBuilder } from '../../src/rpm/header.ts';
import { SigTag, Tag, Type } from '../../src/rpm/tags.ts';

export interface CraftFile {
  path: string;
  mode: number;
  content?: Buffer;
  linkTo?: string;
  /** Override the digest written into the header. */
  digest?: string;
  /** Override the size written into the header. */
  size?: number;
  flags?: number;
  inode?: number;
}

export interface CpioMember {
  name: string;
  mode: number;
  data: Buffer;
  /** Size field (defaults to data.length). */
  size?: number;
  nlink?: number;
  ino?: number;
}

export interface CraftOptions {
  files: CraftFile[];
  /** Archive members (default: one per non-ghost file, from the file list). */
  members?: CpioMember[];
  /** Bytes appended after the trailer. */
  trailing?: Buffer;
  compressor?: 'gzip' | 'identity';
  /** Recorded uncompressed archive size (default: the real size). */
  archiveSize?: number;
  /** Payload digest written into the header (default: the real one). */
  payloadDigest?: string;
}

export function cpioMember(m: CpioMember): Buffer {
  const name = Buffer.from(`${m.name}\0`);
  const f = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  const head = `070701${f(m.ino ?? 1)}${f(m.mode)}${f(0)}${f(0)}${f(m.nlink ?? 1)}${f(1767225600)}${f(m.size ?? m.data.length)}${f(0)}${f(0)}${f(0)}${f(0)}${f(name.length)}${f(0)}`;
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const hn = Buffer.concat([Buffer.from(head, 'latin1'), name]);
  return Buffer.concat([hn, pad(hn.length), m.data, pad(m.data.length)]);
}

export function cpioArchive(members: CpioMember[], trailing: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([...members.map(cpioMember), cpioMember({ name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0), ino: 0 }), trailing]);
}

function lead(name: string): Buffer {
  const b = Buffer.alloc(96);
  b.writeUInt32BE(0xedabeedb, 0);
  b[4] = 3;
  b.write(name.slice(0, 65), 10, 'latin1');
  b.writeUInt16BE(1, 76);
  b.writeUInt16BE(5, 78);
  return b;
}

const MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);

/** Build a whole package file. */
export function craftRpm(o: CraftOptions): Buffer {
  const files = o.files;
  const dirs: string[] = [];
  const dirIdx: number[] = [];
  const bases: string[] = [];
  for (const f of files) {
    const k = f.path.lastIndexOf('/') + 1;
    const d = f.path.slice(0, k);
    let i = dirs.indexOf(d);
    if (i < 0) i = dirs.push(d) - 1;
    dirIdx.push(i);
    bases.push(f.path.slice(k));
  }
  const isReg = (m: number): boolean => (m & 0o170000) === 0o100000;
  const members =
    o.members ??
    files
      .filter((f) => !((f.flags ?? 0) & 64))
      .map((f) => ({ name: `.${f.path}`, mode: f.mode, data: f.linkTo !== undefined ? Buffer.from(f.linkTo) : (f.content ?? Buffer.alloc(0)) }));
  const archive = cpioArchive(members, o.trailing);
  const payload = o.compressor === 'identity' ? archive : gzipSync(archive);
  const main = new HeaderBuilder({ region: Tag.HEADERIMMUTABLE })
    .add(Tag.NAME, Type.STRING, 'crafted')
    .add(Tag.VERSION, Type.STRING, '1')
    .add(Tag.RELEASE, Type.STRING, '1')
    .add(Tag.ARCH, Type.STRING, 'noarch')
    .add(Tag.OS, Type.STRING, 'linux')
    .add(Tag.SOURCERPM, Type.STRING, 'crafted-1-1.src.rpm')
    .add(Tag.SUMMARY, Type.I18NSTRING, 'crafted')
    .add(Tag.PAYLOADFORMAT, Type.STRING, 'cpio')
    .add(Tag.PAYLOADCOMPRESSOR, Type.STRING, o.compressor ?? 'gzip')
    .add(Tag.PAYLOADDIGEST, Type.STRING_ARRAY, [o.payloadDigest ?? createHash('sha256').update(payload).digest('hex')])
    .add(Tag.PAYLOADDIGESTALGO, Type.INT32, 8)
    .add(Tag.FILEDIGESTALGO, Type.INT32, 8);
  if (files.length) {
    main
      .add(Tag.BASENAMES, Type.STRING_ARRAY, bases)
      .add(Tag.DIRNAMES, Type.STRING_ARRAY, dirs)
      .add(Tag.DIRINDEXES, Type.INT32, dirIdx)
      .add(Tag.FILEMODES, Type.INT16, files.map((f) => f.mode))
      .add(Tag.FILESIZES, Type.INT32, files.map((f) => f.size ?? (f.linkTo !== undefined ? Buffer.byteLength(f.linkTo) : (f.content?.length ?? 0))))
      .add(Tag.FILEMTIMES, Type.INT32, files.map(() => 1767225600))
      .add(Tag.FILEDIGESTS, Type.STRING_ARRAY, files.map((f) => f.digest ?? (isReg(f.mode) ? createHash('sha256').update(f.content ?? Buffer.alloc(0)).digest('hex') : '')))
      .add(Tag.FILELINKTOS, Type.STRING_ARRAY, files.map((f) => f.linkTo ?? ''))
      .add(Tag.FILEFLAGS, Type.INT32, files.map((f) => f.flags ?? 0))
      .add(Tag.FILEUSERNAME, Type.STRING_ARRAY, files.map(() => 'root'))
      .add(Tag.FILEGROUPNAME, Type.STRING_ARRAY, files.map(() => 'root'))
      .add(Tag.FILEINODES, Type.INT32, files.map((f, i) => f.inode ?? i + 1))
      .add(Tag.FILEDEVICES, Type.INT32, files.map(() => 1))
      .add(Tag.FILERDEVS, Type.INT16, files.map(() => 0));
  }
  const mainHeader = main.toHeader('crafted main');
  const mainBytes = Buffer.concat([MAGIC, mainHeader.blob]);
  const sig = new HeaderBuilder({ region: Tag.HEADERSIGNATURES })
    .add(SigTag.SHA256, Type.STRING, createHash('sha256').update(mainHeader.immutableRegion()).digest('hex'))
    .add(SigTag.SIZE, Type.INT32, mainBytes.length + payload.length)
    .add(SigTag.PAYLOADSIZE, Type.INT32, o.archiveSize ?? archive.length)
    .toBlob();
  const sigBytes = Buffer.concat([MAGIC, sig]);
  const pad = Buffer.alloc((8 - ((96 + sigBytes.length) % 8)) % 8);
  return Buffer.concat([lead('crafted-1-1'), sigBytes, pad, mainBytes, payload]);
}
