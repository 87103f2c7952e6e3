/**
 * Every TCP socket of the process, whoever opened it: a sweep lists the
 * descriptors, knows again the sockets it saw before (by `SO_COOKIE` on Linux,
 * by their addresses elsewhere) and configures the new TCP ones, unless what
 * they hold was chosen by someone (`options/`'s rule, read from the kernel).
 *
 * On the timer a sweep runs in slices of about a millisecond, one turn of the
 * event loop each, so that no sweep holds the loop; the sweeps come at
 * `everyMs`, or less often where that is what keeps their measured work
 * within `cpuPercent` of one core. Sockets that the runtime announces (Node's
 * `node:net`, through `diagnostics_channel`) are configured when they connect
 * or are accepted, without waiting for a sweep.
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
import type { SweepOptions } from "../types/mod.ts";

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
  /** Sweeps now, all of it at once, every socket looked at again. */
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
/** How long one slice of a sweep on the timer runs before it yields the event loop. */
const SLICE_MS = 1;
/** Descriptors handled between two looks at the clock: a new socket is some fifteen calls. */
const BETWEEN_LOOKS = 8;
/**
 * A socket configured long ago is read back once in this many sweeps, the sockets spread over them: a
 * runtime's own keepalive written late (a driver's `setKeepAlive(true, ms)` minutes after connect) is put right.
 */
const RECHECK_EVERY = 32;
/** Descriptors forgotten (or kept) between two looks at the clock, at a sweep's end. */
const FORGETS_BETWEEN_LOOKS = 1024;

/** The runtime's time: a clock, and one-shot timers that never keep the process alive. */
export interface Clock {
  /** Now, in milliseconds, monotonic. */
  now(): number;
  /** Runs `run` after `ms`; returns its cancel. */
  after(ms: number, run: () => void): () => void;
}

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
let running: { policy: string; sweeper: Omit<Sweeper, "stop">; stopAll: () => void; handles: number } | undefined;

/** The options and pace as text, to tell one policy from another, and to name it in an error. */
function policyOf(platform: Platform, writes: readonly Write[], pace: Required<SweepOptions>): string {
  const fields = writes.map(({ option, value }) =>
    `${option.field} ${
      toSettings(platform, platform.socketOptions.map((other) => other === option ? value : undefined))[option.field]
    }`
  );
  return `${fields.join(", ")}, every ${pace.everyMs} ms, within ${pace.cpuPercent}% of a core`;
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
      shared.stopAll();
      if (running === shared) running = undefined;
    },
  };
}

/**
 * Sweeps now, then on an unreferenced timer, in slices; and configures the sockets `announced` reports as they
 * connect. One policy per copy of the module: a second call with the same writes and pace shares the sweeps; with
 * others, it throws.
 *
 * @param writes The options to give each new TCP socket, validated.
 * @param pace The period and the CPU budget.
 * @param clock The runtime's clock and timers.
 * @param hooks Subscribes, once while the sweeps run, to what the runtime says of its sockets: given how to configure
 *   a new socket's descriptors as it is announced; returns the unsubscribe.
 * @returns A handle on the sweeps.
 * @throws {Error} If sweeps with another policy run; {@linkcode KeepaliveError} if the descriptors cannot be listed,
 *   or no socket can be made to read the system's defaults.
 */
