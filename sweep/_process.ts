/**
 * Another process's TCP sockets (Linux): `pidfd_open` and `pidfd_getfd` give
 * this process a descriptor for each of them, with the same rights as
 * `ptrace`; options set on it are the socket's.
 *
 * @module
 */
import { checkPid, deadPeerMs, planWrites, toSettings } from "../options/mod.ts";
import {
  addressText,
  errnoName,
  KeepaliveError,
  readTcpInfo,
  readValues,
  rewriteValues,
  tcpPort,
} from "../socket/mod.ts";
import { allListed, type Syscalls } from "../syscalls/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings, TcpState } from "../types/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/** One TCP socket of another process, read and not written. */
export interface InspectedSocket {
  /** Its descriptor in that process. */
  fd: number;
  /** Its local address, such as `127.0.0.1:5432` or `[::1]:6379`. */
  local: string;
  /** Its peer's address; `undefined` for a listener or a socket not connected. */
  peer: string | undefined;
  /** Its state. */
  state: TcpState;
  /** Its keepalive settings. */
  settings: KeepaliveSettings;
  /** How soon an idle dead peer would be found (`idleMs + intervalMs * count`); `undefined` with keepalive off. */
  deadPeerMs: number | undefined;
  /** How long ago the peer was last heard (data or an acknowledgement); `undefined` on a listener. */
  sinceHeardMs: number | undefined;
}

/** One socket of another process, and what it held before and after. */
export interface ProcessSocket {
  /** Its descriptor in that process. */
  fd: number;
  /** Its local address, such as `127.0.0.1:5432` or `[::1]:6379`. */
  local: string;
  /** Its peer's address; `undefined` for a listener or a socket not connected. */
  peer: string | undefined;
  /** What it held before. */
  before: KeepaliveSettings;
  /** What it holds now. */
  after: KeepaliveSettings;
}

function processError(
  platform: Platform,
  result: number,
  pid: number,
  syscall: string,
  thread = false,
): KeepaliveError {
  const errno = -result;
  const code = errnoName(platform, errno);
  const why = thread
    ? `${pid} is a thread, not a process: give the id of its process (the Tgid line of /proc/${pid}/status)`
    : code === "EPERM" || code === "EACCES"
    ? `not allowed to take process ${pid}'s sockets: that needs the rights of ptrace over it (the same user and ptrace_scope 0, or CAP_SYS_PTRACE)`
    : code === "ENOSYS"
    ? `this kernel cannot take another process's sockets: pidfd_getfd needs Linux 5.6 or later`
    : code === "ESRCH"
    ? `no process ${pid}`
    : `${syscall} failed for process ${pid}`;
  return new KeepaliveError(why, { code, errno, syscall });
}

/** A descriptor for the process; a thread's id is refused as one (Linux 6.9 tells it apart, with `PIDFD_THREAD`). */
function openProcess(sys: Syscalls, platform: Platform, pid: number): number {
  const pidfd = sys.pidfdOpen(pid, 0);
  if (pidfd >= 0) return pidfd;
  const thread = sys.pidfdOpen(pid, platform.pidfd!.PIDFD_THREAD);
  if (thread >= 0) sys.close(thread);
  throw processError(platform, pidfd, pid, "pidfd_open", thread >= 0);
}

/** One TCP socket of another process, as this process holds it for a moment. */
interface Taken {
  /** This process's descriptor for it. */
  readonly own: number;
  /** Its descriptor in that process. */
  readonly fd: number;
  readonly local: string;
  readonly peer: string | undefined;
}

/** Another process's descriptors; a refusal said as a refusal to take its sockets. */
function listed(calls: Syscalls, platform: Platform, pid: number): number[] {
  try {
    return allListed(calls.listing(pid));
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    throw errno === undefined ? error : processError(platform, -errno, pid, `open /proc/${pid}/fd`);
  }
}

/**
 * Visits every TCP socket (IPv4 and IPv6) of another process, each through a descriptor of this process's own,
 * closed once visited.
 *
 * @throws {KeepaliveError} `EPERM` without the rights, `ENOSYS` on a kernel before 5.6, `ESRCH` with no such process.
 */
