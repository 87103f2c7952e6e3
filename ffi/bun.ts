/**
 * The Bun runtime: `dlopen` from `bun:ffi`.
 *
 * @module
 */
import { dlopen, FFIType, read } from "bun:ffi";
import type { Runtime } from "./_bind.ts";
import type { CType, Raw } from "./_types.ts";

const BUN_TYPES: Record<CType, FFIType> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  u64: FFIType.u64,
  usize: FFIType.u64, // size_t: every platform Bun runs on is 64-bit
  isize: FFIType.i64_fast,
  buffer: FFIType.ptr,
  pointer: FFIType.ptr,
};

/** Opens libraries with `bun:ffi`. */
export const runtime: Runtime = {
  dlopen(path, symbols) {
    const bunSymbols = Object.fromEntries(
      Object.entries(symbols).map((
        [name, { parameters, result }],
      ) => [name, { args: parameters.map((type) => BUN_TYPES[type]), returns: BUN_TYPES[result] }]),
    );
    return dlopen(path, bunSymbols).symbols as unknown as Raw;
  },
  readInt32: (pointer) => read.i32(pointer as never, 0),
};
