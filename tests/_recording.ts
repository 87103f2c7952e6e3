// A binding that records every call exactly and fails the calls it is told to,
// around either the real kernel or an in-memory socket.
import { type Syscalls, wholeListing } from "../syscalls/mod.ts";

/**
 * One call: name, fd, level (or ioctl code), option (or the ioctl's output size), the value written (setsockopt),
 * the bytes passed (ioctl) or the buffer's size (getsockopt of more than an int).
 */
export type Call = [string, number, number, number, number?, number[]?];

/** A {@linkcode Syscalls} that records its calls and fails chosen ones. */
export interface Recording extends Syscalls {
  readonly calls: Call[];
}

/** Wraps `inner`: the setsockopt calls numbered in `fail.at` (from 1) return `-fail.errno` (EINVAL) instead of reaching it. */
export function recording(inner: Syscalls, fail: { at?: number[]; errno?: number } = {}): Recording {
  const calls: Call[] = [];
  let sets = 0;
  return {
    calls,
    getsockoptInt(fd, level, option) {
      calls.push(["getsockopt", fd, level, option]);
      return inner.getsockoptInt(fd, level, option);
    },
    getsockopt(fd, level, option, into) {
      calls.push(["getsockopt", fd, level, option, undefined, [into.byteLength]]);
      return inner.getsockopt(fd, level, option, into);
    },
    setsockoptInt(fd, level, option, value) {
      calls.push(["setsockopt", fd, level, option, value]);
      return fail.at?.includes(++sets) ? -(fail.errno ?? 22) : inner.setsockoptInt(fd, level, option, value);
    },
    setsockopt(fd, level, option, from) {
      calls.push(["setsockopt", fd, level, option, undefined, [...from]]);
      return fail.at?.includes(++sets) ? -(fail.errno ?? 22) : inner.setsockopt(fd, level, option, from);
    },
    ioctl(fd, code, input, output) {
      calls.push(["ioctl", fd, code, output?.byteLength ?? 0, undefined, [...input]]);
      // An ioctl with output reads; only one without writes, and only writes are failed.
      if (output) return inner.ioctl(fd, code, input, output);
      return fail.at?.includes(++sets) ? -(fail.errno ?? 22) : inner.ioctl(fd, code, input);
    },
    getsockname(fd, address) {
      calls.push(["getsockname", fd, 0, 0]);
      return inner.getsockname(fd, address);
    },
    getpeername(fd, address) {
      calls.push(["getpeername", fd, 0, 0]);
      return inner.getpeername(fd, address);
    },
    socket(family, type) {
      calls.push(["socket", -1, family, type]);
      return inner.socket(family, type);
    },
    listing(pid) {
      calls.push(["listing", pid ?? -1, 0, 0]);
      return inner.listing(pid);
    },
    pidfdOpen: (pid, flags) => inner.pidfdOpen(pid, flags),
    pidfdGetfd: (pidfd, fd) => inner.pidfdGetfd(pidfd, fd),
    close: (fd) => inner.close(fd),
    cgroup: () => inner.cgroup(),
  };
}

/**
 * A socket in memory, keyed by `level:option`, for platforms this machine cannot
 * run: an option missing from `values` answers `-lackedErrno`, as the OS does
 * for an option it does not have; `ioctl` stands in for `WSAIoctl`.
 */
export function memorySocket(
  fd: number,
  values: Record<string, number>,
  { lackedErrno = 92, ioctl }: {
    lackedErrno?: number;
    ioctl?: (values: Record<string, number>, code: number, input: Uint8Array) => number;
  } = {},
): Syscalls & { values: Record<string, number> } {
  const has = (f: number, key: string) => f === fd && key in values;
  return {
    values,
    getsockoptInt: (f, level, option) => has(f, `${level}:${option}`) ? values[`${level}:${option}`] : -lackedErrno,
    getsockopt: () => -lackedErrno,
    setsockoptInt(f, level, option, value) {
      if (!has(f, `${level}:${option}`)) return -lackedErrno;
      values[`${level}:${option}`] = value;
      return 0;
    },
    setsockopt(f, level, option, from) {
      // The int at the front, as the kernel reads it; a tag after it is for cgroup programs.
      return this.setsockoptInt(f, level, option, new DataView(from.buffer, from.byteOffset).getInt32(0, true));
    },
    ioctl: (f, code, input) => f === fd && ioctl ? ioctl(values, code, input) : -lackedErrno,
    getsockname: () => -88,
    getpeername: () => -88,
    socket: () => -24, // EMFILE: no new socket in memory
    listing: () => wholeListing([fd]),
    pidfdOpen: () => -38,
    pidfdGetfd: () => -38,
    close: () => 0,
    cgroup: () => {
      throw new Error("no cgroup BPF in memory");
    },
  };
}

/**
 * Several sockets in memory, each a {@linkcode memorySocket} at its descriptor, behind one binding that lists them
 * all; a descriptor without one answers as a socket lacking every option.
 */
export function memorySockets(
  valuesByFd: Record<number, Record<string, number>>,
): Syscalls & { values: Record<number, Record<string, number>> } {
  const fds = Object.keys(valuesByFd).map(Number);
  const sockets = new Map(fds.map((fd) => [fd, memorySocket(fd, valuesByFd[fd])]));
  const none = memorySocket(-1, {});
  const at = (fd: number) => sockets.get(fd) ?? none;
  return {
    ...none,
    values: valuesByFd,
    getsockoptInt: (fd, level, option) => at(fd).getsockoptInt(fd, level, option),
    getsockopt: (fd, level, option, into) => at(fd).getsockopt(fd, level, option, into),
    setsockoptInt: (fd, level, option, value) => at(fd).setsockoptInt(fd, level, option, value),
    setsockopt: (fd, level, option, from) => at(fd).setsockopt(fd, level, option, from),
    listing: () => wholeListing(fds),
  };
}
