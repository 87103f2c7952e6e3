/**
 * Every TCP socket of the process, whoever opened it: a sweep lists the
 * descriptors, knows again the sockets it saw before (by `SO_COOKIE` on Linux,
 * by their addresses elsewhere) and configures the new TCP ones. Sockets set
 * by `setKeepalive`, and those a listener set by it accepted, keep their own.
 *
 * @module
 */
import type { Syscalls } from "./_syscalls.ts";
import { KeepaliveError } from "./_errors.ts";
import type { Write } from "./_options.ts";
import { rewriteOptions } from "./_sockopt.ts";
import { cookieOf, listening, tcpPort } from "./_targets.ts";
import type { Platform } from "./platforms/mod.ts";

/** What one sweep did, socket by socket. */
export interface SweepResult {
  /** TCP sockets whose options were written now. */
  configured: number;
  /** TCP sockets that already held the options (configured by an earlier sweep, or by the system). */
  unchanged: number;
  /** Sockets left as they are: not TCP (Unix-domain, UDP), or set by `setKeepalive`, or accepted by a listener it set. */
  skipped: number;
  /** TCP sockets the options could not be written to; the next sweep tries again. */
  failed: number;
}

/** A running {@linkcode startSweeps}. */
export interface Sweeper {
  /** Sweeps now. */
  sweep(): SweepResult;
  /** Stops the timer. */
  stop(): void;
  /** What the last sweep on the timer threw, if it threw: listing the descriptors failed. */
  readonly lastError: unknown;
}

/** A socket's identity: its cookie, or where the OS has none, its two addresses. */
type Identity = number | string;

/** A socket a sweep saw at a descriptor, and whether it is one it configures. */
interface Seen {
  readonly id: Identity;
  readonly configurable: boolean;
  /**
   * Sweeps, counted once it has a peer or listens, that still read its options back and put them right: a runtime
   * applies its own `setKeepAlive` when the connection completes (Node's `node:net`, Bun's `fetch`), which can be
   * just after a sweep configured it, in the same turn of the event loop.
   */
  checks: number;
}

/** Read-backs after a socket is configured, counted from when it is connected: two, so one comes a full turn after. */
const CHECKS = 2;

const address = new Uint8Array(128);

/** The sockets `setKeepalive` set while sweeps run: their identities, and the ports of the listeners among them. */
const explicit = { sweepers: 0, ids: new Set<Identity>(), listenerPorts: new Map<Identity, number>() };

/** A socket's identity; `undefined` if `fd` is no socket. */
function identify(sys: Syscalls, platform: Platform, fd: number): Identity | undefined {
  const cookie = cookieOf(sys, platform, fd);
  if (cookie !== undefined) return cookie;
  const local = sys.getsockname(fd, address);
  if (local < 0) return undefined;
  const localBytes = address.slice(0, local).join(".");
  const peer = sys.getpeername(fd, address);
  return `${localBytes} ${peer < 0 ? "-" : address.slice(0, peer).join(".")}`;
}

/**
 * Remembers sockets `setKeepalive` set, so that sweeps leave them, and what their listeners accept, alone. Makes no
 * call unless sweeps run.
 *
 * @param sys The binding.
 * @param platform The OS's table.
 * @param fds The sockets just set.
 */
export function noteExplicit(sys: Syscalls, platform: Platform, fds: readonly number[]): void {
  if (explicit.sweepers === 0) return;
  for (const fd of fds) {
    const id = identify(sys, platform, fd);
    if (id === undefined) continue;
    explicit.ids.add(id);
    const port = tcpPort(sys, platform, fd, address);
    if (port !== undefined && listening(sys, platform, fd)) explicit.listenerPorts.set(id, port);
  }
}

/** Whether a failure means the socket closed (or its descriptor now holds something else) during the sweep. */
function closedMeanwhile(error: unknown): boolean {
  return error instanceof KeepaliveError && (error.code === "EBADF" || error.code === "ENOTSOCK");
}

/**
 * Sweeps now, then every `everyMs` on a timer that never keeps the process alive.
 *
 * @param sys The binding.
 * @param platform The OS's table.
 * @param writes The options to give each new TCP socket, validated.
 * @param everyMs The period.
 * @param every Starts the runtime's unreferenced timer; returns its stop.
 * @returns The sweeper.
 */
export function startSweeps(
  sys: Syscalls,
  platform: Platform,
  writes: readonly Write[],
  everyMs: number,
  every: (ms: number, run: () => void) => () => void,
): Sweeper {
  // By descriptor: descriptors are small and dense, so an array is the cheapest map (sweeps run every second).
  let seen: Seen[] = [];
  const sweep = (): SweepResult => {
    const result: SweepResult = { configured: 0, unchanged: 0, skipped: 0, failed: 0 };
    const next: Seen[] = [];
    /** Writes what differs from the options; a failure is counted, and the next sweep tries again. */
    const configure = (fd: number) => {
      try {
        const { before, after } = rewriteOptions(sys, platform, fd, writes);
        result[after.some((value, i) => value !== before[i]) ? "configured" : "unchanged"]++;
      } catch (error) {
        if (closedMeanwhile(error)) delete next[fd];
        else result.failed++;
      }
    };
    const explicitPorts = new Set(explicit.listenerPorts.values());
    // Only needed to forget what setKeepalive set and has since closed.
    const liveIds = explicit.ids.size > 0 ? new Set<Identity>() : undefined;
    for (const fd of sys.descriptors()) {
      const id = identify(sys, platform, fd);
      if (id === undefined) continue; // no socket, or closed since the listing
      liveIds?.add(id);
      const before = seen[fd];
      if (before?.id === id) {
        next[fd] = before;
        if (!before.configurable) result.skipped++;
        else if (before.checks === 0) result.unchanged++;
        else {
          if (sys.getpeername(fd, address) >= 0 || listening(sys, platform, fd)) before.checks--;
          configure(fd);
        }
        continue;
      }
      const port = tcpPort(sys, platform, fd, address);
      if (port === undefined || explicit.ids.has(id) || explicitPorts.has(port)) {
        next[fd] = { id, configurable: false, checks: 0 };
        result.skipped++;
        continue;
      }
      next[fd] = { id, configurable: true, checks: CHECKS };
      configure(fd);
    }
    seen = next;
    // What setKeepalive set and has since closed is forgotten.
    if (liveIds) {
      for (const id of explicit.ids) if (!liveIds.has(id)) explicit.ids.delete(id);
      for (const id of explicit.listenerPorts.keys()) if (!liveIds.has(id)) explicit.listenerPorts.delete(id);
    }
    return result;
  };
  explicit.sweepers++;
  let lastError: unknown;
  try {
    sweep();
  } catch (error) {
    explicit.sweepers--;
    throw error;
  }
  // A sweep on the timer has no caller to throw to: the application goes on, and lastError says why.
  let stopTimer: (() => void) | undefined = every(everyMs, () => {
    try {
      sweep();
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
  });
  return {
    sweep,
    get lastError() {
      return lastError;
    },
    stop() {
      if (!stopTimer) return;
      stopTimer();
      stopTimer = undefined;
      explicit.sweepers--;
    },
  };
}
