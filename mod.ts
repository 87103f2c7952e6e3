/**
 * TCP keepalive you can tune from Deno, Bun and Node: idle time, probe
 * interval, probe count and the user timeout, set through the C library with
 * the runtime's FFI (`Deno.dlopen`, `bun:ffi`, `node:ffi`) on any socket,
 * listener or server, and read back from the kernel. Deno 2.1, Bun 1.3.3 and
 * Node 26.1 or later (26.1 to 26.8 with `--experimental-ffi`).
 *
 * Needs `--allow-ffi` under Deno, and nothing else: the descriptor of a Deno
 * socket, which Deno does not hand out, is found through the C library too.
 * To scope the permission, allow the library's absolute path, such as
 * `--allow-ffi=/lib/x86_64-linux-gnu/libc.so.6`.
 *
 * @example Find a dead peer in 30 seconds instead of 2 hours 11 minutes
 * ```ts
 * import { getKeepalive, setKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * setKeepalive(conn, { timeoutMs: 30_000 });
 * deepEqual(getKeepalive(conn), {
 *   idleMs: 10_000, intervalMs: 2_000, count: 10, userTimeoutMs: 30_000, enabled: true,
 * });
 * conn.close();
 * listener.close();
 * ```
 *
 * @module
 */
import { syscalls } from "./ffi/mod.ts";
import { afterUnref, announcedSockets, descriptorOf, keepAliveOffReaches, os } from "./runtime/mod.ts";
import { checkSweeps, planWrites } from "./options/mod.ts";
import { type Platform, platformFor } from "./platforms/mod.ts";
import {
  applyToCgroup,
  cgroup2Mount,
  type CgroupKeepalive,
  clearCgroup,
  type DetachedProgram,
  inspectCgroupAt,
  type InspectedCgroup,
  type InspectedNetns,
  inspectNetnsAt,
  type NetnsSocket,
  type ScannedNetns,
  scanNetnsAt,
} from "./cgroup/mod.ts";
import {
  applyToProcess,
  type InspectedSocket,
  inspectProcessAt,
  type ProcessSocket,
  startSweeps,
  type SweepResult,
} from "./sweep/mod.ts";
import { applyKeepalive, finderFor, keepaliveOff, readKeepalive, settleRuntime, tcpInfoOf } from "./targets/mod.ts";
import { type AgentConfig, NodeAgent, parseAgentConfig as parseConfig, readAgentConfig } from "./agent/mod.ts";
import { bpfContext, readWhole } from "./bpf/mod.ts";
import { errnoName } from "./socket/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings, KeepaliveTarget, SweepOptions, TcpInfo } from "./types/mod.ts";

let osTable: Platform | undefined;
/** This OS's table, looked up once: an OS without one is refused at the first call, not at import. */
const here = (): Platform => osTable ??= platformFor(os);
export type { InspectedSocket, ProcessSocket, SweepResult } from "./sweep/mod.ts";
export type {
  CgroupKeepalive,
  CgroupProcess,
  CgroupProgram,
  CgroupProgramInfo,
  CgroupSocket,
  DetachedProgram,
  InspectedCgroup,
  InspectedNetns,
  NetnsSocket,
  ProgramKind,
  Reach,
  ScannedNetns,
} from "./cgroup/mod.ts";
export type { ConnectionCounts, Holder, SocketSummary, UnseenBucket } from "./iter/mod.ts";
export {
  type AgentAction,
  type AgentConfig,
  type AgentCounters,
  type AgentPolicy,
  type AgentSettings,
  type CgroupConnections,
  ConfigError,
  type Histogram,
  type MetricsState,
  NodeAgent,
  type Observation,
} from "./agent/mod.ts";
export { KeepaliveError, type KeepaliveErrorInit } from "./socket/mod.ts";
export { planKeepalive } from "./options/mod.ts";
export type {
  KeepaliveOptions,
  KeepaliveOs,
  KeepalivePlan,
  KeepaliveSettings,
  KeepaliveTarget,
  NetAddrLike,
  SweepOptions,
  TcpInfo,
  TcpState,
} from "./types/mod.ts";

