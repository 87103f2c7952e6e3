/**
 * What both runtime bindings share: which library to open, and how its raw
 * symbols become {@linkcode Syscalls}.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";

/** The libc to open and its errno accessor, per OS. */
export const LIBC: Readonly<Record<string, { paths: readonly string[]; errno: string }>> = {
  // glibc, then musl (Alpine).
  linux: { paths: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"], errno: "__errno_location" },
};

/** The raw symbols, called the same way under Deno (`buffer`) and Bun (`ptr`): typed arrays go in as pointers. */
export interface RawLibc {
  getsockopt(fd: number, level: number, option: number, value: Int32Array, length: Uint32Array): number;
  setsockopt(fd: number, level: number, option: number, value: Int32Array, length: number): number;
  getsockname(fd: number, address: Uint8Array, length: Uint32Array): number;
  getpeername(fd: number, address: Uint8Array, length: Uint32Array): number;
}

/**
 * Opens the first library of `paths` that loads.
 *
 * @param os The OS, as `Deno.build.os` names it.
 * @param open The runtime's `dlopen` of one path.
 * @returns What `open` returned.
 * @throws {Error} If the OS has no entry or no path loads; the last failure is the cause.
 */
export function openFirst<T>(os: string, open: (path: string, errno: string) => T): T {
  const libc = LIBC[os];
  if (!libc) throw new Error(`tcp-keepalive has no libc binding for ${os}`);
  let cause: unknown;
  for (const path of libc.paths) {
    try {
      return open(path, libc.errno);
    } catch (error) {
      cause = error;
    }
  }
  throw new Error(`could not open libc (${libc.paths.join(", ")})`, { cause });
}

/**
 * Wraps raw symbols into {@linkcode Syscalls}, reusing one buffer per argument.
 *
 * @param raw The symbols.
 * @param errno Reads `errno`; called right after a failed call, before any other.
 * @param descriptors Lists the process's open descriptors.
 * @returns The binding.
 */
export function syscalls(raw: RawLibc, errno: () => number, descriptors: () => number[]): Syscalls {
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
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
    descriptors,
  };
}

/**
 * Turns the names of `/proc/self/fd` (or `/dev/fd`) into sorted descriptor numbers.
 *
 * @param names The directory's entry names.
 * @returns The descriptors, lowest first.
 */
export function descriptorNumbers(names: Iterable<string>): number[] {
  const fds: number[] = [];
  for (const name of names) fds.push(Number(name));
  return fds.sort((a, b) => a - b);
}

/** Where the process's descriptors are listed. */
export const DESCRIPTOR_DIRECTORY = "/proc/self/fd";
