/**
 * Linux: glibc or musl; descriptors listed from `/proc/self/fd` with
 * `getdents64`, through libc, so Deno needs no read permission on `/proc`.
 *
 * @module
 */
import { errnoSymbol, POSIX_SOCKET_SYMBOLS } from "./_posix.ts";
import type { Library } from "./_types.ts";

const DESCRIPTOR_DIRECTORY = Uint8Array.from("/proc/self/fd\0", (c) => c.charCodeAt(0));
const O_CLOEXEC = 0o2000000; // O_RDONLY is 0; O_DIRECTORY differs between x86-64 and arm64, and is not needed
const entries = new Uint8Array(32 * 1024);
const view = new DataView(entries.buffer);
// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
const D_RECLEN = 16;
const D_NAME = 19;

/** libc on Linux. */
export const linux: Library = {
  // glibc, then musl (Alpine).
  paths: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
  symbols: {
    ...POSIX_SOCKET_SYMBOLS,
    ...errnoSymbol("__errno_location"),
    // int open(const char *path, int flags)
    open: { parameters: ["buffer", "i32"], result: "i32" },
    // ssize_t getdents64(int fd, void *dirp, size_t count)
    getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    // int close(int fd)
    close: { parameters: ["i32"], result: "i32" },
  },
  errno: (raw, memory) => memory.readInt32(raw.__errno_location()),
  descriptors(raw, errno) {
    const dir = raw.open(DESCRIPTOR_DIRECTORY, O_CLOEXEC);
    if (dir < 0) throw new Error(`cannot list descriptors: open /proc/self/fd failed with errno ${errno()}`);
    const fds: number[] = [];
    try {
      for (let n; (n = Number(raw.getdents64(dir, entries, BigInt(entries.byteLength)))) > 0;) {
        for (let at = 0; at < n; at += view.getUint16(at + D_RECLEN, true)) {
          let fd = 0;
          for (let i = at + D_NAME, c; (c = entries[i]) !== 0; i++) fd = c === 0x2e ? -1 : fd * 10 + c - 0x30;
          if (fd >= 0 && fd !== dir) fds.push(fd); // skips "." and ".." and the listing's own descriptor
        }
      }
    } finally {
      raw.close(dir);
    }
    return fds.sort((a, b) => a - b);
  },
};