/**
 * Sets keepalive on a TCP socket, listener or server. A listener passes its
 * settings on to every socket it accepts. Omitted fields stay as they are;
 * `enable` defaults to `true`. If one option fails, the ones already changed
 * are put back. A listener found by its address (Deno, `Bun.serve`,
 * `node:net`) is every listening socket at that address: with
 * `SO_REUSEPORT`, in this process and its Workers, they are one service.
 *
 * @param target A descriptor, or a Deno, Bun or `node:net` socket, listener or server.
 * @param options What to change, in milliseconds; idle and interval round up to whole seconds.
 * @returns The settings the socket has now.
 * @throws {TypeError} On options that are not an object (`undefined` too), an unknown option, a wrong type, or a
 *   target that is no socket.
 * @throws {RangeError} On a value outside the OS's limits, or a descriptor outside its range; nothing is called then.
 * @throws {KeepaliveError} If a system call fails (`EBADF`, `ENOTSOCK`, `EOPNOTSUPP`, ...), or if listeners
 *   sharing the address hold different values for a field not being set (`EADDRINUSE`).
 *
 * @example Probe after 5 s idle, every 1 s, give up after 3
 * ```ts
 * import { setKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * deepEqual(setKeepalive(listener, { idleMs: 5_000, intervalMs: 1_000, count: 3 }), {
 *   enabled: true, idleMs: 5_000, intervalMs: 1_000, count: 3, userTimeoutMs: 0,
 * });
 * listener.close();
 * ```
 */
export function setKeepalive(target: KeepaliveTarget, options: KeepaliveOptions): KeepaliveSettings {
  return applyKeepalive(syscalls, here(), target, options, descriptorOf);
}

/**
 * Reads the keepalive settings a socket has, from the kernel.
 *
 * @param target A descriptor, or a Deno, Bun or `node:net` socket, listener or server.
 * @returns The settings, in milliseconds.
 * @throws {TypeError} On a target that is no socket.
 * @throws {KeepaliveError} If a system call fails.
 *
 * @example The kernel's defaults
 * ```ts
 * import { getKeepalive } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * equal(getKeepalive(listener).enabled, false);
 * listener.close();
 * ```
 */
export function getKeepalive(target: KeepaliveTarget): KeepaliveSettings {
  return readKeepalive(syscalls, here(), target, descriptorOf);
}

/**
 * What the kernel reports of a connection now: its state, round-trip time,
 * unacknowledged and retransmitted segments, the keepalive probes sent since
 * the peer last answered, and how long ago data and acknowledgements last
 * came and went. Linux has every field; macOS, FreeBSD and Windows fewer
 * (`undefined` where the OS does not say).
 *
 * @param target A descriptor, or a Deno, Bun or `node:net` socket, listener or server, as for {@linkcode getKeepalive}.
 * @returns The kernel's view, times in milliseconds.
 * @throws {TypeError} On a target that is no socket.
 * @throws {KeepaliveError} If the call fails (`EBADF` for a closed target, as {@linkcode getKeepalive} says), or the
 *   OS has no such report (Windows before 10 1703: `EOPNOTSUPP`).
 *
 * @example A live connection and a listener
 * ```ts
 * import { getTcpInfo } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const info = getTcpInfo(conn);
 * equal(info.state, "established");
 * equal(info.rttMs! > 0, true);
 * equal(getTcpInfo(listener).state, "listen");
 * conn.close();
 * listener.close();
 * ```
 */
export function getTcpInfo(target: KeepaliveTarget): TcpInfo {
  return tcpInfoOf(syscalls, here(), target, descriptorOf);
}

/**
 * A running {@linkcode autoKeepalive}.
 *
 * @example Stop it when done
 * ```ts
 * import { type AutoKeepalive, autoKeepalive } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * using auto: AutoKeepalive = autoKeepalive({ timeoutMs: 30_000 });
 * equal(auto.sweep().failed, 0);
 * ```
 */
