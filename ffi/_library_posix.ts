/**
 * The socket calls Linux, macOS and FreeBSD share, and errno read through libc.
 *
 * @module
 */
import type { CSymbol, Opened, Pointer, SymbolTable } from "./_library.ts";

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
export const LINUX_SOCKET_SYMBOLS = {
  ...POSIX_SOCKET_SYMBOLS,
  __errno_location: ERRNO_ACCESSOR,
} as const satisfies SymbolTable;

/** The BSDs': errno through `__error`. */
export const BSD_SOCKET_SYMBOLS = { ...POSIX_SOCKET_SYMBOLS, __error: ERRNO_ACCESSOR } as const satisfies SymbolTable;

const errnoCell = new Int32Array(1);

/**
 * Reads errno by copying the `int` its accessor points at.
 *
 * @param symbols The opened socket symbols.
 * @param location What the accessor returned.
 * @returns errno.
 */
export function readErrno(symbols: Opened<typeof POSIX_SOCKET_SYMBOLS>, location: Pointer): number {
  symbols.memcpy(errnoCell, location, 4n);
  return errnoCell[0]!;
}