function eachSocket(calls: Syscalls, platform: Platform, pid: number, visit: (socket: Taken) => void): void {
  const pidfd = openProcess(calls, platform, pid);
  try {
    for (const fd of listed(calls, platform, pid)) {
      const own = calls.pidfdGetfd(pidfd, fd);
      if (errnoName(platform, -own) === "EBADF") continue; // closed since the listing
      if (own < 0) throw processError(platform, own, pid, "pidfd_getfd");
      try {
        if (tcpPort(calls, platform, own) === undefined) continue; // not TCP, or no socket at all
        const local = addressText(calls, platform, own, "local")!;
        const peer = addressText(calls, platform, own, "peer");
        visit({ own, fd, local, peer });
      } finally {
        calls.close(own);
      }
    }
  } finally {
    calls.close(pidfd);
  }
}

/**
 * Checks that this process may take another's sockets, before anything is changed: its descriptors are listed and
 * one of them taken, as setting them would.
 *
 * @param pid The process.
 * @throws {KeepaliveError} As {@linkcode applyToProcess}; `ESRCH` if it has gone.
 */
export function checkReachable(calls: Syscalls, platform: Platform, pid: number): void {
  const pidfd = openProcess(calls, platform, pid);
  try {
    const [first] = listed(calls, platform, pid);
    if (first === undefined) return;
    const own = calls.pidfdGetfd(pidfd, first);
    if (own >= 0) calls.close(own);
    else if (errnoName(platform, -own) !== "EBADF") throw processError(platform, own, pid, "pidfd_getfd");
  } finally {
    calls.close(pidfd);
  }
}

/**
 * Sets keepalive on every TCP socket (IPv4 and IPv6) of another process. The writes carry this module's tag (Linux),
 * as writes from outside the process: a cgroup's `--enforce` program lets them through.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param pid The process.
 * @param options What to set, validated first.
 * @returns Each TCP socket, before and after.
 * @throws {TypeError | RangeError} On bad options or pid, before any call.
 * @throws {Error} On an OS other than Linux.
 * @throws {KeepaliveError} `EPERM` without the rights, `ENOSYS` on a kernel before 5.6, `ESRCH` with no such process.
 */
export function applyToProcess(
  open: () => Syscalls,
  platform: Platform,
  pid: number,
  options: KeepaliveOptions,
): ProcessSocket[] {
  const writes = planWrites(options, platform);
  checkPid(pid, platform);
  const calls = open();
  const sockets: ProcessSocket[] = [];
  eachSocket(calls, platform, pid, ({ own, fd, local, peer }) => {
    const { before, after } = rewriteValues(calls, platform, own, writes, platform.bpf?.OWN_WRITE_TAG);
    sockets.push({ fd, local, peer, before: toSettings(platform, before), after: toSettings(platform, after) });
  });
  return sockets;
}

/**
 * Reads every TCP socket of another process, and writes nothing: its keepalive settings, how soon a dead peer would
 * be found, and how long ago the peer was last heard.
 *
 * @param open Opens the binding; called only once the pid is valid.
 * @param pid The process.
 * @returns Each TCP socket, as it is.
 * @throws {RangeError} On a bad pid, before any call.
 * @throws {Error} On an OS other than Linux.
 * @throws {KeepaliveError} As {@linkcode applyToProcess}.
 */
export function inspectProcessAt(open: () => Syscalls, platform: Platform, pid: number): InspectedSocket[] {
  checkPid(pid, platform);
  const calls = open();
  const sockets: InspectedSocket[] = [];
  eachSocket(calls, platform, pid, ({ own, fd, local, peer }) => {
    const settings = toSettings(platform, readValues(calls, platform, own));
    const info = readTcpInfo(calls, platform, own);
    const heard = [info.sinceDataReceivedMs, info.sinceAckReceivedMs].filter((ms) => ms !== undefined);
    sockets.push({
      fd,
      local,
      peer,
      state: info.state,
      settings,
      deadPeerMs: deadPeerMs(settings),
      sinceHeardMs: heard.length ? Math.min(...heard) : undefined,
    });
  });
  return sockets;
}