export interface AutoKeepalive {
  /** Sweeps now: every TCP socket of the process not seen before, and holding nothing chosen, is configured. */
  sweep(): SweepResult;
  /** Stops this handle; the timer stops once every handle on it has. The sockets keep what they were given. */
  stop(): void;
  /** The same as {@linkcode AutoKeepalive.stop}, for `using`. */
  [Symbol.dispose](): void;
  /** What the last sweep on the timer threw, if it threw (listing the descriptors failed); `undefined` otherwise. */
  readonly lastError: unknown;
}

/**
 * Configures every TCP socket of this process, whoever opened it: `fetch`'s
 * pool, `WebSocket`, database drivers, the runtime's own servers and what
 * they accept. Sweeps at once (connected, connecting and listening sockets,
 * IPv4 and IPv6; never Unix-domain, UDP or other descriptors), then every
 * `everyMs` on a timer that never keeps the process alive, so that a socket
 * opened later is configured within about `everyMs`. A sweep on the timer,
 * the first one too, runs in slices of about a millisecond, so that it never
 * holds the event loop longer; {@linkcode AutoKeepalive.sweep} sweeps the
 * whole process now. Where its measured work would take more than
 * `cpuPercent` of one core at `everyMs`, the sweeps come less often (at
 * 10,000 sockets, a sweep costs a few milliseconds). A socket configured
 * long ago is read back once in 32 sweeps, so that a runtime's keepalive
 * written long after connect (a driver's) is put right.
 *
 * Sockets of `node:net` (under Node: `fetch`, `http`, `https`, `tls`,
 * `http2`, most drivers) need no sweep: the runtime announces them on
 * `diagnostics_channel`, and each is configured in the turn of the event
 * loop in which it connects or is accepted, after its `'connect'` listeners
 * and any `setKeepAlive` of the runtime's own at connect. The runtime's own
 * idea of a `node:net` socket is kept true: its `setKeepAlive(false)` still
 * turns keepalive off after a sweep set the socket.
 *
 * The kernel is the record of who chose what: a sweep writes only a socket
 * whose probe interval and count are the system's defaults, the runtimes' own
 * (1 s and 10, from Bun's and Node's `setKeepAlive(true, ms)`) or the sweeps'
 * own, and whose user timeout is the system's or the sweeps' own. Any other
 * values were chosen, through {@linkcode setKeepalive} in any Worker or copy
 * of this module, or by the application, and are kept, as are those a
 * listener so set passes to what it accepts. An idle time alone, or
 * `enable` alone, looks like a runtime's own and is swept over; keepalive
 * turned off once its probes were set up stays off.
 *
 * One policy per copy of the module: called again while sweeps run, with the
 * same options and pace it shares them (they stop when every handle has
 * stopped); with others it throws. Workers share their process's descriptors:
 * one call sweeps the sockets of every Worker; sweeps started in two Workers
 * with different options do not fight, each socket keeping the first policy
 * that configured it.
 *
 * @param options What to give each socket, as for {@linkcode setKeepalive}; checked before anything is swept.
 * @param sweeps `everyMs`: the period, 10 ms or more (default 1000), or `Infinity` for no sweep on the timer (only
 *   announced sockets, and `sweep()` when asked); `cpuPercent`: the most of one core the sweeps may take, from 0.01
 *   to 100 (default 0.8).
 * @returns The running sweeps.
 * @throws {TypeError | RangeError} On bad options or pace; nothing is swept then.
 * @throws {Error} If sweeps with other options or another pace already run in this copy of the module.
 * @throws {KeepaliveError} If the descriptors cannot be listed, or no socket can be made to read the defaults.
 *
 * @example Find a dead peer of any connection within 30 seconds
 * ```ts
 * import { autoKeepalive, getKeepalive } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const auto = autoKeepalive({ timeoutMs: 30_000 });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * auto.sweep(); // or wait for the timer
 * equal(getKeepalive(conn).idleMs, 10_000);
 * auto.stop();
 * conn.close();
 * listener.close();
 * ```
 */
