/**
 * The socket calls Linux, macOS and FreeBSD share.
 *
 * @module
 */
import type { CSymbol } from "./_types.ts";

/** `getsockopt`, `setsockopt`, `getsockname` and `getpeername` on an `int` descriptor. */
export const POSIX_SOCKET_SYMBOLS: Readonly<Record<string, CSymbol>> = {
  // int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
};

/** The `int *` errno accessor: `__errno_location` (glibc, musl) or `__error` (the BSDs). */
export function errnoSymbol(name: string): Record<string, CSymbol> {
  return { [name]: { parameters: [], result: "pointer" } };
}
