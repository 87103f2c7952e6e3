/**
 * Options as `getsockopt`/`setsockopt` calls: read all, write the changed ones,
 * and put them back if one fails, so a socket is never left half-configured.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";
import type { Write } from "../options.ts";
import { KeepaliveError } from "../errors.ts";
import type { Platform, SocketOption } from "./_types.ts";

/** The error for a call that returned `-errno`, its code named by the platform. */
function syscallError(
  platform: Platform,
  result: number,
  syscall: string,
  fd: number,
  option?: SocketOption,
  restored?: boolean,
): KeepaliveError {
  const errno = -result;
  const code = platform.errnoNames[errno] ?? `E${errno}`;
  const what = code === "EBADF"
    ? "not an open descriptor"
    : code === "ENOTSOCK"
    ? "not a socket"
    : code === "EOPNOTSUPP" || code === "ENOPROTOOPT"
    ? "not a TCP socket"
    : `${platform.name} refused the call`;
  return new KeepaliveError(what, { code, errno, syscall, option: option?.name, fd, restored });
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
export function readOptions(sys: Syscalls, platform: Platform, fd: number): number[] {
  return platform.options.map((option) => {
    const value = sys.getsockoptInt(fd, option.level, option.option);
    if (value < 0) throw syscallError(platform, value, "getsockopt", fd, option);
    return value;
  });
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
  before: readonly number[],
  writes: readonly Write[],
): number[] {
  const after = [...before];
  const done: SocketOption[] = [];
  for (const { option, value } of writes) {
    const i = platform.options.indexOf(option);
    if (before[i] === value) continue;
    const result = sys.setsockoptInt(fd, option.level, option.option, value);
    if (result < 0) {
      const restored = done.length === 0
        ? undefined
        : done.reverse().every((earlier) =>
          sys.setsockoptInt(fd, earlier.level, earlier.option, before[platform.options.indexOf(earlier)]) === 0
        );
      throw syscallError(platform, result, "setsockopt", fd, option, restored);
    }
    done.push(option);
    after[i] = value;
  }
  return after;
}