export function autoKeepalive(options: KeepaliveOptions, sweeps: SweepOptions = {}): AutoKeepalive {
  const platform = here();
  const writes = planWrites(options, platform);
  const pace = checkSweeps(sweeps);
  const sys = syscalls();
  const clock = { now: () => performance.now(), after: afterUnref };
  // Once per running sweeps: the sockets the runtime announces are configured as they connect, and its own
  // setKeepAlive(false) still turns keepalive off on a socket a sweep set through its descriptor alone, which the
  // runtime does not know of.
  const hooks = (configure: (fds: readonly number[]) => void) => {
    const unsubscribe = announcedSockets((socket) => {
      try {
        const fds = finderFor(socket as KeepaliveTarget, platform, descriptorOf)(sys);
        configure(fds);
        settleRuntime(sys, platform, socket as KeepaliveTarget, fds);
      } catch {
        // not TCP (a Unix-domain socket), or closed already: the sweeps look at whatever is there
      }
    });
    const restore = keepAliveOffReaches((socket) => {
      try {
        keepaliveOff(() => sys, platform, socket as KeepaliveTarget, descriptorOf);
      } catch {
        // closed, or not TCP: nothing to turn off
      }
    });
    return () => {
      unsubscribe();
      restore();
    };
  };
  const sweeper = startSweeps(sys, platform, writes, pace, clock, hooks);
  return {
    sweep: sweeper.sweep,
    stop: sweeper.stop,
    [Symbol.dispose]: sweeper.stop,
    get lastError() {
      return sweeper.lastError;
    },
  };
}

/**
 * Sets keepalive on every TCP socket of another running process, in any
 * language, which knows nothing of this module (Linux 5.6 and later, through
 * `pidfd_open` and `pidfd_getfd`; the same rights as `ptrace` over it).
 *
 * @param pid The process.
 * @param options What to set, as for {@linkcode setKeepalive}.
 * @returns Each of its TCP sockets (IPv4 and IPv6), with what it held before and holds now.
 * @throws {TypeError | RangeError} On bad options or pid, before any call.
 * @throws {Error} On an OS other than Linux.
 * @throws {KeepaliveError} `EPERM` without the rights, `ENOSYS` on a kernel before 5.6, `ESRCH` with no such process.
 *
 * @example This process's own sockets, as another process would set them
 * ```ts
 * import { setProcessKeepalive } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const mine = setProcessKeepalive(Deno.pid, { idleMs: 20_000 });
 * equal(mine.find((socket) => socket.local === `127.0.0.1:${listener.addr.port}`)?.after.idleMs, 20_000);
 * listener.close();
 * ```
 */
export function setProcessKeepalive(pid: number, options: KeepaliveOptions): ProcessSocket[] {
  return applyToProcess(syscalls, here(), pid, options);
}

/**
 * Reads every TCP socket of another running process, and writes nothing: its
 * addresses, keepalive settings, how soon a dead peer would be found, and how
 * long ago the peer was last heard (Linux 5.6 and later, through
 * `pidfd_getfd`, with the rights of `ptrace` over it).
 *
 * @param pid The process.
 * @returns Each of its TCP sockets, as it is.
 * @throws {RangeError} On a bad pid, before any call.
 * @throws {Error} On an OS other than Linux.
 * @throws {KeepaliveError} As {@linkcode setProcessKeepalive}.
 *
 * @example This process's own listener, as another process would see it
 * ```ts
 * import { inspectProcess } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const mine = inspectProcess(Deno.pid).find((socket) => socket.local === `127.0.0.1:${listener.addr.port}`);
 * equal(mine?.state, "listen");
 * equal(mine?.settings.enabled, false);
 * listener.close();
 * ```
 */
export function inspectProcess(pid: number): InspectedSocket[] {
  return inspectProcessAt(syscalls, here(), pid);
}

