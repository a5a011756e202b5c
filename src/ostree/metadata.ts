/**
 * Commit metadata values in GVariant text form (`--add-metadata=KEY=VALUE`) and back for printing.
 */
import { Variant, formatText, parse, parseText, serialize } from '../gvariant/index.ts';
import { FedostreeError, UsageError } from '../util/errors.ts';
import { metaString, type MetaEntry } from './objects.ts';

/** Parse `KEY=VALUE` where VALUE is GVariant text (`uint64 5`, `['a', 'b']`, `'str'`, `true`…). */
export function parseMetadataArg(arg: string, option = '--add-metadata'): MetaEntry {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`${option}: '${arg}' is not KEY=VALUE`);
  const key = arg.slice(0, eq);
  const text = arg.slice(eq + 1);
  let v: unknown;
  try {
    v = parseText(null, text);
  } catch (err) {
    throw new UsageError(`${option}: value of '${key}' is not GVariant text: ${(err as Error).message}`);
  }
  if (!(v instanceof Variant)) throw new UsageError(`${option}: value of '${key}' has no definite type`);
  return { key, type: v.type, data: serialize(v.type, v.value) };
}

/** Parse `KEY=STRING` (`--add-metadata-string`). */
export function parseMetadataStringArg(arg: string): MetaEntry {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`--add-metadata-string: '${arg}' is not KEY=VALUE`);
  return metaString(arg.slice(0, eq), arg.slice(eq + 1));
}

/** A metadata value as GVariant text (as `ostree show --print-metadata-key` prints it). */
export function formatMetaValue(e: MetaEntry): string {
  try {
    return formatText(e.type, parse(e.type, e.data));
  } catch (err) {
    throw new FedostreeError('EFORMAT', `metadata key '${e.key}': ${(err as Error).message}`);
  }
}

/** The decoded value of a metadata entry. */
export function metaValue(e: MetaEntry): unknown {
  return parse(e.type, e.data);
}
