/**
 * Every TCP socket of the process, whoever opened it: a sweep lists the
 * descriptors, knows again the sockets it saw before (by `SO_COOKIE` on Linux,
 * by their addresses elsewhere) and configures the new TCP ones, unless what
 * they hold was chosen by someone (`options/`'s rule, read from the kernel).
 *
 * @module
 */
import { isChosen, toSettings, type Unchosen, unchosen, type Values, type Write } from "../options/mod.ts";
import {
  cookieOf,
  errnoName,
  KeepaliveError,
  listening,
  readValues,
  sockaddr,
  type Syscalls,
  tcpPort,
  writeValues,
} from "../socket/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/** What one sweep did, socket by socket. */
export interface SweepResult {
  /** TCP sockets whose options were written now. */
  configured: number;
  /** TCP sockets that already held the options (configured by an earlier sweep, or by the system). */
  unchanged: number;
  /** Sockets left as they are: not TCP (Unix-domain, UDP), or holding settings someone chose. */
  skipped: number;
  /** TCP sockets the options could not be written to; the next sweep tries again. */
  failed: number;
}

/** A running {@linkcode startSweeps}. */
export interface Sweeper {
  /** Sweeps now. */
  sweep(): SweepResult;
  /** Stops this handle; the timer stops when every handle has. */
  stop(): void;
  /** What the last sweep on the timer threw, if it threw: listing the descriptors failed. */
  readonly lastError: unknown;
}

/** A socket's identity: its cookie, or where the OS has none, its two addresses. */
type Identity = number | string;

/** A socket a sweep saw at a descriptor, and whether it is one it configures. */
interface Seen {
  readonly id: Identity;
  configurable: boolean;
  /**
   * Sweeps, counted once it has a peer or listens, that still read its options back and put them right: a runtime
   * applies its own `setKeepAlive` when the connection completes (Node's `node:net`, Bun's `fetch`), which can be
   * just after a sweep configured it, in the same turn of the event loop.
   */
  checks: number;
}

/** Read-backs after a socket is configured, counted from when it is connected: two, so one comes a full turn after. */
const CHECKS = 2;

/** A socket's identity; `undefined` if `fd` is no socket. */
function identify(sys: Syscalls, platform: Platform, fd: number): Identity | undefined {
  const cookie = cookieOf(sys, platform, fd);
  if (cookie !== undefined) return cookie;
  const local = sys.getsockname(fd, sockaddr);
  if (local < 0) return undefined;
  const localBytes = sockaddr.slice(0, local).join(".");
  const peer = sys.getpeername(fd, sockaddr);
  return `${localBytes} ${peer < 0 ? "-" : sockaddr.slice(0, peer).join(".")}`;
}

/** Whether a failure means the socket closed (or its descriptor now holds something else) during the sweep. */
function closedMeanwhile(error: unknown): boolean {
  return error instanceof KeepaliveError && (error.code === "EBADF" || error.code === "ENOTSOCK");
}

/**
 * What a new socket holds here: the system's defaults, read from a socket made for the purpose.
 *
 * @throws {KeepaliveError} If no socket can be made (the process is out of descriptors), or read.
 */
function readDefaults(sys: Syscalls, platform: Platform): Values {
  const fd = sys.socket(platform.AF_INET, platform.SOCK_STREAM | platform.SOCK_CLOEXEC);
  if (fd < 0) {
    const errno = -fd;
    throw new KeepaliveError("cannot make a socket to read the system's defaults from", {
      code: errnoName(platform, errno),
      errno,
      syscall: "socket",
    });
  }
  try {
    return readValues(sys, platform, fd);
  } finally {
    sys.close(fd);
  }
}

/** The sweeps running in this copy of the module, and how many handles share them. */
let running: { policy: string; sweeper: Omit<Sweeper, "stop">; stopTimer: () => void; handles: number } | undefined;

