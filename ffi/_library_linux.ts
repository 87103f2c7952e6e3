/**
 * Linux: glibc or musl. Descriptors are listed from `/proc/self/fd` through
 * libc, so Deno needs no read permission on `/proc`, with
 * `syscall(SYS_getdents64, ...)`: glibc has a `getdents64` wrapper only from
 * 2.30, and musl 1.2.4 dropped its alias, but every libc has `syscall`. So are
 * `pidfd_open` and `pidfd_getfd`, whose wrappers glibc has only from 2.36 and
 * musl not at all.
 *
 * @module
 */
import { posixLibrary } from "./_library_posix.ts";
import type { Library } from "./_library.ts";

const cString = (text: string) => Uint8Array.from(`${text}\0`, (c) => c.charCodeAt(0));
const OWN_DESCRIPTORS = cString("/proc/self/fd");
/** The C numbers used here, by their names in the headers (which tests/headers_test.ts checks them against). */
export const LINUX_NUMBERS = {
  O_CLOEXEC: 0o2000000, // O_RDONLY is 0; O_DIRECTORY differs between x86-64 and arm64, and is not needed
  // System call numbers per CPU: x86-64 has its own table; arm64 uses asm-generic's, which also numbers pidfd_*.
  SYS_getdents64: { x86_64: 217, aarch64: 61 },
  SYS_pidfd_open: { x86_64: 434, aarch64: 434 },
  SYS_pidfd_getfd: { x86_64: 438, aarch64: 438 },
  // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
  d_reclen: 16,
  d_name: 19,
} as const;
const { O_CLOEXEC, SYS_getdents64, SYS_pidfd_open, SYS_pidfd_getfd, d_reclen: D_RECLEN, d_name: D_NAME } =
  LINUX_NUMBERS;
const entries = new Uint8Array(32 * 1024);
const view = new DataView(entries.buffer);

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
  ...posixLibrary("__errno_location"),
  walkSymbols: {
    // int open(const char *path, int flags)
    open: { parameters: ["buffer", "i32"], result: "i32" },
    // long syscall(long number, ...): here (SYS_getdents64, int fd, void *dirp, size_t count)
    syscall: { parameters: ["i64", "i32", "buffer", "usize"], result: "i64" },
  },
  process: {
    symbols: {
      // long syscall(long number, ...): here (SYS_pidfd_open, pid_t pid, unsigned int flags, 0) or
      // (SYS_pidfd_getfd, int pidfd, int targetfd, unsigned int flags): one signature for both
      syscall: { parameters: ["i64", "i32", "i32", "u32"], result: "i64" },
    },
    pidfdOpen: (process, arch, pid, flags) =>
      Number(process.syscall(numberFor(SYS_pidfd_open, "pidfd_open", arch), pid, flags, 0)),
    pidfdGetfd: (process, arch, pidfd, fd) =>
      Number(process.syscall(numberFor(SYS_pidfd_getfd, "pidfd_getfd", arch), pidfd, fd, 0)),
  },
  descriptors(walk, errno, arch, pid) {
    const getdents64 = numberFor(SYS_getdents64, "getdents64", arch);
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
          // Skips "." and "..", and in this process's own listing the listing's descriptor.
          if (fd >= 0 && (fd !== dir || pid !== undefined)) fds.push(fd);
        }
      }
    } finally {
      walk.close(dir);
    }
    return fds.sort((a, b) => a - b);
  },
};

/** A system call's number on this CPU. */
function numberFor(numbers: Readonly<Record<string, number>>, name: string, arch: string): bigint {
  const number = numbers[arch];
  if (number === undefined) throw new Error(`no ${name} number known for ${arch}`);
  return BigInt(number);
}
