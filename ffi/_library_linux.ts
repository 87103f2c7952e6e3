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
import { LINUX_SOCKETS } from "./_library_posix.ts";
import { cString, cText } from "../options/mod.ts";
import type { Library, SymbolTable } from "./_library.ts";

const OWN_DESCRIPTORS = cString("/proc/self/fd");
/** The C numbers used here, by their names in the headers (which tests/headers_test.ts checks them against). */
export const LINUX_NUMBERS = {
  O_CLOEXEC: 0o2000000, // O_RDONLY is 0; O_DIRECTORY differs between x86-64 and arm64, and is not needed
  // System call numbers per CPU: x86-64 has its own table; arm64 uses asm-generic's, which also numbers pidfd_*.
  SYS_getdents64: { x86_64: 217, aarch64: 61 },
  SYS_pidfd_open: { x86_64: 434, aarch64: 434 },
  SYS_pidfd_getfd: { x86_64: 438, aarch64: 438 },
  SYS_bpf: { x86_64: 321, aarch64: 280 },
  SYS_fstat: { x86_64: 5, aarch64: 80 },
  O_DIRECTORY: { x86_64: 0o200000, aarch64: 0o40000 },
  // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
  d_reclen: 16,
  d_type: 18,
  d_name: 19,
  DT_DIR: 4,
  // struct statfs { __fsword_t f_type; ... }; struct utsname { char sysname[65]; char nodename[65]; char release[65]; ... }
  "sizeof(struct statfs)": 120,
  f_type: 0,
  "sizeof(struct utsname)": 390,
  nodename: 65,
  release: 130,
  // struct stat { dev_t st_dev; ino_t st_ino; ... off_t st_size; ... }: st_ino and st_size where they are on both
  "sizeof(struct stat)": { x86_64: 144, aarch64: 128 },
  st_ino: 8,
  st_size: 48,
  LOCK_EX: 2,
} as const;
const { O_CLOEXEC, SYS_getdents64, SYS_pidfd_open, SYS_pidfd_getfd, d_reclen: D_RECLEN, d_name: D_NAME } =
  LINUX_NUMBERS;
const entries = new Uint8Array(32 * 1024);
/** What one getdents64 of a listing fills: some 340 descriptors, a small part of a sweep's millisecond slice. */
const LISTING_CHUNK_BYTES = 8n * 1024n;
const view = new DataView(entries.buffer);

/** Visits each record `getdents64` wrote into `entries`, by its offset. */
function eachRecord(bytes: number, visit: (at: number) => void): void {
  for (let at = 0; at < bytes; at += view.getUint16(at + D_RECLEN, true)) visit(at);
}

const WALK_SYMBOLS = {
  // int open(const char *path, int flags)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // long syscall(long number, ...): here (SYS_getdents64, int fd, void *dirp, size_t count)
  syscall: { parameters: ["i64", "i32", "buffer", "usize"], result: "i64" },
} as const satisfies SymbolTable;

const PROCESS_SYMBOLS = {
  // long syscall(long number, ...): here (SYS_pidfd_open, pid_t pid, unsigned int flags, 0) or
  // (SYS_pidfd_getfd, int pidfd, int targetfd, unsigned int flags): one signature for both
  syscall: { parameters: ["i64", "i32", "i32", "u32"], result: "i64" },
} as const satisfies SymbolTable;