/**
 * Keepalive for every connection made in a cgroup v2 directory or below, in
 * any language, by the kernel itself (Linux 5.9 and later): a BPF program
 * attached there sets the policy on each connection as it is established,
 * opened or accepted, in place of this module's own earlier program (whoever
 * attached it) and beside everyone else's. Policies nest: a connection gets
 * the policy of the nearest cgroup with one, its own or its closest
 * ancestor's. The TCP sockets its processes already hold are set in the same
 * call, through `pidfd_getfd` (those of a cgroup below with a policy of its
 * own are left to it). The program stays attached when this process exits,
 * until {@linkcode clearCgroupKeepalive}. A socket belongs to the cgroup it
 * was made in: one made before a process moved in is not the program's.
 *
 * With `enforce`, a second program (`cgroup/setsockopt`) holds the policy over
 * the applications' own `setsockopt` of these options on TCP sockets: the call
 * succeeds and changes nothing, so the connection keeps what its policy gave
 * it (Node's and Bun's `fetch` set their own keepalive after connecting). The
 * kernel runs no such program for a 32-bit process's calls:
 * {@linkcode inspectCgroup} shows what they changed (`drift`).
 *
 * Needs `CAP_BPF` and `CAP_NET_ADMIN`, or `CAP_SYS_ADMIN`, in the initial user
 * namespace, `CAP_SYS_ADMIN` to find its earlier program by id, and the rights
 * of `ptrace` over the processes there (`CAP_SYS_PTRACE`) for their sockets.
 *
 * @param path The cgroup v2 directory, absolute, such as `/sys/fs/cgroup/system.slice/app.service`.
 * @param options The policy, as for {@linkcode setKeepalive}.
 * @param settings `enforce`: hold the policy over the applications' own `setsockopt` too (default `false`);
 *   `owner`: whose programs these are, which {@linkcode clearCgroupKeepalive} goes by (1 to 64 bytes; default the
 *   host's name, a Kubernetes pod's name in a pod); `root`: the hierarchy's root is meant (every process of the host).
 * @returns The programs attached, and each process's sockets before and after.
 * @throws {TypeError | RangeError} On bad options or settings, before any call; a `TypeError` naming the path if it
 *   is no cgroup v2 directory, or is the root without `root`.
 * @throws {Error} On an OS other than Linux, or a kernel before 5.9, whose program would set nothing.
 * @throws {KeepaliveError} If the kernel refuses, before anything is attached: `EPERM` names the capabilities, or
 *   another's program attached there exclusively; a verifier's refusal its log; `EPERM` naming a process whose
 *   sockets this process may not take.
 *
 * @example Every connection of a new cgroup, found dead within 30 s (as root)
 * ```ts
 * import { clearCgroupKeepalive, setCgroupKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const mounts = Deno.readTextFileSync("/proc/self/mounts").split("\n").map((line) => line.split(" "));
 * const path = `${mounts.find((fields) => fields[2] === "cgroup2")![1]}/keepalive-example-${Deno.pid}`;
 * Deno.mkdirSync(path);
 * const done = setCgroupKeepalive(path, { timeoutMs: 30_000 }, { owner: "example" });
 * deepEqual(done.programs.map(({ kind, owner }) => [kind, owner]), [["sock_ops", "example"]]);
 * deepEqual(done.processes, []); // no process there yet
 * clearCgroupKeepalive(path, { owner: "example" });
 * Deno.removeSync(path);
 * ```
 */
export function setCgroupKeepalive(
  path: string,
  options: KeepaliveOptions,
  settings: { enforce?: boolean; owner?: string; root?: boolean } = {},
): CgroupKeepalive {
  return applyToCgroup(syscalls, here(), path, options, settings);
}

/**
 * Takes this module's programs of one owner off a cgroup v2 directory (or
 * every owner's, with `all`): connections made there afterwards get the
 * policy of the nearest cgroup above with one, or the system's defaults; the
 * sockets that exist keep what they hold, and others' programs, and another
 * owner's, stay. A program of 0.7 or 0.8, which recorded no owner, is anyone's.
 *
 * @param path The cgroup v2 directory.
 * @param settings `owner`: whose to take off (default the host's name, as {@linkcode setCgroupKeepalive}'s);
 *   `all`: every owner's.
 * @returns Each of this module's programs there, and whether it was taken off.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory, or on bad settings.
 * @throws {Error} On an OS other than Linux.
 * @throws {KeepaliveError} If the kernel refuses (`EPERM` names the capabilities).
 *
 * @example On, and off again (as root)
 * ```ts
 * import { clearCgroupKeepalive, setCgroupKeepalive } from "./mod.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const mounts = Deno.readTextFileSync("/proc/self/mounts").split("\n").map((line) => line.split(" "));
 * const path = `${mounts.find((fields) => fields[2] === "cgroup2")![1]}/keepalive-example-off-${Deno.pid}`;
 * Deno.mkdirSync(path);
 * const { programs: [attached] } = setCgroupKeepalive(path, { idleMs: 20_000, intervalMs: 5_000, count: 3 });
 * deepEqual(clearCgroupKeepalive(path, { owner: "someone else" })[0].detached, false); // not theirs
 * equal(clearCgroupKeepalive(path)[0].id, attached.id); // the host's, by default
 * equal(clearCgroupKeepalive(path).length, 0); // nothing of this module's is left there
 * Deno.removeSync(path);
 * ```
 */
