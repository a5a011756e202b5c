/** The rpm layer: package files, headers, dependencies, payloads, versions. */
export * from './tags.ts';
export * from './header.ts';
export * from './version.ts';
export * from './lead.ts';
export * from './digest.ts';
export * from './signature.ts';
export * from './package.ts';
export * from './files.ts';
export * from './deps.ts';
export * from './scripts.ts';
export * from './cpio.ts';
export * from './payload.ts';
export * from './extract.ts';
export * from './inspect.ts';
export * from './rpmdb.ts';
export * from './rpmdb-header.ts';
export * from './rpmdb-index.ts';
