/**
 * The Deno runtime: `Deno.dlopen`.
 *
 * @module
 */
import type { Runtime } from "./_bind.ts";
import type { Raw } from "./_types.ts";

/** Opens libraries with `Deno.dlopen`; throws `Deno.errors.NotCapable` without `--allow-ffi`, unchanged. */
export const runtime: Runtime = {
  // The C types of ffi/_types.ts are spelled as Deno spells them.
  dlopen: (path, symbols) => Deno.dlopen(path, symbols as Deno.ForeignLibraryInterface).symbols as unknown as Raw,
  readInt32: (pointer) => new Deno.UnsafePointerView(pointer as Deno.PointerObject).getInt32(),
};
