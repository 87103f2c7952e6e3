/**
 * Options as system calls: read all, write the changed ones, and put them back
 * if one fails, so a socket is never left half-configured. Each option is one
 * `setsockopt`, except where the platform writes several in one ioctl (Windows).
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";
import type { Write } from "../options.ts";
import { KeepaliveError } from "../errors.ts";
import type { Platform, SocketOption } from "./_types.ts";

/** The kernel's values in the platform's option order; `undefined` where the OS cannot report one. */
export type Values = (number | undefined)[];

/** The error for a call that returned `-errno`, its code named by the platform. */
function syscallError(
  platform: Platform,
  result: number,
  syscall: string,
  fd: number,
  option: string,
  restored?: boolean,
  fixed?: number,
): KeepaliveError {
  const errno = -result;
  const code = platform.errnoNames[errno] ?? `E${errno}`;
  const what = fixed !== undefined
    ? `this ${platform.name} has no ${option}: its value is fixed at ${fixed}`
    : code === "EBADF"
    ? "not an open descriptor"
    : code === "ENOTSOCK"
    ? "not a socket"
    : code === "EOPNOTSUPP" || code === "ENOPROTOOPT"
    ? "not a TCP socket"
    : `${platform.name} refused the call`;
  return new KeepaliveError(what, { code, errno, syscall, option, fd, restored });
}

/** Whether `result` says the OS lacks the option, rather than that the call failed. */
function lacked(platform: Platform, result: number): boolean {
  return -result === platform.keepaliveIoctl?.lackedOptionErrno;
}

/**
 * Reads every option of the platform.
 *
 * @param sys The binding.
 * @param platform The table.
 * @param fd The socket.
 * @returns The kernel's values, in the platform's option order.
 * @throws {KeepaliveError} If a read fails.
 */
export function readOptions(sys: Syscalls, platform: Platform, fd: number): Values {
  return platform.options.map((option) => {
    const value = sys.getsockoptInt(fd, option.level, option.option);
    if (value >= 0) return value;
    if (lacked(platform, value)) return option.fallback;
    throw syscallError(platform, value, "getsockopt", fd, option.name);
  });
}

/** The 12-byte `struct tcp_keepalive` for `values`, unknown times filled with the system's defaults. */
function keepaliveStruct(platform: Platform, values: Values): Uint8Array {
  const { defaultsMs } = platform.keepaliveIoctl!;
  const valueOf = (field: string) => values[platform.options.findIndex((option) => option.field === field)];
  const idle = valueOf("idleMs");
  const interval = valueOf("intervalMs");
  // Idle and interval are whole seconds in the table, so read-back agrees with what was sent.
  return new Uint8Array(
    Uint32Array.of(
      valueOf("enabled") ?? 0,
      idle === undefined ? defaultsMs.idleMs : idle * 1000,
      interval === undefined ? defaultsMs.intervalMs : interval * 1000,
    ).buffer,
  );
}

/** One call that writes one option, or all of the ioctl's. */
type Step = SocketOption | "ioctl";

/** Makes one step with `values`: 0, or `-errno`. */
function apply(sys: Syscalls, platform: Platform, fd: number, step: Step, values: Values): number {
  if (step === "ioctl") return sys.ioctl(fd, platform.keepaliveIoctl!.code, keepaliveStruct(platform, values));
  return sys.setsockoptInt(fd, step.level, step.option, values[platform.options.indexOf(step)]!);
}

/**
 * Writes each changed value; if one write fails, writes the earlier ones back.
 *
 * @param sys The binding.
 * @param platform The table.
 * @param fd The socket.
 * @param before What {@linkcode readOptions} returned.
 * @param writes What to write, in the platform's order.
 * @returns The values the socket now has, in the platform's option order.
 * @throws {KeepaliveError} If a write fails; `restored` says whether the rest were put back.
 */
export function writeOptions(
  sys: Syscalls,
  platform: Platform,
  fd: number,
  before: Values,
  writes: readonly Write[],
): Values {
  const after = [...before];
  const steps: Step[] = [];
  for (const { option, value } of writes) {
    const i = platform.options.indexOf(option);
    if (before[i] === value) continue;
    after[i] = value;
    const step = option.ioctl ? "ioctl" : option;
    if (!steps.includes(step)) steps.push(step);
  }
  for (const [n, step] of steps.entries()) {
    const result = apply(sys, platform, fd, step, after);
    if (result < 0) {
      const done = steps.slice(0, n).reverse();
      const restored = done.length === 0
        ? undefined
        : done.every((earlier) => apply(sys, platform, fd, earlier, before) === 0);
      if (step === "ioctl") {
        throw syscallError(platform, result, "WSAIoctl", fd, platform.keepaliveIoctl!.name, restored);
      }
      const fixed = lacked(platform, result) ? step.fallback : undefined;
      throw syscallError(platform, result, "setsockopt", fd, step.name, restored, fixed);
    }
  }
  return after;
}
