/**
 * One library per OS, described once for every runtime: its paths, its C
 * symbols in types `Deno.dlopen`, `bun:ffi` and `node:ffi` all name, and how
 * to read errno and list the process's descriptors with them.
 *
 * @module
 */
import type { CgroupSyscalls, Listing } from "../socket/mod.ts";

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
  /** The one of them that closes a socket: `close`, or Winsock's `closesocket`. */
  readonly close: string;
  /** The symbols that list descriptors, opened apart on the first walk: a libc without one still sets options. */
  readonly walkSymbols: Readonly<Record<string, CSymbol>>;
  /** How to take another process's descriptors (Linux), with symbols opened on first use. */
  readonly process?: ProcessCalls;
  /** cgroup BPF and the cgroup filesystem (Linux), with symbols opened on first use. */
  readonly cgroup?: {
    readonly symbols: Readonly<Record<string, CSymbol>>;
    /** The calls, on the opened symbols. */
    calls(symbols: OpenedSymbols, errno: () => number, arch: string): CgroupSyscalls;
  };
  /** Reads the error of the call that just failed; call it before any other. */
  errno(symbols: OpenedSymbols): number;
  /**
   * Lists the descriptors (or handles) that may be sockets, a chunk at a time.
   *
   * @param walk The walk symbols, opened, with those of every call.
   * @param errno Reads the error of the call that just failed.
   * @param arch The CPU, as `Deno.build.arch` names it: system call numbers differ.
   * @param pid Another process, whose descriptors to list instead (Linux); this one by default.
   */
  listing(walk: OpenedSymbols, errno: () => number, arch: string, pid?: number): Listing;
}

/** `pidfd_open` and `pidfd_getfd` (Linux), each -1 with errno set on failure. */
export interface ProcessCalls {
  /** The symbols they need, opened apart: a libc without them still sets options. */
  readonly symbols: Readonly<Record<string, CSymbol>>;
  /** `pidfd_open(pid, flags)`: a descriptor for the process. */
  pidfdOpen(symbols: OpenedSymbols, arch: string, pid: number, flags: number): number;
  /** `pidfd_getfd(pidfd, fd, 0)`: this process's own descriptor for that process's `fd`. */
  pidfdGetfd(symbols: OpenedSymbols, arch: string, pidfd: number, fd: number): number;
}
