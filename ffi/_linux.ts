/**
 * Linux: glibc or musl. Descriptors are listed from `/proc/self/fd` through
 * libc, so Deno needs no read permission on `/proc`, with
 * `syscall(SYS_getdents64, ...)`: glibc has a `getdents64` wrapper only from
 * 2.30, and musl 1.2.4 dropped its alias, but every libc has `syscall`.
 *
 * @module
 */
import { errnoSymbols, POSIX_SOCKET_SYMBOLS, readErrno } from "./_posix.ts";
import type { Library } from "./_types.ts";

const cString = (text: string) => Uint8Array.from(`${text}\0`, (c) => c.charCodeAt(0));
const OWN_DESCRIPTORS = cString("/proc/self/fd");
const O_CLOEXEC = 0o2000000; // O_RDONLY is 0; O_DIRECTORY differs between x86-64 and arm64, and is not needed
const SYS_GETDENTS64: Readonly<Record<string, bigint>> = { x86_64: 217n, aarch64: 61n };
const entries = new Uint8Array(32 * 1024);
const view = new DataView(entries.buffer);
// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
const D_RECLEN = 16;
const D_NAME = 19;

/** libc on Linux. */
export const linuxLibc: Library = {
  paths: [
    // The loader's search: glibc, then musl (Alpine).
    "libc.so.6",
    "libc.musl-x86_64.so.1",
    "libc.musl-aarch64.so.1",
    // Absolute, for a Deno permission scoped to one path: Debian and Ubuntu, Fedora and RHEL, Arch, Alpine.
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "/usr/lib/aarch64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib64/libc.so.6",
    "/usr/lib/libc.so.6",
    "/lib/ld-musl-x86_64.so.1",
    "/lib/ld-musl-aarch64.so.1",
  ],
  symbols: {
    ...POSIX_SOCKET_SYMBOLS,
    ...errnoSymbols("__errno_location"),
  },
  walkSymbols: {
    // int open(const char *path, int flags)
    open: { parameters: ["buffer", "i32"], result: "i32" },
    // long syscall(long number, ...): here (SYS_getdents64, int fd, void *dirp, size_t count)
    syscall: { parameters: ["i64", "i32", "buffer", "usize"], result: "i64" },
    // int close(int fd)
    close: { parameters: ["i32"], result: "i32" },
  },
  processSymbols: {
    // int pidfd_open(pid_t pid, unsigned int flags): glibc 2.36 and later
    pidfd_open: { parameters: ["i32", "u32"], result: "i32" },
    // int pidfd_getfd(int pidfd, int targetfd, unsigned int flags)
    pidfd_getfd: { parameters: ["i32", "i32", "u32"], result: "i32" },
  },
  errno: (symbols) => readErrno(symbols, "__errno_location"),
  descriptors(walk, errno, arch, pid) {
    const getdents64 = SYS_GETDENTS64[arch];
    if (getdents64 === undefined) throw new Error(`cannot list descriptors: no getdents64 number known for ${arch}`);
    const path = pid === undefined ? OWN_DESCRIPTORS : cString(`/proc/${pid}/fd`);
    const dir = walk.open(path, O_CLOEXEC);
    if (dir < 0) {
      const error = errno();
      throw Object.assign(
        new Error(`cannot list descriptors: open /proc/${pid ?? "self"}/fd failed with errno ${error}`),
        { errno: error },
      );
    }
    const fds: number[] = [];
    try {
      for (let n; (n = Number(walk.syscall(getdents64, dir, entries, BigInt(entries.byteLength)))) !== 0;) {
        if (n < 0) throw new Error(`cannot list descriptors: getdents64 failed with errno ${errno()}`);
        for (let at = 0; at < n; at += view.getUint16(at + D_RECLEN, true)) {
          let fd = 0;
          for (let i = at + D_NAME, c; (c = entries[i]) !== 0; i++) fd = c === 0x2e ? -1 : fd * 10 + c - 0x30;
          if (fd >= 0 && fd !== dir) fds.push(fd); // skips "." and ".." and the listing's own descriptor
        }
      }
    } finally {
      walk.close(dir);
    }
    return fds.sort((a, b) => a - b);
  },
};
