/**
 * The socket calls Linux, macOS and FreeBSD share, and errno read through libc.
 *
 * @module
 */
import type { CSymbol, Library, Opened, Pointer, SymbolTable } from "./_library.ts";

/** `getsockopt`, `setsockopt`, `getsockname`, `getpeername`, `socket` and `close` on an `int` descriptor. */
const POSIX_SOCKET_SYMBOLS = {
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
  // void *memcpy(void *dest, const void *src, size_t n): copies errno out of where its accessor points; a pointer
  // view would need an --allow-ffi that is not scoped to a path, under Deno
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "pointer" },
} as const satisfies SymbolTable;

// int *accessor(void): where this thread's errno is
const ERRNO_ACCESSOR = { parameters: [], result: "pointer" } as const satisfies CSymbol;

/** glibc's and musl's: errno through `__errno_location`. */
const LINUX_SOCKET_SYMBOLS = {
  ...POSIX_SOCKET_SYMBOLS,
  __errno_location: ERRNO_ACCESSOR,
} as const satisfies SymbolTable;

/** The BSDs': errno through `__error`. */
const BSD_SOCKET_SYMBOLS = { ...POSIX_SOCKET_SYMBOLS, __error: ERRNO_ACCESSOR } as const satisfies SymbolTable;

/** A POSIX C library's socket calls, under their own names, and its errno. */
type PosixSockets<S extends SymbolTable> = Pick<Library<S>, "symbols" | "sockets" | "errno">;

const errnoCell = new Int32Array(1);

/**
 * Reads errno by copying the `int` its accessor points at.
 *
 * @param symbols The opened socket symbols.
 * @param location What the accessor returned.
 * @returns errno.
 */
function readErrno(symbols: Opened<typeof POSIX_SOCKET_SYMBOLS>, location: Pointer): number {
  symbols.memcpy(errnoCell, location, 4n);
  return errnoCell[0]!;
}

/** glibc's and musl's socket calls and errno. */
export const LINUX_SOCKETS: PosixSockets<typeof LINUX_SOCKET_SYMBOLS> = {
  symbols: LINUX_SOCKET_SYMBOLS,
  sockets: (symbols) => symbols,
  errno: (symbols) => readErrno(symbols, symbols.__errno_location()),
};

/** macOS's and FreeBSD's socket calls and errno. */
export const BSD_SOCKETS: PosixSockets<typeof BSD_SOCKET_SYMBOLS> = {
  symbols: BSD_SOCKET_SYMBOLS,
  sockets: (symbols) => symbols,
  errno: (symbols) => readErrno(symbols, symbols.__error()),
};