export function clearCgroupKeepalive(
  path: string,
  settings: { owner?: string; all?: boolean } = {},
): DetachedProgram[] {
  return clearCgroup(syscalls, here(), path, settings);
}

/**
 * Reads a cgroup v2 directory, and writes nothing: the programs that run for
 * its connections (its ancestors' too), whose this module's are and what they
 * set, and every TCP socket made there and below, each with the policy that
 * holds for it (`policy`, the nearest cgroup with one) and the fields it
 * holds otherwise (`drift`). The sockets are read in one pass of the kernel's
 * TCP iterator in each network namespace the cgroup's processes use (Linux
 * 6.1 with BTF, no `CAP_SYS_PTRACE`), whoever holds them now; on an older
 * kernel, or one without BTF, through `pidfd_getfd` process by process, as
 * {@linkcode inspectProcess} reads them (`reach` and `fallback` say which).
 *
 * @param path The cgroup v2 directory.
 * @returns What it holds now.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory.
 * @throws {Error} On an OS other than Linux.
 * @throws {KeepaliveError} If the kernel refuses.
 *
 * @example What a cgroup's connections get (as root)
 * ```ts
 * import { clearCgroupKeepalive, inspectCgroup, setCgroupKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const mounts = Deno.readTextFileSync("/proc/self/mounts").split("\n").map((line) => line.split(" "));
 * const path = `${mounts.find((fields) => fields[2] === "cgroup2")![1]}/keepalive-example-seen-${Deno.pid}`;
 * Deno.mkdirSync(path);
 * setCgroupKeepalive(path, { idleMs: 20_000, count: 3 });
 * deepEqual(inspectCgroup(path).programs.find((program) => program.kind === "sock_ops")?.settings, {
 *   enabled: true, idleMs: 20_000, count: 3,
 * });
 * clearCgroupKeepalive(path);
 * Deno.removeSync(path);
 * ```
 */
export function inspectCgroup(path: string): InspectedCgroup {
  return inspectCgroupAt(syscalls, here(), path);
}

/**
 * Reads every TCP socket of a network namespace, whoever holds it, in one
 * pass of the kernel's TCP iterator (`iter/tcp`), and writes nothing: its
 * addresses and state, its keepalive as the kernel holds it, how soon an idle
 * dead peer would be found, its owner's uid, the cgroup it was made in, and
 * the processes holding it; with a summary first (connections, keepalive off,
 * and how long an idle dead peer would go unseen, in buckets, by cgroup).
 * Records stream back as the kernel writes them; nothing stays loaded.
 *
 * Needs Linux 6.1 with BTF (`/sys/kernel/btf/vmlinux`), `CAP_BPF` and
 * `CAP_PERFMON` (or `CAP_SYS_ADMIN`), and `CAP_SYS_ADMIN` to enter another
 * namespace; not `CAP_SYS_PTRACE`.
 *
 * @param path A network namespace file, such as `/proc/PID/ns/net` or `/run/netns/NAME`; this process's own if
 *   absent.
 * @param settings `overMs`: keep only the connections whose idle dead peer would go unseen longer than this
 *   (`350_000`: the ones a cloud NAT drops first); the summary still counts every socket.
 * @returns The namespace, the summary, and the sockets.
 * @throws {TypeError | RangeError} On a bad path or setting, before any call; a `TypeError` naming the path if it is
 *   no network namespace.
 * @throws {Error} On an OS other than Linux, a kernel before 6.1, or one without BTF.
 * @throws {KeepaliveError} `EPERM` naming each capability missing, before anything is loaded.
 *
 * @example The connections of this process's namespace (as root)
 * ```ts
 * import { inspectNetns } from "./mod.ts";
 * import { createServer, connect } from "node:net";
 * import { equal } from "node:assert/strict";
 *
 * const server = createServer().listen(0, "127.0.0.1");
 * await new Promise((done) => server.once("listening", done));
 * const { port } = server.address() as { port: number };
 * const client = connect(port, "127.0.0.1");
 * await new Promise((done) => client.once("connect", done));
 * const mine = inspectNetns().sockets.filter((socket) => socket.peer === `127.0.0.1:${port}`);
 * equal(mine.length, 1);
 * equal(mine[0].settings?.enabled, false); // nobody switched keepalive on: an idle dead peer is never found
 * client.destroy();
 * server.close();
 * ```
 */
