/**
 * The socket calls Linux, macOS and FreeBSD share, and errno read through libc.
 *
 * @module
 */
import type { CSymbol, Library, OpenedSymbols } from "./_library.ts";

/** `getsockopt`, `setsockopt`, `getsockname`, `getpeername`, `socket` and `close` on an `int` descriptor. */
const POSIX_SOCKET_SYMBOLS: Readonly<Record<string, CSymbol>> = {
  // int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int socket(int domain, int type, int protocol)
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
};

/**
 * What every POSIX C library here shares: the socket calls, `close`, and errno through its accessor.
 *
 * @param accessor The errno accessor: `"__errno_location"` (glibc, musl) or `"__error"` (the BSDs).
 * @returns Those parts of the library's description.
 */
export function posixLibrary(accessor: string): Pick<Library, "symbols" | "close" | "errno"> {
  return {
    symbols: { ...POSIX_SOCKET_SYMBOLS, ...errnoSymbols(accessor) },
    close: "close",
    errno: (symbols) => readErrno(symbols, accessor),
  };
}

/**
 * The `int *` errno accessor, `__errno_location` (glibc, musl) or `__error` (the BSDs), and `memcpy` to read
 * what it points at: a pointer view would need an `--allow-ffi` that is not scoped to a path, under Deno.
 *
 * @param accessor The accessor's name.
 * @returns The two symbols.
 */
function errnoSymbols(accessor: string): Record<string, CSymbol> {
  return {
    // int *accessor(void)
    [accessor]: { parameters: [], result: "pointer" },
    // void *memcpy(void *dest, const void *src, size_t n)
    memcpy: { parameters: ["buffer", "pointer", "usize"], result: "pointer" },
  };
}

const errnoCell = new Int32Array(1);

/**
 * Reads errno by copying the `int` its accessor points at.
 *
 * @param symbols The opened symbols, with those of {@linkcode errnoSymbols}.
 * @param accessor `"__errno_location"` or `"__error"`.
 * @returns errno.
 */
function readErrno(symbols: OpenedSymbols, accessor: string): number {
  symbols.memcpy(errnoCell, symbols[accessor](), 4n);
  return errnoCell[0];
}
