/**
 * Errors with a stable `code`, structured `data` and a message that names what failed and on what.
 * The CLI prints `error: <message>` for any FedostreeError and exits 1 (2 for UsageError);
 * anything else is a bug and is printed with its stack.
 */
export class FedostreeError extends Error {
  readonly code: string;
  readonly data: Record<string, unknown>;
  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FedostreeError';
    this.code = code;
    this.data = data;
  }
}

/** Wrong command-line usage (unknown option, missing argument): exit code 2. */
export class UsageError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EUSAGE', message, data);
    this.name = 'UsageError';
  }
}

/** Bytes that do not parse as the format they claim to be (GVariant, RPM header, cpio, XML...). */
export class FormatError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('EFORMAT', message, data, options);
    this.name = 'FormatError';
  }
}

/** Content whose digest or signature does not match what was promised. */
export class IntegrityError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('EINTEGRITY', message, data);
    this.name = 'IntegrityError';
  }
}

/** Something asked for does not exist (ref, object, package, file). */
export class NotFoundError extends FedostreeError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ENOTFOUND', message, data);
    this.name = 'NotFoundError';
  }
}

/**
 * Re-throw `err` with `context: ` prepended to its message, keeping its class and code,
 * so errors read like "importing foo.rpm: payload: unexpected end of cpio archive".
 */
export function withContext(context: string, err: unknown): never {
  if (err instanceof FedostreeError) {
    err.message = `${context}: ${err.message}`;
    throw err;
  }
  if (err instanceof Error && 'code' in err && typeof (err as NodeJS.ErrnoException).code === 'string') {
    const e = err as NodeJS.ErrnoException;
    throw new FedostreeError(e.code ?? 'EIO', `${context}: ${e.message}`, { path: e.path }, { cause: err });
  }
  throw err;
}

/** Await `fn()` and add `context` to whatever it throws. */
export async function tryContext<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return withContext(context, err);
  }
}
