/**
 * One library per OS, described once for both runtimes: its paths, its C
 * symbols in types both `Deno.dlopen` and `bun:ffi` name, and how to read
 * errno and list the process's descriptors with them.
 *
 * @module
 */

/** A C type: `buffer` is a typed array passed as a pointer, `pointer` a returned or null pointer. */
export type CType = "i32" | "u32" | "u64" | "usize" | "isize" | "buffer" | "pointer";

/** One C function. */
export interface CSymbol {
  readonly parameters: readonly CType[];
  readonly result: CType;
}

/** The opened symbols, as callable functions. */
// deno-lint-ignore no-explicit-any
export type Raw = Record<string, (...args: any[]) => any>;

/** What a runtime provides beyond `dlopen`. */
export interface Memory {
  /** Reads the `int` a returned pointer points at. */
  readInt32(pointer: unknown): number;
}

/** A library and how to use it on one OS. */
export interface Library {
  /** Paths to try, in order. */
  readonly paths: readonly string[];
  /** The symbols to open, each with its C signature in a comment. */
  readonly symbols: Readonly<Record<string, CSymbol>>;
  /** Reads the error of the call that just failed; call it before any other. */
  errno(raw: Raw, memory: Memory): number;
  /** Lists the descriptors (or handles) that may be sockets, lowest first. */
  descriptors(raw: Raw, errno: () => number): number[];
}
