import type { KeepaliveSettings } from "../types.ts";

/** How the kernel counts an option's value. */
export type Unit = "bool" | "count" | "s" | "ms";

/** One socket option that carries one field of {@linkcode KeepaliveSettings}. */
export interface SocketOption {
  /** The field of the public settings it carries. */
  readonly field: keyof KeepaliveSettings;
  /** The C name, for errors. */
  readonly name: string;
  /** `SOL_SOCKET` or `IPPROTO_TCP`. */
  readonly level: number;
  /** The option number. */
  readonly option: number;
  /** What one step of the kernel's value is. */
  readonly unit: Unit;
  /** The smallest value the kernel takes, in `unit`. */
  readonly min: number;
  /** The largest value the kernel takes, in `unit`. */
  readonly max: number;
  /** Written with the platform's {@linkcode KeepaliveIoctl} rather than `setsockopt` (Windows). */
  readonly ioctl?: true;
  /** The value in effect where the OS lacks the option (Windows before 1703 probes 10 times): read back as this, and the only one kept. */
  readonly fallback?: number;
}

/**
 * Windows' `WSAIoctl(SIO_KEEPALIVE_VALS)`: enable, idle and interval in one
 * `struct tcp_keepalive { u_long onoff, keepalivetime, keepaliveinterval; }`,
 * times in milliseconds. All three are always applied.
 */
export interface KeepaliveIoctl {
  /** `"SIO_KEEPALIVE_VALS"`, for errors. */
  readonly name: string;
  /** The control code. */
  readonly code: number;
  /** What is sent for a field that was neither asked for nor readable: the system's default. */
  readonly defaultsMs: { readonly idleMs: number; readonly intervalMs: number };
  /** The error of a system that lacks an option (`WSAENOPROTOOPT`): the option's value is then unknown, or its `fallback`. */
  readonly lackedOptionErrno: number;
}

/** One operating system's keepalive options, as data. */
export interface Platform {
  /** The name used in errors, such as `"Linux"`. */
  readonly name: string;
  /** The options, in the order they are read and written: TCP-level first, since a socket that is not TCP refuses those. */
  readonly options: readonly SocketOption[];
  /** How enable, idle and interval are written where one ioctl carries them (Windows). */
  readonly keepaliveIoctl?: KeepaliveIoctl;
  /** Why a field the OS has no option for is missing, for errors. */
  readonly missing: Readonly<Partial<Record<keyof KeepaliveSettings, string>>>;
  /** Where `sa_family` sits in a `sockaddr`: a `u16` at 0 (Linux), or a `u8` at 1 after `sa_len` (the BSDs). */
  readonly sockaddrFamily: { readonly offset: number; readonly bytes: 1 | 2 };
  /** Address family numbers, for matching a socket's addresses. */
  readonly AF_INET: number;
  /** Address family of IPv6. */
  readonly AF_INET6: number;
  /** errno numbers to names, for errors. */
  readonly errnoNames: Readonly<Record<number, string>>;
}
