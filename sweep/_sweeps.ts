/**
 * When sweeps run: now, then on an unreferenced timer, each in slices of
 * about a millisecond, one turn of the event loop each, so that no sweep
 * holds the loop; at `everyMs`, or less often where that is what keeps their
 * measured work within `cpuPercent` of one core; one policy per copy of the
 * module. What a sweep does to each socket is `_visit.ts`'s; sockets that the
 * runtime announces (Node's `node:net`, through `diagnostics_channel`) are
 * visited when they connect or are accepted, without waiting for a sweep.
 *
 * @module
 */
import { toSettings, type Write } from "../options/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { SweepOptions } from "../types/mod.ts";
import { type SweepResult, visits } from "./_visit.ts";

/** A running {@linkcode startSweeps}. */
export interface Sweeper {
  /** Sweeps now, all of it at once, every socket looked at again. */
  sweep(): SweepResult;
  /** Stops this handle; the timer stops when every handle has. */
  stop(): void;
  /** What the last sweep on the timer threw, if it threw: listing the descriptors failed. */
  readonly lastError: unknown;
}

/** How long one slice of a sweep on the timer runs before it yields the event loop. */
const SLICE_MS = 1;
/** Descriptors handled between two looks at the clock: a new socket is some fifteen calls. */
const BETWEEN_LOOKS = 8;
/** Descriptors forgotten (or kept) between two looks at the clock, at a sweep's end. */
const FORGETS_BETWEEN_LOOKS = 1024;

/** The runtime's time: a clock, and one-shot timers that never keep the process alive. */
export interface Clock {
  /** Now, in milliseconds, monotonic. */
  now(): number;
  /** Runs `run` after `ms`; returns its cancel. */
  after(ms: number, run: () => void): () => void;
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
  // What would fail every sweep fails the call instead: the system's defaults, and a listing.
  const socketVisits = visits(sys, platform, writes);
  sys.listing().close();
  let sweeps = 0;

  /** One sweep, yielding where it may stop for a turn of the event loop. */
  function* sweepSteps(): Generator<void, SweepResult> {
    const result: SweepResult = { configured: 0, unchanged: 0, skipped: 0, failed: 0 };
    socketVisits.readDefaults();
    const sweep = ++sweeps;
    const listing = sys.listing();
    try {
      for (let chunk; (chunk = listing.next()) !== undefined;) {
        for (let i = 0; i < chunk.length; i++) {
          socketVisits.visit(chunk[i]!, sweep, result);
          if (i % BETWEEN_LOOKS === BETWEEN_LOOKS - 1) yield;
        }
        yield;
      }
    } finally {
      listing.close();
    }
    // What no longer has a descriptor has closed.
    yield* socketVisits.forget(sweep, FORGETS_BETWEEN_LOOKS);
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
  const worked: [number, number] = [0, 0];
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

  /** A socket the runtime announces, configured as it connects: looked at as a sweep would, at once. */
  const unsubscribe = hooks((fds) => {
    for (const fd of fds) socketVisits.announced(fd, sweeps);
  });
  // The first sweep runs on the timer, in slices, so that a process with thousands of sockets feels no start.
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