/** The options and period as text, to tell one policy from another, and to name it in an error. */
function policyOf(platform: Platform, writes: readonly Write[], everyMs: number): string {
  const fields = writes.map(({ option, value }) =>
    `${option.field} ${
      toSettings(platform, platform.socketOptions.map((other) => other === option ? value : undefined))[option.field]
    }`
  );
  return `${fields.join(", ")}, every ${everyMs} ms`;
}

function handle(shared: NonNullable<typeof running>): Sweeper {
  let stopped = false;
  return {
    sweep: () => shared.sweeper.sweep(),
    get lastError() {
      return shared.sweeper.lastError;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (--shared.handles > 0) return;
      shared.stopTimer();
      if (running === shared) running = undefined;
    },
  };
}

/**
 * Sweeps now, then every `everyMs` on a timer that never keeps the process alive. One policy per copy of the module:
 * a second call with the same writes and period shares the sweeps; with others, it throws.
 *
 * @param writes The options to give each new TCP socket, validated.
 * @param everyMs The period.
 * @param every Starts the runtime's unreferenced timer; returns its stop.
 * @returns A handle on the sweeps.
 * @throws {Error} If sweeps with another policy run; {@linkcode KeepaliveError} if the first sweep cannot list the
 *   descriptors, or no socket can be made to read the system's defaults.
 */
export function startSweeps(
  sys: Syscalls,
  platform: Platform,
  writes: readonly Write[],
  everyMs: number,
  every: (ms: number, run: () => void) => () => void,
): Sweeper {
  const policy = policyOf(platform, writes, everyMs);
  if (running) {
    if (running.policy !== policy) {
      throw new Error(
        `autoKeepalive already sweeps this process with ${running.policy}; one policy per process: stop it first, or ask for the same (asked: ${policy})`,
      );
    }
    running.handles++;
    return handle(running);
  }
  let free: Unchosen | undefined;
  // By descriptor: descriptors are small and dense, so an array is the cheapest map (sweeps run every second).
  let seen: Seen[] = [];
  const sweep = (): SweepResult => {
    const result: SweepResult = { configured: 0, unchanged: 0, skipped: 0, failed: 0 };
    // The defaults may have changed (a sysctl); where no socket can be made now, the last ones stand.
    try {
      free = unchosen(platform, readDefaults(sys, platform), writes);
    } catch (error) {
      if (!free) throw error;
    }
    const nobodys = free;
    const next: Seen[] = [];
    /** Writes what differs from the options, unless someone chose what it holds; a failure is counted, and tried again. */
    const configure = (fd: number, at: Seen) => {
      try {
        const before = readValues(sys, platform, fd);
        if (isChosen(platform, before, nobodys)) {
          at.configurable = false;
          result.skipped++;
          return;
        }
        const [after] = writeValues(sys, platform, [{ fd, before }], writes);
        result[after.some((value, i) => value !== before[i]) ? "configured" : "unchanged"]++;
      } catch (error) {
        if (closedMeanwhile(error)) delete next[fd];
        else result.failed++;
      }
    };
    for (const fd of sys.descriptors()) {
      const id = identify(sys, platform, fd);
      if (id === undefined) continue; // no socket, or closed since the listing
      const before = seen[fd];
      if (before?.id === id) {
        next[fd] = before;
        if (!before.configurable) result.skipped++;
        else if (before.checks === 0) result.unchanged++;
        else {
          if (sys.getpeername(fd, sockaddr) >= 0 || listening(sys, platform, fd)) before.checks--;
          configure(fd, before);
        }
        continue;
      }
      const tcp = tcpPort(sys, platform, fd, sockaddr) !== undefined;
      next[fd] = { id, configurable: tcp, checks: tcp ? CHECKS : 0 };
      if (tcp) configure(fd, next[fd]);
      else result.skipped++;
    }
    seen = next;
    return result;
  };
  let lastError: unknown;
  sweep();
  // A sweep on the timer has no caller to throw to: the application goes on, and lastError says why.
  const stopTimer = every(everyMs, () => {
    try {
      sweep();
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
  });
  running = {
    policy,
    sweeper: {
      sweep,
      get lastError() {
        return lastError;
      },
    },
    stopTimer,
    handles: 1,
  };
  return handle(running);
}
