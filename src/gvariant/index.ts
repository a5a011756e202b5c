/** GVariant: type strings, normal-form serialise/parse, the text format. Pure, no I/O. */
export { Variant, type GVariantValue } from './variant.ts';
export { serialize } from './serialize.ts';
export { parse } from './parse.ts';
export { isValidType, isValidSignature, isValidObjectPath, typeInfo, MAX_DEPTH, type TypeInfo } from './type.ts';
export { parseText } from './text-parse.ts';
export { formatText, formatDouble, quoteString } from './text-format.ts';
export { bswap32, bswap64 } from './bswap.ts';
