/**
 * A platform table as system calls: read the value of every option, write the
 * changed ones, and put them back if one fails, so that no socket is left
 * half-configured. Each option is one `setsockopt`, except where the platform
 * writes several in one ioctl (Windows).
 *
 * @module
 */
import type { Syscalls } from "../syscalls/mod.ts";
import { syscallError } from "./_errors.ts";
import type { Values, Write } from "../options/mod.ts";
import type { Platform, SocketOption } from "../platforms/mod.ts";

/** A socket and the values {@linkcode readValues} found on it. */
export interface SocketValues {
  readonly fd: number;
  readonly before: Values;
}

/** Whether `result` says the OS lacks the option, rather than that the call failed. */
function lacked(platform: Platform, result: number): boolean {
  return -result === platform.keepaliveIoctl?.lackedOptionErrno;
}

/**
 * Reads every option of the platform. A boolean reads as 0 or 1 whatever the
 * kernel returns (the BSDs return the flag's bit, 8 for `SO_KEEPALIVE`).
 *
 * @param fd The socket.
 * @returns The kernel's values, in the platform's option order.
 * @throws {KeepaliveError} If a read fails.
 */
export function readValues(sys: Syscalls, platform: Platform, fd: number): Values {
  // A loop, not map: under Bun, map was a quarter of setKeepalive's own time.
  const values: Values = [];
  for (const option of platform.socketOptions) {
    const value = sys.getsockoptInt(fd, option.level, option.optname);
    if (value >= 0) values.push(option.unit === "bool" ? Number(value !== 0) : value);
    else if (lacked(platform, value)) values.push(option.fallback);
    else throw syscallError(platform, value, { syscall: "getsockopt", option: option.name, fd });
  }
  return values;
}

/** The ioctl's struct for `values`, unknown times filled with the system's defaults. */
function keepaliveStruct(platform: Platform, values: Values): Uint8Array {
  const ioctl = platform.keepaliveIoctl!;
  const valueOf = (field: string) => values[platform.socketOptions.findIndex((option) => option.field === field)];
  const idle = valueOf("idleMs");
  const interval = valueOf("intervalMs");
  // Idle and interval are whole seconds in the table, so read-back agrees with what was sent.
  return ioctl.encode({
    enabled: valueOf("enabled") ?? 0,
    idleMs: idle === undefined ? ioctl.defaultsMs.idleMs : idle * 1000,
    intervalMs: interval === undefined ? ioctl.defaultsMs.intervalMs : interval * 1000,
  });
}

/** One call on one socket: one option (at `index` in the platform's order), or all of the ioctl's. */
interface Step {
  readonly fd: number;
  readonly call: SocketOption | "ioctl";
  readonly index: number;
  readonly before: Values;
  readonly after: Values;
}

/** An `int` and this module's tag after it, as a tagged write passes them. */
const tagged = new Int32Array(2);
const taggedBytes = new Uint8Array(tagged.buffer);

/** Makes one step with `values`, tagged if `tag` is given: 0, or `-errno`. */
function apply(sys: Syscalls, platform: Platform, step: Step, values: Values, tag: number | undefined): number {
  const { fd, call } = step;
  if (call === "ioctl") return sys.ioctl(fd, platform.keepaliveIoctl!.code, keepaliveStruct(platform, values));
  if (tag === undefined) return sys.setsockoptInt(fd, call.level, call.optname, values[step.index]!);
  tagged[0] = values[step.index]!;
  tagged[1] = tag;
  return sys.setsockopt(fd, call.level, call.optname, taggedBytes);
}

/**
 * Writes each changed value on each socket; if one write fails, writes back
 * every earlier one, on every socket, last first.
 *
 * @param sockets The sockets, with what {@linkcode readValues} returned for each.
 * @param writes What to write, in the platform's order.
 * @param tag This module's tag, written after each `int` where it writes from outside the socket's process (Linux):
 *   what a cgroup's `--enforce` program lets through.
 * @returns The values each socket now has, in the platform's option order.
 * @throws {KeepaliveError} If a write fails; `restored` says whether the earlier ones were put back.
 */
export function writeValues(
  sys: Syscalls,
  platform: Platform,
  sockets: readonly SocketValues[],
  writes: readonly Write[],
  tag?: number,
): Values[] {
  const steps: Step[] = [];
  const afters: Values[] = [];
  for (const { fd, before } of sockets) {
    const after = before.slice();
    let ioctl = false;
    for (const { option, value } of writes) {
      const index = platform.socketOptions.indexOf(option);
      if (before[index] === value) continue;
      after[index] = value;
      // One ioctl sets all of its options, from `after` as it is once every write is in.
      if (!option.ioctl) steps.push({ fd, call: option, index, before, after });
      else if (!ioctl) {
        ioctl = true;
        steps.push({ fd, call: "ioctl", index: -1, before, after });
      }
    }
    afters.push(after);
  }
  for (let n = 0; n < steps.length; n++) {
    const step = steps[n]!;
    const result = apply(sys, platform, step, step.after, tag);
    if (result < 0) {
      const done = steps.slice(0, n).reverse();
      const restored = done.length === 0
        ? undefined
        : done.map((earlier) => apply(sys, platform, earlier, earlier.before, tag)).every((back) => back === 0);
      const { fd, call } = step;
      throw call === "ioctl"
        ? syscallError(platform, result, { syscall: "WSAIoctl", option: platform.keepaliveIoctl!.name, fd, restored })
        : syscallError(platform, result, {
          syscall: "setsockopt",
          option: call.name,
          fd,
          restored,
          lacked: lacked(platform, result) ? { fixed: call.fallback } : undefined,
        });
    }
  }
  return afters;
}

/**
 * Reads one socket's options and writes what differs from `writes`, putting them back if a write fails.
 *
 * @param fd The socket.
 * @param writes What to write, in the platform's order.
 * @param tag As for {@linkcode writeValues}.
 * @returns What it held before, and what it holds now, in the platform's option order.
 * @throws {KeepaliveError} If a read or a write fails.
 */
export function rewriteValues(
  sys: Syscalls,
  platform: Platform,
  fd: number,
  writes: readonly Write[],
  tag?: number,
): { before: Values; after: Values } {
  const before = readValues(sys, platform, fd);
  const [after] = writeValues(sys, platform, [{ fd, before }], writes, tag);
  return { before, after: after! };
}
