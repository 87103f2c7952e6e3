/**
 * The Deno binding: `Deno.dlopen` of libc.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";
import { openFirst } from "./_libc.ts";

const SYMBOLS = {
  // int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen)
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int open(const char *path, int flags)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // ssize_t getdents64(int fd, void *dirp, size_t count)
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Opens libc for `os`.
 *
 * @param os As `Deno.build.os` names it.
 * @returns The binding.
 * @throws {Deno.errors.NotCapable} Without `--allow-ffi`, unchanged.
 */
export function open(os: string): Syscalls {
  return openFirst(os, (path, errnoSymbol) => {
    const lib = Deno.dlopen(
      path,
      {
        ...SYMBOLS,
        // int *__errno_location(void), or __error() on the BSDs
        [errnoSymbol]: { parameters: [], result: "pointer" },
      } as typeof SYMBOLS & Record<string, { parameters: []; result: "pointer" }>,
    );
    const errnoLocation = lib.symbols[errnoSymbol] as () => Deno.PointerValue;
    return [lib.symbols, () => new Deno.UnsafePointerView(errnoLocation()!).getInt32()];
  });
}
