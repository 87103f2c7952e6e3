// A binding that records every call exactly and fails the calls it is told to,
// around either the real kernel or an in-memory socket.
import type { Syscalls } from "../_syscalls.ts";

/** One call: name, fd, level, option, and the value written (setsockopt). */
export type Call = [string, number, number, number, number?];

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
    setsockoptInt(fd, level, option, value) {
      calls.push(["setsockopt", fd, level, option, value]);
      return fail.at?.includes(++sets) ? -(fail.errno ?? 22) : inner.setsockoptInt(fd, level, option, value);
    },
    getsockname: (fd, address) => inner.getsockname(fd, address),
    getpeername: (fd, address) => inner.getpeername(fd, address),
    descriptors: () => inner.descriptors(),
  };
}

/** A socket in memory, keyed by `level:option`, for platforms this machine cannot run. */
export function memorySocket(
  fd: number,
  values: Record<string, number>,
): Syscalls & { values: Record<string, number> } {
  const has = (f: number, key: string) => f === fd && key in values;
  return {
    values,
    getsockoptInt: (f, level, option) => has(f, `${level}:${option}`) ? values[`${level}:${option}`] : -92,
    setsockoptInt(f, level, option, value) {
      if (!has(f, `${level}:${option}`)) return -92;
      values[`${level}:${option}`] = value;
      return 0;
    },
    getsockname: () => -88,
    getpeername: () => -88,
    descriptors: () => [fd],
  };
}
