/**
 * The Bun binding: `bun:ffi` `dlopen` of libc.
 *
 * @module
 */
import { dlopen, FFIType, read } from "bun:ffi";
import type { Syscalls } from "../_syscalls.ts";
import { openFirst, type RawLibc } from "./_libc.ts";

const { i32, u32, ptr, usize, i64_fast } = FFIType;
const SYMBOLS = {
  // int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  // int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getsockname: { args: [i32, ptr, ptr], returns: i32 },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getpeername: { args: [i32, ptr, ptr], returns: i32 },
  // int open(const char *path, int flags)
  open: { args: [ptr, i32], returns: i32 },
  // ssize_t getdents64(int fd, void *dirp, size_t count)
  getdents64: { args: [i32, ptr, usize], returns: i64_fast },
  // int close(int fd)
  close: { args: [i32], returns: i32 },
} as const;

/**
 * Opens libc for `os`.
 *
 * @param os As `Deno.build.os` names it.
 * @returns The binding.
 */
export function open(os: string): Syscalls {
  return openFirst(os, (path, errnoSymbol) => {
    // int *__errno_location(void), or __error() on the BSDs
    const lib = dlopen(path, { ...SYMBOLS, [errnoSymbol]: { args: [], returns: ptr } });
    const errnoLocation = lib.symbols[errnoSymbol] as () => number;
    return [lib.symbols as unknown as RawLibc, () => read.i32(errnoLocation() as never, 0)];
  });
}
