/**
 * What both runtime bindings share: which library to open, and how its raw
 * symbols become {@linkcode Syscalls}.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";

/** The libc to open, its errno accessor, and where the process's descriptors are listed, per OS. */
const LIBC: Readonly<Record<string, { paths: readonly string[]; errno: string; descriptorDirectory: string }>> = {
  // glibc, then musl (Alpine).
  linux: {
    paths: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
    errno: "__errno_location",
    descriptorDirectory: "/proc/self/fd",
  },
};

const O_CLOEXEC = 0o2000000; // O_RDONLY is 0; O_DIRECTORY differs between x86-64 and arm64, and is not needed
const DIRENT_BUFFER_BYTES = 32 * 1024;
// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
const D_RECLEN = 16;
const D_NAME = 19;

/** The raw symbols, called the same way under Deno (`buffer`) and Bun (`ptr`): typed arrays go in as pointers. */
export interface RawLibc {
  getsockopt(fd: number, level: number, option: number, value: Int32Array, length: Uint32Array): number;
  setsockopt(fd: number, level: number, option: number, value: Int32Array, length: number): number;
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number;
  getpeername(fd: number, address: Uint8Array, length: Uint32Array): number;
  open(path: Uint8Array, flags: number): number;
  getdents64(fd: number, buffer: Uint8Array, length: bigint): number | bigint;
  close(fd: number): number;
}

/**
 * Opens the first library of `paths` that loads.
 *
 * @param os The OS, as `Deno.build.os` names it.
 * @param open The runtime's `dlopen` of one path: its symbols and its errno reader.
 * @returns The binding.
 * @throws {Error} If the OS has no entry or no path loads; the last failure is the cause.
 */
export function openFirst(os: string, open: (path: string, errno: string) => [RawLibc, () => number]): Syscalls {
  const libc = LIBC[os];
  if (!libc) throw new Error(`tcp-keepalive has no libc binding for ${os}`);
  let cause: unknown;
  for (const path of libc.paths) {
    try {
      const [raw, errno] = open(path, libc.errno);
      return syscalls(raw, errno, new TextEncoder().encode(`${libc.descriptorDirectory}\0`));
    } catch (error) {
      cause = error;
    }
  }
  throw new Error(`could not open libc (${libc.paths.join(", ")})`, { cause });
}

/**
 * Wraps raw symbols into {@linkcode Syscalls}, reusing one buffer per argument.
 * Descriptors are listed with `getdents64`, through FFI, so Deno needs no read
 * permission for `/proc` on top of `--allow-ffi`.
 */
function syscalls(raw: RawLibc, errno: () => number, descriptorDirectory: Uint8Array): Syscalls {
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
  const entries = new Uint8Array(DIRENT_BUFFER_BYTES);
  const view = new DataView(entries.buffer);
  const address = (call: RawLibc["getsockname"]) => (fd: number, into: Uint8Array) => {
    length[0] = into.byteLength;
    return call(fd, into, length) === 0 ? length[0] : -errno();
  };
  return {
    getsockoptInt(fd, level, option) {
      length[0] = 4;
      return raw.getsockopt(fd, level, option, value, length) === 0 ? value[0] : -errno();
    },
    setsockoptInt(fd, level, option, to) {
      value[0] = to;
      return raw.setsockopt(fd, level, option, value, 4) === 0 ? 0 : -errno();
    },
    getsockname: address(raw.getsockname),
    getpeername: address(raw.getpeername),
    descriptors() {
      const dir = raw.open(descriptorDirectory, O_CLOEXEC);
      if (dir < 0) throw new Error(`cannot list descriptors: open failed with errno ${errno()}`);
      const fds: number[] = [];
      try {
        for (let n; (n = Number(raw.getdents64(dir, entries, BigInt(DIRENT_BUFFER_BYTES)))) > 0;) {
          for (let at = 0; at < n; at += view.getUint16(at + D_RECLEN, true)) {
            let fd = 0;
            for (let i = at + D_NAME, c; (c = entries[i]) !== 0; i++) fd = c === 0x2e ? -1 : fd * 10 + c - 0x30;
            if (fd >= 0 && fd !== dir) fds.push(fd); // skips "." and ".." (and the listing's own descriptor)
          }
        }
      } finally {
        raw.close(dir);
      }
      return fds.sort((a, b) => a - b);
    },
  };
}
