/**
 * The public shapes of options, settings and targets, free of any runtime's types.
 *
 * @module
 */

/**
 * What to change. Omitted fields stay as the kernel has them. Durations are in
 * milliseconds, like `setTimeout`; the kernel keeps idle and interval in whole
 * seconds, so those round up (1500 ms becomes 2 s).
 *
 * @example Each value, or one deadline
 * ```ts
 * import type { KeepaliveOptions } from "../mod.ts";
 *
 * const each: KeepaliveOptions = { idleMs: 10_000, intervalMs: 2_000, count: 3, userTimeoutMs: 16_000 };
 * const deadline: KeepaliveOptions = { timeoutMs: 30_000 };
 * const off: KeepaliveOptions = { enable: false };
 * void [each, deadline, off];
 * ```
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
 *
 * @example The worst case for an idle connection whose peer vanished
 * ```ts
 * import type { KeepaliveSettings } from "../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const linuxDefaults: KeepaliveSettings = {
 *   enabled: true, idleMs: 7_200_000, intervalMs: 75_000, count: 9, userTimeoutMs: 0,
 * };
 * const { idleMs = 0, intervalMs = 0, count = 0 } = linuxDefaults;
 * equal(idleMs + intervalMs * count, 7_875_000); // 2 h 11 min 15 s
 * ```
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
 * A TCP connection's state, by RFC 793's names.
 *
 * @example A connection whose peer has closed its side
 * ```ts
 * import type { TcpState } from "../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const state: TcpState = "close-wait"; // the peer sent its FIN; this side has yet to close
 * equal(state.startsWith("close"), true);
 * ```
 */
export type TcpState =
  | "closed"
  | "listen"
  | "syn-sent"
  | "syn-received"
  | "established"
  | "fin-wait-1"
  | "fin-wait-2"
  | "close-wait"
  | "closing"
  | "last-ack"
  | "time-wait";

/**
 * What the kernel reports of a connection now (Linux `TCP_INFO`, macOS
 * `TCP_CONNECTION_INFO`, FreeBSD `TCP_INFO`, Windows `SIO_TCP_INFO`), times in
 * milliseconds; `undefined` where the OS does not say, or where a field means
 * nothing: a listener has only its state and its accept queue, and a socket
 * not yet connected no times since.
 *
 * @example How a dead peer shows: probes unanswered, the peer long unheard
 * ```ts
 * import type { TcpInfo } from "../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const info: TcpInfo = {
 *   state: "established", rttMs: 0.05, rttVarianceMs: 0.025, unackedSegments: 0, acceptQueue: undefined, totalRetransmits: 0,
 *   keepaliveProbes: 2, sinceDataSentMs: 3_000, sinceDataReceivedMs: 3_000, sinceAckReceivedMs: 3_000,
 * };
 * equal(info.keepaliveProbes! > 0 && info.sinceAckReceivedMs! > 1_000, true);
 * ```
 */
export interface TcpInfo {
  /** The connection's state. */
  state: TcpState;
  /** The smoothed round-trip time. */
  rttMs: number | undefined;
  /** Its variance. */
  rttVarianceMs: number | undefined;
  /** Segments sent and not yet acknowledged; `undefined` on a listener. */
  unackedSegments: number | undefined;
  /** On a listener, the connections waiting to be accepted (Linux); `undefined` on a connection. */
  acceptQueue: number | undefined;
  /** Segments retransmitted over the connection's life. */
  totalRetransmits: number | undefined;
  /** Keepalive probes sent since the peer last answered. */
  keepaliveProbes: number | undefined;
  /** How long ago data was last sent (or the connection was set up); `undefined` before it was set up, and on a listener. */
  sinceDataSentMs: number | undefined;
  /** How long ago data was last received (or the connection was set up); `undefined` as for `sinceDataSentMs`. */
  sinceDataReceivedMs: number | undefined;
  /** How long ago an acknowledgement was last received (a probe's answer counts); `undefined` as for `sinceDataSentMs`. */
  sinceAckReceivedMs: number | undefined;
}

