/**
 * The public shapes of options, settings and targets, free of any runtime's types.
 *
 * @module
 */

/**
 * What to change. Omitted fields stay as the kernel has them. Durations are in
 * milliseconds, like `setTimeout`; the kernel keeps idle and interval in whole
 * seconds, so those round up (1500 ms becomes 2 s).
 */
export interface KeepaliveOptions {
  /** Turn keepalive on or off (`SO_KEEPALIVE`). Default `true`. */
  enable?: boolean;
  /** Idle time before the first probe (`TCP_KEEPIDLE`). */
  idleMs?: number;
  /** Time between unanswered probes (`TCP_KEEPINTVL`). */
  intervalMs?: number;
  /** Unanswered probes before the connection is dropped (`TCP_KEEPCNT`). */
  count?: number;
  /** How long sent data may stay unacknowledged (Linux `TCP_USER_TIMEOUT`, macOS `TCP_RXT_CONNDROPTIME`); 0 is the system default. */
  userTimeoutMs?: number;
  /**
   * One dead-peer deadline, planned into `idleMs`, `intervalMs`, `count` and
   * `userTimeoutMs` by {@linkcode KeepalivePlan}'s rule. `count`, if given,
   * is the number of probes to plan with; the other three cannot be combined with it.
   */
  timeoutMs?: number;
}

/**
 * The keepalive settings a socket has, as the kernel reports them. After
 * `setKeepalive`, a field the OS cannot report holds the value that was applied.
 */
export interface KeepaliveSettings {
  /** `SO_KEEPALIVE`. */
  enabled: boolean;
  /** `TCP_KEEPIDLE`, in milliseconds; `undefined` where the OS cannot report it (Windows before 1709). */
  idleMs: number | undefined;
  /** `TCP_KEEPINTVL`, in milliseconds; `undefined` where the OS cannot report it (Windows before 1709). */
  intervalMs: number | undefined;
  /** `TCP_KEEPCNT`: 10 on Windows before 1703, which has no such option. */
  count: number | undefined;
  /**
   * `TCP_USER_TIMEOUT` (Linux) or `TCP_RXT_CONNDROPTIME` (macOS), in
   * milliseconds; 0 means the system default; `undefined` where the OS has
   * no such option (FreeBSD).
   */
  userTimeoutMs: number | undefined;
}

/**
 * Settings planned from one dead-peer deadline: an idle connection whose peer
 * vanished is dropped after at most `idleMs + intervalMs * count`, and one with
 * unacknowledged data after `userTimeoutMs`.
 */
export interface KeepalivePlan {
  /** Idle time before the first probe, in whole seconds. */
  idleMs: number;
  /** Time between probes, in whole seconds. */
  intervalMs: number;
  /** Probes before giving up. */
  count: number;
  /** The deadline itself, for unacknowledged data; `undefined` for an OS without a user timeout. */
  userTimeoutMs: number | undefined;
}

/** An operating system with a table here, named as `Deno.build.os` names it. */
export type KeepaliveOs = "linux" | "darwin" | "freebsd" | "windows";

/** A network address as Deno reports it (`Deno.NetAddr`). */
export interface NetAddrLike {
  /** `"tcp"` for a TCP or TLS socket. */
  readonly transport: string;
  /** An IP literal or a name. */
  readonly hostname?: string;
  /** The port. */
  readonly port?: number;
}

/**
 * Anything that names a TCP socket:
 * - a file descriptor;
 * - a Bun `Socket` or `Bun.listen` listener (`fd`);
 * - a `Deno.TcpConn`/`Deno.TlsConn` (`localAddr` and `remoteAddr`);
 * - a `Deno.Listener` or a `Deno.serve` server (`addr`);
 * - a `Bun.serve` server (`port` and `hostname`);
 * - a `node:net` `Socket` or `Server`.
 *
 * Deno hands out no descriptor: it is found by matching the addresses.
 */
export type KeepaliveTarget =
  | number
  | { readonly fd: number }
  | { readonly localAddr: NetAddrLike; readonly remoteAddr: NetAddrLike }
  | { readonly addr: NetAddrLike }
  | { readonly port?: number; readonly hostname?: string; readonly url: URL }
  | {
    readonly localAddress?: string;
    readonly localPort?: number;
    readonly remoteAddress?: string;
    readonly remotePort?: number;
  }
  | { address(): unknown };