export function startSweeps(
  sys: Syscalls,
  platform: Platform,
  writes: readonly Write[],
  pace: Required<SweepOptions>,
  clock: Clock,
  hooks: (configure: (fds: readonly number[]) => void) => () => void,
): Sweeper {
  const policy = policyOf(platform, writes, pace);
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
  // By descriptor: descriptors are small and dense, so an array is the cheapest map.
  const seen: Seen[] = [];
  let sweeps = 0;

  /** Writes what differs from the options, unless someone chose what it holds. */
  const configure = (fd: number, at: Seen, result: SweepResult) => {
    try {
      const before = readValues(sys, platform, fd);
      if (isChosen(platform, before, free!)) {
        at.configurable = false;
        result.skipped++;
        return;
      }
      const [after] = writeValues(sys, platform, [{ fd, before }], writes);
      result[after.some((value, i) => value !== before[i]) ? "configured" : "unchanged"]++;
    } catch (error) {
      // Closed meanwhile, or to be tried again: the next sweep takes what is there as new.
      delete seen[fd];
      if (!closedMeanwhile(error)) result.failed++;
    }
  };

  /** Looks at one descriptor: a socket new to the sweeps is configured; one seen before, read back if due. */
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
      } else if (sys.getpeername(fd, sockaddr) >= 0) {
        known.checks--;
        configure(fd, known, result);
      } else {
        // Not connected yet: a runtime applies its own keepalive once it is, and never on a listener.
        if (listening(sys, platform, fd)) known.checks = 0;
        result.unchanged++;
      }
      return;
    }
    const tcp = tcpPort(sys, platform, fd, sockaddr) !== undefined;
    const now: Seen = seen[fd] = { id, configurable: tcp, sweep, checks: tcp ? CHECKS : 0 };
    if (tcp) configure(fd, now, result);
    else result.skipped++;
  };

  /** One sweep, yielding where it may stop for a turn of the event loop. */
  function* sweepSteps(): Generator<void, SweepResult> {
    const result: SweepResult = { configured: 0, unchanged: 0, skipped: 0, failed: 0 };
    // The defaults may have changed (a sysctl); where no socket can be made now, the last ones stand.
    try {
      free = unchosen(platform, readDefaults(sys, platform), writes);
    } catch (error) {
      if (!free) throw error;
    }
    const sweep = ++sweeps;
    const listing = sys.listing();
    try {
      for (let chunk; (chunk = listing.next()) !== undefined;) {
        for (let i = 0; i < chunk.length; i++) {
          visit(chunk[i], sweep, result);
          if (i % BETWEEN_LOOKS === BETWEEN_LOOKS - 1) yield;
        }
        yield;
      }
    } finally {
      listing.close();
    }
    // What no longer has a descriptor has closed.
    for (let fd = 0; fd < seen.length; fd++) {
      const at = seen[fd];
      if (at && at.sweep < sweep) delete seen[fd];
      if (fd % FORGETS_BETWEEN_LOOKS === FORGETS_BETWEEN_LOOKS - 1) yield;
    }
    return result;
  }

  const sweep = (): SweepResult => {
    const steps = sweepSteps();
    for (let step = steps.next();; step = steps.next()) if (step.done) return step.value;
  };

  let lastError: unknown;
  let cancel = () => {};
  /** The sweep on the timer under way, ended (its listing closed) if the sweeps stop part-way. */
  let underWay: Generator<void, SweepResult> | undefined;
  /** The work of the last two sweeps on the timer, in ms: their mean paces the next. */
  const worked = [0, 0];
  const schedule = (started: number) => {
    const periodMs = Math.max(pace.everyMs, (worked[0] + worked[1]) / 2 / (pace.cpuPercent / 100));
    cancel = clock.after(Math.max(0, started + periodMs - clock.now()), run);
  };
  const run = () => {
    const started = clock.now();
    // The first sweep configures every socket there is at start, once: it paces nothing after it.
    const first = sweeps === 0;
    const steps = underWay = sweepSteps();
    let workMs = 0;
    // A sweep on the timer has no caller to throw to: the application goes on, and lastError says why.
    const slice = () => {
      const from = clock.now();
      try {
        for (let step = steps.next(); !step.done; step = steps.next()) {
          if (clock.now() - from >= SLICE_MS) {
            workMs += clock.now() - from;
            cancel = clock.after(0, slice);
            return;
          }
        }
        lastError = undefined;
      } catch (error) {
        lastError = error;
      }
      if (!first) {
        worked.shift();
        worked.push(workMs + clock.now() - from);
      }
      underWay = undefined;
      schedule(started);
    };
    slice();
  };

  // What would fail every sweep fails the call instead; the first sweep itself runs on the timer, in slices, so
  // that a process with thousands of sockets feels no start.
  free = unchosen(platform, readDefaults(sys, platform), writes);
  sys.listing().close();
  /** A socket the runtime announces, configured as it connects: looked at as a sweep would, at once. */
  const unsubscribe = hooks((fds) => {
    const uncounted: SweepResult = { configured: 0, unchanged: 0, skipped: 0, failed: 0 }; // nobody to tell
    for (const fd of fds) {
      delete seen[fd]; // new, whatever was there before
      visit(fd, sweeps, uncounted);
      const at = seen[fd];
      // Announced once connected, after the runtime's own setKeepAlive: no read-back is due.
      if (at) at.checks = 0;
    }
  });
  if (Number.isFinite(pace.everyMs)) cancel = clock.after(0, run);
  running = {
    policy,
    sweeper: {
      sweep,
      get lastError() {
        return lastError;
      },
    },
    stopAll: () => {
      cancel();
      underWay?.return(undefined as never);
      unsubscribe();
    },
    handles: 1,
  };
  return handle(running);
}