const CGROUP_SYMBOLS = {
  // long syscall(long number, ...): here (SYS_bpf, int cmd, union bpf_attr *attr, unsigned int size) or
  // (SYS_getdents64, int fd, void *dirp, size_t count): one signature for both
  syscall: { parameters: ["i64", "i64", "buffer", "u64"], result: "i64" },
  // void *memcpy(void *dest, const void *src, size_t n): of 0 bytes, it returns dest, a buffer's address
  memcpy: { parameters: ["buffer", "buffer", "u64"], result: "u64" },
  // int open(const char *path, int flags)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count)
  read: { parameters: ["i32", "buffer", "u64"], result: "i64" },
  // int fstatfs(int fd, struct statfs *buf)
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  // int uname(struct utsname *buf)
  uname: { parameters: ["buffer"], result: "i32" },
  // int flock(int fd, int operation)
  flock: { parameters: ["i32", "i32"], result: "i32" },
  // int setns(int fd, int nstype): glibc 2.14, musl 1.1
  setns: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies SymbolTable;

/** libc on Linux. */
export const linuxLibc: Library<
  typeof LINUX_SOCKETS.symbols,
  typeof WALK_SYMBOLS,
  typeof PROCESS_SYMBOLS,
  typeof CGROUP_SYMBOLS
> = {
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
  ...LINUX_SOCKETS,
  walkSymbols: WALK_SYMBOLS,
  process: {
    symbols: PROCESS_SYMBOLS,
    pidfdOpen: (process, arch, pid, flags) =>
      Number(process.syscall(numberFor(SYS_pidfd_open, "pidfd_open", arch), pid, flags, 0)),
    pidfdGetfd: (process, arch, pidfd, fd) =>
      Number(process.syscall(numberFor(SYS_pidfd_getfd, "pidfd_getfd", arch), pidfd, fd, 0)),
  },
  cgroup: {
    symbols: CGROUP_SYMBOLS,
    calls(symbols, errno, arch) {
      const bpf = numberFor(LINUX_NUMBERS.SYS_bpf, "bpf", arch);
      const getdents64 = numberFor(SYS_getdents64, "getdents64", arch);
      const directory = Number(numberFor(LINUX_NUMBERS.O_DIRECTORY, "O_DIRECTORY", arch));
      const result = (value: number | bigint) => Number(value) < 0 ? -errno() : Number(value);
      const fstat = numberFor(LINUX_NUMBERS.SYS_fstat, "fstat", arch);
      const statfs = new DataView(new ArrayBuffer(LINUX_NUMBERS["sizeof(struct statfs)"]));
      const stat = new Uint8Array(Number(numberFor(LINUX_NUMBERS["sizeof(struct stat)"], "struct stat", arch)));
      const utsname = new Uint8Array(LINUX_NUMBERS["sizeof(struct utsname)"]);
      return {
        bpf: (command, attr) => result(symbols.syscall(bpf, BigInt(command), attr, BigInt(attr.byteLength))),
        addressOf: (buffer) => BigInt(symbols.memcpy(buffer, buffer, 0n)),
        openDirectory: (path) => result(symbols.open(cString(path), O_CLOEXEC | directory)),
        openFile: (path) => result(symbols.open(cString(path), O_CLOEXEC)),
        read: (fd, into) => result(symbols.read(fd, into, BigInt(into.byteLength))),
        filesystemType(fd) {
          if (symbols.fstatfs(fd, new Uint8Array(statfs.buffer)) !== 0) return -errno();
          return Number(statfs.getBigInt64(LINUX_NUMBERS.f_type, true));
        },
        inode(fd) {
          if (Number(symbols.syscall(fstat, BigInt(fd), stat, 0n)) !== 0) return -errno();
          return Number(new DataView(stat.buffer).getBigUint64(LINUX_NUMBERS.st_ino, true));
        },
        size(fd) {
          if (Number(symbols.syscall(fstat, BigInt(fd), stat, 0n)) !== 0) return -errno();
          return Number(new DataView(stat.buffer).getBigInt64(LINUX_NUMBERS.st_size, true));
        },
        lock: (fd) => result(symbols.flock(fd, LINUX_NUMBERS.LOCK_EX)),
        enterNamespace: (fd, type) => result(symbols.setns(fd, type)),
        kernel() {
          if (symbols.uname(utsname) !== 0) throw new Error(`uname failed with errno ${errno()}`);
          return {
            release: cText(utsname.subarray(LINUX_NUMBERS.release)),
            hostname: cText(utsname.subarray(LINUX_NUMBERS.nodename, LINUX_NUMBERS.release)),
          };
        },
        subdirectories(fd) {
          const found: string[] = [];
          // A name goes back to the kernel as part of a path: one that is not UTF-8 is said, never changed. Only the
          // directories' names are read, by d_type (which cgroupfs and /proc give): a cgroup holds 30 files.
          for (
            let n;
            (n = Number(symbols.syscall(getdents64, BigInt(fd), entries, BigInt(entries.byteLength)))) !== 0;
          ) {
            if (n < 0) return -errno();
            eachRecord(n, (at) => {
              if (entries[at + LINUX_NUMBERS.d_type] !== LINUX_NUMBERS.DT_DIR) return;
              const name = cText(entries.subarray(at + D_NAME), true);
              if (name !== "." && name !== "..") found.push(name);
            });
          }
          return found;
        },
      };
    },
  },
  listing(walk, sockets, errno, arch, pid) {
    const getdents64 = numberFor(SYS_getdents64, "getdents64", arch);
    const path = pid === undefined ? OWN_DESCRIPTORS : cString(`/proc/${pid}/fd`);
    let dir = walk.open(path, O_CLOEXEC);
    if (dir < 0) {
      const error = errno();
      throw Object.assign(
        new Error(`cannot list descriptors: open /proc/${pid ?? "self"}/fd failed with errno ${error}`),
        { errno: error },
      );
    }
    const close = () => {
      if (dir >= 0) sockets.close(dir);
      dir = -1;
    };
    return {
      next() {
        if (dir < 0) return undefined;
        const n = Number(walk.syscall(getdents64, dir, entries, LISTING_CHUNK_BYTES));
        if (n <= 0) {
          const error = n < 0 ? errno() : 0;
          close();
          if (error) throw new Error(`cannot list descriptors: getdents64 failed with errno ${error}`);
          return undefined;
        }
        const fds: number[] = [];
        eachRecord(n, (at) => {
          let fd = 0;
          for (let i = at + D_NAME, c; (c = entries[i]!) !== 0; i++) fd = c === 0x2e ? -1 : fd * 10 + c - 0x30;
          // Skips "." and "..", and in this process's own listing the listing's descriptor.
          if (fd >= 0 && (fd !== dir || pid !== undefined)) fds.push(fd);
        });
        return fds;
      },
      close,
    };
  },
};

/** A system call's number on this CPU. */
function numberFor(numbers: Readonly<Record<string, number>>, name: string, arch: string): bigint {
  const number = numbers[arch];
  if (number === undefined) throw new Error(`no ${name} number known for ${arch}`);
  return BigInt(number);
}
