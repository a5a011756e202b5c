/** The value model shared by the serialiser, the parser and the text format. */
import { typeInfo } from './type.ts';

/**
 * JS representation of a GVariant value of a known type:
 * `b`→boolean; `y n q i u h`→number; `x t`→bigint; `d`→number; `s o g`→string; `v`→Variant;
 * `mT`→value or null; `ay`→Uint8Array (a Buffer view when parsed); other `aT`→array;
 * tuples and dict entries→fixed-length arrays; `a{kv}`→array of `[k, v]` pairs in order.
 *
 * Nested maybes (`mmT`) cannot tell "Just Nothing" from "Nothing": both are `null`,
 * and `null` serialises as the outer Nothing.
 */
export type GVariantValue = boolean | number | bigint | string | Uint8Array | Variant | null | GVariantValue[];

/** A variant value: a type string and a value of that type. */
export class Variant {
  readonly type: string;
  readonly value: GVariantValue;
  /** @throws FormatError if `type` is not a definite type string. */
  constructor(type: string, value: GVariantValue) {
    typeInfo(type);
    this.type = type;
    this.value = value;
  }
}