/**
 * Settings planned from one dead-peer deadline: an idle connection whose peer
 * vanished is dropped after at most `idleMs + intervalMs * count`, and one with
 * unacknowledged data after `userTimeoutMs`.
 *
 * @example What a minute plans
 * ```ts
 * import { planKeepalive } from "../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(planKeepalive(60_000), { idleMs: 20_000, intervalMs: 4_000, count: 10, userTimeoutMs: 60_000 });
 * ```
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

/**
 * How `autoKeepalive` paces its sweeps: a period, stretched where a sweep's
 * measured work would take more of one core than the budget.
 *
 * @example Twice a second, within half a percent of a core
 * ```ts
 * import type { SweepOptions } from "../mod.ts";
 *
 * const pace: SweepOptions = { everyMs: 500, cpuPercent: 0.5 };
 * void pace;
 * ```
 */
export interface SweepOptions {
  /**
   * The shortest time between the starts of two sweeps, 10 ms or more; `Infinity` for no sweep on a timer, the
   * first one included: only the sockets the runtime announces (Node's `node:net`), and a sweep when asked. Default
   * 1000.
   */
  everyMs?: number;
  /**
   * The most of one core the sweeps may take, in percent, from 0.01 to 100: where a sweep's work (measured as it
   * runs) would take more at `everyMs`, the sweeps come less often. Default 0.8.
   */
  cpuPercent?: number;
}

/**
 * An operating system with a table here, named as `Deno.build.os` names it.
 *
 * @example Plan for another OS
 * ```ts
 * import { type KeepaliveOs, planKeepalive } from "../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const os: KeepaliveOs = "freebsd";
 * equal(planKeepalive(30_000, { os }).userTimeoutMs, undefined); // FreeBSD has no user timeout
 * ```
 */
export type KeepaliveOs = "linux" | "darwin" | "freebsd" | "windows";

/**
 * A network address as Deno reports it (`Deno.NetAddr`).
 *
 * @example A Deno listener's address
 * ```ts
 * import type { NetAddrLike } from "../mod.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const addr: NetAddrLike = listener.addr;
 * listener.close();
 * void addr;
 * ```
 */
export interface NetAddrLike {
  /** `"tcp"` for a TCP or TLS socket; absent on a `Deno.startTls` connection. */
  readonly transport?: string;
  /** An IP literal or a name. */
  readonly hostname?: string;
  /** The port. */
  readonly port?: number;
}

/**
 * Anything that names a TCP socket:
 * - a file descriptor;
 * - a Bun `Socket` or `Bun.listen` listener (`fd`);
 * - a `Deno.TcpConn`/`Deno.TlsConn` (`localAddr` and `remoteAddr`), also one from `Deno.startTls`;
 * - a `Deno.Listener`/`Deno.TlsListener` or a `Deno.serve` server (`addr`);
 * - a `Bun.serve` server (`port` and `hostname`);
 * - a `node:net` `Socket`/`Server`, and so a `node:tls`, `node:http` or `node:https` one.
 *
 * Deno hands out no descriptor: it is found by matching the addresses.
 *
 * @example Any of them
 * ```ts
 * import { getKeepalive, type KeepaliveTarget } from "../mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const target: KeepaliveTarget = listener;
 * equal(getKeepalive(target).enabled, false);
 * listener.close();
 * ```
 */
export type KeepaliveTarget =
  | number
  | { readonly fd: number }
  | { readonly localAddr: NetAddrLike; readonly remoteAddr: NetAddrLike }
  | { readonly addr: NetAddrLike }
  | { readonly port?: number; readonly hostname?: string; readonly url: { readonly href: string } }
  | { readonly port: number; readonly hostname: string }
  | {
    readonly localAddress?: string;
    readonly localPort?: number;
    readonly remoteAddress?: string;
    readonly remotePort?: number;
  }
  | { address(): unknown };
