/**
 * What a sweep does to one socket: knows it again by its identity (its
 * `SO_COOKIE` on Linux, its addresses elsewhere), configures it if it is a
 * new TCP socket, unless what it holds was chosen by someone (`options/`'s
 * rule, read from the kernel), and reads it back while a runtime may still
 * apply its own keepalive. When sweeps run is `_sweeps.ts`'s.
 *
 * @module
 */
import { isChosen, type Unchosen, unchosen, type Values, type Write } from "../options/mod.ts";
import {
  addressKey,
  connected,
  cookieOf,
  errnoName,
  KeepaliveError,
  listening,
  readValues,
  tcpPort,
  writeValues,
} from "../socket/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
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

/** A socket's identity: its cookie, or where the OS has none, its two addresses. */
type Identity = number | string;

/** A socket a sweep saw at a descriptor, and whether it is one it configures. */
interface Seen {
  readonly id: Identity;
  configurable: boolean;
  /** The sweep that last saw it at its descriptor: one that did not is closed. */
  sweep: number;
  /**
   * Sweeps, counted once it has a peer, that still read its options back and put them right: a runtime applies its
   * own `setKeepAlive` when the connection completes (Node's `node:net`, Bun's `fetch`), which can be just after a
   * sweep configured it, in the same turn of the event loop.
   */
  checks: number;
}

/** Read-backs after a socket is configured, counted from when it is connected: two, so one comes a full turn after. */
const CHECKS = 2;
/**
 * A socket configured long ago is read back once in this many sweeps, the sockets spread over them: a
 * runtime's own keepalive written late (a driver's `setKeepAlive(true, ms)` minutes after connect) is put right.
 */
const RECHECK_EVERY = 32;
/** A socket's identity; `undefined` if `fd` is no socket. */
function identify(sys: Syscalls, platform: Platform, fd: number): Identity | undefined {
  const cookie = cookieOf(sys, platform, fd);
  if (cookie !== undefined) return cookie;
  return addressKey(sys, fd);
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

/** The sockets sweeps have seen, and what each sweep does to one. */
export interface Visits {
  /**
   * Looks at one descriptor: a socket new to the sweeps is configured; one seen before, read back if due.
   *
   * @param fd The descriptor.
   * @param sweep The sweep's number: what a sweep did not see is forgotten after it.
   * @param result Counted into.
   */
  visit(fd: number, sweep: number, result: SweepResult): void;
  /** A socket the runtime announced, connected: looked at as new, with no read-back due (its own came first). */
  announced(fd: number, sweep: number): void;
  /** Reads the system's defaults again (a sysctl may have changed them); where none can be read, the last stand. */
  readDefaults(): void;
  /** Forgets the sockets that sweep did not see, which have closed: a step for each chunk of descriptors. */
  forget(sweep: number, chunk: number): Generator<void>;
}

/**
 * The sockets seen, by descriptor, and what a sweep does to each.
 *
 * @param writes The options to give each new TCP socket, validated.
 * @returns The visits.
 * @throws {KeepaliveError} If no socket can be made to read the system's defaults.
 */
export function visits(sys: Syscalls, platform: Platform, writes: readonly Write[]): Visits {
  let free: Unchosen = unchosen(platform, readDefaults(sys, platform), writes);
  // By descriptor: descriptors are small and dense, so an array is the cheapest map.
  const seen: Seen[] = [];

  /** Writes what differs from the options, unless someone chose what it holds. */
  const configure = (fd: number, at: Seen, result: SweepResult) => {
    try {
      const before = readValues(sys, platform, fd);
      if (isChosen(platform, before, free)) {
        at.configurable = false;
        result.skipped++;
        return;
      }
      const [after] = writeValues(sys, platform, [{ fd, before }], writes);
      result[after!.some((value, i) => value !== before[i]) ? "configured" : "unchanged"]++;
    } catch (error) {
      // Closed meanwhile, or to be tried again: the next sweep takes what is there as new.
      delete seen[fd];
      if (!closedMeanwhile(error)) result.failed++;
    }
  };

  const visit = (fd: number, sweep: number, result: SweepResult) => {
    // Every time, and nothing cheaper tells: a descriptor closed since the last sweep may hold a new socket now.
    const id = identify(sys, platform, fd);
    if (id === undefined) {
      delete seen[fd]; // no socket, or closed since the listing
      return;
    }
    const known = seen[fd];
    if (known?.id === id) {
      known.sweep = sweep;
      if (!known.configurable) result.skipped++;
      else if (known.checks === 0) {
        if ((fd + sweep) % RECHECK_EVERY === 0) configure(fd, known, result);
        else result.unchanged++;
      } else if (connected(sys, fd)) {
        known.checks--;
        configure(fd, known, result);
      } else {
        // Not connected yet: a runtime applies its own keepalive once it is, and never on a listener.
        if (listening(sys, platform, fd)) known.checks = 0;
        result.unchanged++;
      }
      return;
    }
    const tcp = tcpPort(sys, platform, fd) !== undefined;
    const now: Seen = seen[fd] = { id, configurable: tcp, sweep, checks: tcp ? CHECKS : 0 };
    if (tcp) configure(fd, now, result);
    else result.skipped++;
  };

  /** What announced sockets count into: nobody is told. */
  const uncounted: SweepResult = { configured: 0, unchanged: 0, skipped: 0, failed: 0 };
  return {
    visit,
    announced(fd, sweep) {
      delete seen[fd]; // new, whatever was there before
      visit(fd, sweep, uncounted);
      const at = seen[fd];
      if (at) at.checks = 0;
    },
    readDefaults() {
      try {
        free = unchosen(platform, readDefaults(sys, platform), writes);
      } catch {
        // No socket can be made now: the last defaults stand.
      }
    },
    *forget(sweep, chunk) {
      for (let fd = 0; fd < seen.length; fd++) {
        const at = seen[fd];
        if (at && at.sweep < sweep) delete seen[fd];
        if (fd % chunk === chunk - 1) yield;
      }
    },
  };
}
