/**
 * One library per OS, described once for every runtime: its paths, its C
 * symbols in types `Deno.dlopen`, `bun:ffi` and `node:ffi` all name, and how
 * to read errno and list the process's descriptors with them.
 *
 * @module
 */

/** A C type: `buffer` is a typed array passed as a pointer, `pointer` a returned or null pointer. */
export type CType = "i32" | "u32" | "i64" | "u64" | "usize" | "isize" | "buffer" | "pointer";

/** One C function. */
export interface CSymbol {
  readonly parameters: readonly CType[];
  readonly result: CType;
}

/** The opened symbols, as callable functions. */
// deno-lint-ignore no-explicit-any
export type OpenedSymbols = Record<string, (...args: any[]) => any>;

/** A library and how to use it on one OS. */
export interface Library {
  /** Paths to try, in order: names the loader searches, then absolute paths, which a path-scoped permission names. */
  readonly paths: readonly string[];
  /** The symbols every call needs, each with its C signature in a comment. */
  readonly symbols: Readonly<Record<string, CSymbol>>;
  /** The symbols that list descriptors, opened apart on the first walk: a libc without one still sets options. */
  readonly walkSymbols: Readonly<Record<string, CSymbol>>;
  /** The symbols that take another process's descriptors (Linux: `pidfd_open`, `pidfd_getfd`), opened on first use. */
  readonly processSymbols?: Readonly<Record<string, CSymbol>>;
  /** Reads the error of the call that just failed; call it before any other. */
  errno(symbols: OpenedSymbols): number;
  /**
   * Lists the descriptors (or handles) that may be sockets, lowest first.
   *
   * @param walk The walk symbols, opened.
   * @param errno Reads the error of the call that just failed.
   * @param arch The CPU, as `Deno.build.arch` names it: system call numbers differ.
   * @param pid Another process, whose descriptors to list instead (Linux); this one by default.
   */
  descriptors(walk: OpenedSymbols, errno: () => number, arch: string, pid?: number): number[];
}
