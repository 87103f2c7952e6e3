/**
 * The one error class for a system call that failed, and the one way an errno
 * becomes it.
 *
 * Bad options never reach the kernel: they throw `TypeError` or `RangeError`
 * first, naming the field, the value and the allowed range.
 *
 * @module
 */
import type { Platform } from "../platforms/mod.ts";

/**
 * Where a {@linkcode KeepaliveError} came from.
 *
 * @example The message is built from it
 * ```ts
 * import { KeepaliveError, type KeepaliveErrorInit } from "../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const init: KeepaliveErrorInit = { code: "EBADF", errno: 9, syscall: "getsockopt", option: "TCP_KEEPIDLE", fd: 7 };
 * equal(new KeepaliveError("not an open descriptor", init).message, "EBADF: not an open descriptor (getsockopt TCP_KEEPIDLE fd 7)");
 * ```
 */
export interface KeepaliveErrorInit {
  /** The errno name, such as `"EBADF"`, `"ENOTSOCK"` or `"EOPNOTSUPP"`. */
  code: string;
  /** The errno number, when the kernel gave one. */
  errno?: number;
  /** The failed call, such as `"setsockopt"`; absent when none was made. */
  syscall?: string;
  /** The socket option, such as `"TCP_KEEPIDLE"`, when the call had one. */
  option?: string;
  /** The descriptor, when one was found. */
  fd?: number;
  /** Whether options changed before the failure were put back; absent if none were changed. */
  restored?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A system call on the socket failed; the socket keeps the options it had.
 *
 * @example Telling a closed descriptor apart
 * ```ts
 * import { getKeepalive, KeepaliveError } from "../mod.ts";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => getKeepalive(2 ** 30), (e) => e instanceof KeepaliveError && e.code === "EBADF");
 * ```
 */
export class KeepaliveError extends Error {
  /** The errno name, such as `"EBADF"`. */
  readonly code: string;
  /** The errno number, when the kernel gave one. */
  readonly errno: number | undefined;
  /** The failed call, such as `"getsockopt"`; `undefined` when none was made. */
  readonly syscall: string | undefined;
  /** The socket option, such as `"TCP_KEEPCNT"`. */
  readonly option: string | undefined;
  /** The descriptor the call was made on. */
  readonly fd: number | undefined;
  /** Whether options changed before the failure were put back; `undefined` if none were changed. */
  readonly restored: boolean | undefined;

  /**
   * Builds the error; its message is composed from `init`.
   *
   * @param message What went wrong, without the call details.
   * @param init The call, option, descriptor and errno.
   */
  constructor(message: string, init: KeepaliveErrorInit) {
    const where = [
      init.syscall,
      init.option,
      init.fd === undefined ? undefined : `fd ${init.fd}`,
    ].filter((part) => part !== undefined).join(" ");
    const call = where ? ` (${where})` : "";
    const restored = init.restored === undefined
      ? ""
      : init.restored
      ? "; the options changed before it were restored"
      : "; restoring the options changed before it failed too";
    super(`${init.code}: ${message}${call}${restored}`, { cause: init.cause });
    this.name = "KeepaliveError";
    this.code = init.code;
    this.errno = init.errno;
    this.syscall = init.syscall;
    this.option = init.option;
    this.fd = init.fd;
    this.restored = init.restored;
  }
}

/** An errno's name on this OS (`EBADF`), or `E` and its number where the table has none. */
export function errnoName(platform: Platform, errno: number): string {
  return platform.errnoNames[errno] ?? `E${errno}`;
}

/** The error for a socket call that returned `-errno`; `lacked` where the OS lacks the option, with the value it keeps. */
export function syscallError(
  platform: Platform,
  result: number,
  init: { syscall: string; option?: string; fd: number; restored?: boolean; lacked?: { fixed?: number } },
): KeepaliveError {
  const errno = -result;
  const code = errnoName(platform, errno);
  const fixed = init.lacked?.fixed;
  const what = init.lacked
    ? `this ${platform.name} has no ${init.option}${fixed === undefined ? "" : `: its value is fixed at ${fixed}`}`
    : code === "EBADF"
    ? "not an open descriptor"
    : code === "ENOTSOCK"
    ? "not a socket"
    : code === "EOPNOTSUPP" || code === "ENOPROTOOPT"
    ? "not a TCP socket"
    : `${platform.name} refused the call`;
  const { lacked: _, ...where } = init;
  return new KeepaliveError(what, { code, errno, ...where });
}
