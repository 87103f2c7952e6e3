/**
 * One library per OS, described once for every runtime: its paths, its C
 * symbols in types `Deno.dlopen`, `bun:ffi` and `node:ffi` all name, and how
 * to read errno and list the process's descriptors with them. Each table is
 * data (`as const satisfies SymbolTable`), and its opened functions are typed
 * from it, so that a call with a wrong argument count or type does not compile.
 *
 * @module
 */
import type { CgroupSyscalls, Listing } from "../syscalls/mod.ts";

/** A C type: `buffer` is a typed array passed as a pointer, `pointer` a returned or null pointer. */
export type CType = "i32" | "u32" | "i64" | "u64" | "usize" | "isize" | "buffer" | "pointer";

/** One C function. */
export interface CSymbol {
  readonly parameters: readonly CType[];
  readonly result: CType;
}

/** A library's symbols, by name. */
export type SymbolTable = Readonly<Record<string, CSymbol>>;

declare const opaque: unique symbol;
/** A pointer a C function returned, only ever passed back to another. */
export type Pointer = { readonly [opaque]: "pointer" };

type Wide = "i64" | "u64" | "usize" | "isize";
/** What a parameter of a C type takes: 64-bit integers as numbers or bigints, as every runtime accepts them. */
type Argument<T extends CType> = T extends "i32" | "u32" ? number
  : T extends Wide ? number | bigint
  : T extends "buffer" ? ArrayBufferView | null
  : Pointer | null;
/** What a C type comes back as: 64-bit integers as numbers under Bun, bigints under Node, either under Deno. */
type Returned<T extends CType> = T extends "i32" | "u32" ? number : T extends Wide ? number | bigint : Pointer;
type Arguments<P extends readonly CType[]> = { -readonly [I in keyof P]: Argument<P[I]> };

/** One symbol, opened: a function of the JavaScript types its C types take and give. */
export type Opened<T extends SymbolTable> = {
  readonly [K in keyof T]: (...args: Arguments<T[K]["parameters"]>) => Returned<T[K]["result"]>;
};

/** The socket calls every OS's library gives, whatever its own names for them (Winsock's `closesocket`). */
export interface SocketCalls {
  getsockopt(fd: number, level: number, option: number, value: ArrayBufferView, length: ArrayBufferView): number;
  setsockopt(fd: number, level: number, option: number, value: ArrayBufferView, length: number): number;
  getsockname(fd: number, address: ArrayBufferView, length: ArrayBufferView): number;
  getpeername(fd: number, address: ArrayBufferView, length: ArrayBufferView): number;
  /** A new socket; Winsock's `SOCKET` is 64 bits wide. */
  socket(family: number, type: number, protocol: number): number | bigint;
  close(fd: number): number;
  /** `WSAIoctl` (Windows): input and output buffers, the bytes written into `returned`. */
  ioctl?(
    fd: number,
    code: number,
    input: ArrayBufferView,
    inputBytes: number,
    output: ArrayBufferView | null,
    outputBytes: number,
    returned: ArrayBufferView,
    overlapped: null,
    routine: null,
  ): number;
}

/**
 * A library and how to use it on one OS, typed by its tables: `S` the socket calls' symbols, `W` the walk's, `P`
 * those for another process's descriptors, `C` cgroup BPF's.
 */
export interface Library<
  S extends SymbolTable = SymbolTable,
  W extends SymbolTable = SymbolTable,
  P extends SymbolTable = SymbolTable,
  C extends SymbolTable = SymbolTable,
> {
  /** Paths to try, in order: names the loader searches, then absolute paths, which a path-scoped permission names. */
  readonly paths: readonly string[];
  /** The symbols every call needs, each with its C signature in a comment. */
  readonly symbols: S;
  /** The socket calls, on the opened symbols. */
  sockets(symbols: Opened<S>): SocketCalls;
  /** Reads the error of the call that just failed; call it before any other. */
  errno(symbols: Opened<S>): number;
  /** The symbols that list descriptors, opened apart on the first walk: a libc without one still sets options. */
  readonly walkSymbols: W;
  /**
   * Lists the descriptors (or handles) that may be sockets, a chunk at a time.
   *
   * @param walk The walk's symbols, opened.
   * @param sockets The socket calls (a listing closes its directory with `close`).
   * @param errno Reads the error of the call that just failed.
   * @param arch The CPU, as `Deno.build.arch` names it: system call numbers differ.
   * @param pid Another process, whose descriptors to list instead (Linux); this one by default.
   */
  listing(walk: Opened<W>, sockets: SocketCalls, errno: () => number, arch: string, pid?: number): Listing;
  /** How to take another process's descriptors (Linux), with symbols opened on first use. */
  readonly process?: ProcessCalls<P>;
  /** cgroup BPF and the cgroup filesystem (Linux), with symbols opened on first use. */
  readonly cgroup?: {
    readonly symbols: C;
    /** The calls, on the opened symbols. */
    calls(symbols: Opened<C>, errno: () => number, arch: string): CgroupSyscalls;
  };
}

/** `pidfd_open` and `pidfd_getfd` (Linux), each -1 with errno set on failure. */
export interface ProcessCalls<P extends SymbolTable> {
  /** The symbols they need, opened apart: a libc without them still sets options. */
  readonly symbols: P;
  /** `pidfd_open(pid, flags)`: a descriptor for the process. */
  pidfdOpen(symbols: Opened<P>, arch: string, pid: number, flags: number): number;
  /** `pidfd_getfd(pidfd, fd, 0)`: this process's own descriptor for that process's `fd`. */
  pidfdGetfd(symbols: Opened<P>, arch: string, pidfd: number, fd: number): number;
}