export function inspectNetns(path?: string, settings: { overMs?: number } = {}): InspectedNetns {
  return inspectNetnsAt(syscalls, here(), path, settings);
}

/**
 * Reads every TCP socket of a network namespace as {@linkcode inspectNetns} does, in one pass of the kernel's TCP
 * iterator, but hands each socket to `visit` as it streams from the kernel and keeps none: memory stays flat at
 * 100,000 sockets and more. Writes nothing.
 *
 * @param path A network namespace file, such as `/proc/PID/ns/net` or `/run/netns/NAME`; this process's own if
 *   `undefined`.
 * @param visit Given each socket (with `overMs`, each connection over it), in the kernel's order.
 * @param settings `overMs`: hand on only the connections whose idle dead peer would go unseen longer than this; the
 *   summary still counts every socket.
 * @returns The namespace and the summary.
 * @throws {TypeError | RangeError} On a bad path or setting, before any call.
 * @throws {Error} On an OS other than Linux, a kernel before 6.1, or one without BTF.
 * @throws {KeepaliveError} `EPERM` naming each capability missing, before anything is loaded.
 *
 * @example Count this namespace's connections with keepalive off, keeping none (as root)
 * ```ts
 * import { scanNetns } from "./mod.ts";
 * import { createServer, connect } from "node:net";
 * import { equal, ok } from "node:assert/strict";
 *
 * const server = createServer().listen(0, "127.0.0.1");
 * await new Promise((done) => server.once("listening", done));
 * const client = connect((server.address() as { port: number }).port, "127.0.0.1");
 * await new Promise((done) => client.once("connect", done));
 * let off = 0;
 * const { summary } = scanNetns(undefined, (socket) => {
 *   if (socket.state !== "listen" && socket.settings?.enabled === false) off++; // a connection, keepalive off
 * });
 * equal(summary.keepaliveOff, off);
 * ok(off >= 1);
 * client.destroy();
 * server.close();
 * ```
 */
export function scanNetns(
  path: string | undefined,
  visit: (socket: NetnsSocket) => void,
  settings: { overMs?: number } = {},
): ScannedNetns {
  return scanNetnsAt(syscalls, here(), path, settings, visit);
}

/**
 * Reads a node agent's config file and checks it whole, through the C library (Deno needs no read permission for
 * it): policies by cgroup pattern below the cgroup2 mount, `*` one path component, each with the command line's
 * options, and an optional default (see {@linkcode parseAgentConfig}).
 *
 * @param path The file.
 * @returns The config.
 * @throws {ConfigError} If it cannot be read, or naming the entry and the field that are wrong, as the file spells them.
 *
 * @example A file that is not there
 * ```ts
 * import { readAgentConfigFile } from "./mod.ts";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => readAgentConfigFile("/no/such/agent.json"), /^ConfigError: \/no\/such\/agent.json: cannot be read \(ENOENT\)/);
 * ```
 */
export function readAgentConfigFile(path: string): AgentConfig {
  const platform = here();
  return readAgentConfig(
    (file) => {
      const bytes = readWhole(bpfContext(syscalls(), platform), file);
      return typeof bytes === "number" ? errnoName(platform, -bytes) : bytes;
    },
    path,
    platform,
  );
}

/**
 * Checks a node agent's config whole, as {@linkcode readAgentConfigFile} does a file's.
 *
 * @param text The config's JSON.
 * @param source Where it came from, for errors.
 * @returns The config.
 * @throws {ConfigError} Naming the entry and the field that are wrong, as the config spells them.
 *
 * @example A policy for every pod of the burstable QoS class, and a default
 * ```ts
 * import { parseAgentConfig } from "./mod.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 *
 * const config = parseAgentConfig(JSON.stringify({
 *   policies: [{ cgroup: "kubepods.slice/kubepods-burstable.slice/*", idle: "10s", interval: "2s", count: 3 }],
 *   default: { timeout: "5m" },
 * }));
 * deepEqual(config.policies[0]!.options, { idleMs: 10_000, intervalMs: 2_000, count: 3 });
 * throws(
 *   () => parseAgentConfig('{"policies": [{"cgroup": "a.slice", "idle": 10}]}', "agent.json"),
 *   /^ConfigError: agent.json: policies\[0\] \(a.slice\): "idle" must be a duration with a unit/,
 * );
 * ```
 */
export function parseAgentConfig(text: string, source = "the config"): AgentConfig {
  return parseConfig(text, source, here());
}

/**
 * A node agent for this host (Linux): each cgroup a policy of `config` matches gets that policy's programs, kept
 * true by {@linkcode NodeAgent.reconcile} (attached where missing, with the sockets already there; put back where
 * taken off; run again when a cgroup is made or removed below {@linkcode NodeAgent.directories}) and
 * {@linkcode NodeAgent.correct} (under `enforce`, the sockets that drifted put back); what the host's connections hold
 * is read by {@linkcode NodeAgent.observe} and exported by {@linkcode NodeAgent.exposition}. `keepalive agent` runs one.
 * Needs root's capabilities (`CAP_BPF`, `CAP_NET_ADMIN`, `CAP_PERFMON`, `CAP_SYS_ADMIN`).
 *
 * @param config The policies (see {@linkcode readAgentConfigFile}).
 * @param settings `owner`: whose programs it attaches and takes off (a pod's name; default the host's);
 *   `root`: where the cgroup v2 hierarchy the patterns are below is mounted (default this host's mount);
 *   `overMs`: the threshold of the metrics' connections over it (default 350 s, AWS's NAT idle timeout).
 * @returns The agent, which has done nothing yet.
 * @throws {Error} On an OS other than Linux, or where cgroup v2 is not mounted.
 *
 * @example One pass of an agent with no policy that matches (as root)
 * ```ts
 * import { parseAgentConfig, startAgent } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const config = parseAgentConfig('{"policies": [{"cgroup": "no-such.slice/*", "timeout": "30s"}]}', "example");
 * const agent = startAgent(config, { owner: "example" });
 * deepEqual(agent.reconcile(), []);
 * deepEqual(agent.stop(), []);
 * ```
 */
export function startAgent(
  config: AgentConfig,
  settings: { owner?: string; root?: string; overMs?: number } = {},
): NodeAgent {
  const platform = here();
  if (!platform.bpf) throw new Error(`the node agent is Linux only (cgroup BPF); this is ${platform.name}`);
  const c = bpfContext(syscalls(), platform);
  const root = settings.root ?? cgroup2Mount(c);
  if (root === undefined) {
    throw new Error("this host has no cgroup v2 mounted: the agent's policies name cgroup v2 paths");
  }
  return new NodeAgent(syscalls, platform, config, {
    owner: settings.owner ?? c.calls.kernel().hostname,
    root,
    overMs: settings.overMs ?? 350_000,
    version: VERSION,
    now: () => performance.now(),
  });
}

/**
 * This module's version, which deno.json, package.json and CHANGELOG.md agree on (a test checks).
 *
 * @example Print it
 * ```ts
 * import { VERSION } from "./mod.ts";
 * import { match } from "node:assert/strict";
 *
 * match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION = "0.12.0";
