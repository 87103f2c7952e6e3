// sweep/: how the sweeps on the timer are paced, against Linux in memory on a clock the test moves: slices of about a
// millisecond, each one turn of the event loop; periods stretched to keep their measured work within the budget;
// sockets the runtime announces configured at once; a sweep stopped part-way closing its listing.
import { deepEqual, equal, ok } from "node:assert/strict";
import { planWrites } from "../options/mod.ts";
import { linux } from "../platforms/_linux.ts";
import { type Listing, type Syscalls, wholeListing } from "../syscalls/mod.ts";
import { type Clock, startSweeps } from "../sweep/_sweeps.ts";
import { test } from "./_harness.ts";

const OPTIONS = { idleMs: 3000, intervalMs: 2000, count: 4, userTimeoutMs: 9000 };
/** What a socket holds once configured, by `level:option`. */
const CONFIGURED = { "1:9": 1, "6:4": 3, "6:5": 2, "6:6": 4, "6:18": 9000 };
/** A socket's descriptor for the defaults the sweeps read, out of the way of the listed ones. */
const DEFAULTS_FD = 1_000_000;

/** A clock the test moves: timers run one at a time, in order, when the test says. */
class ManualClock implements Clock {
  ms = 0;
  /** The delay of the timer set last: 0 for a sweep's next slice, the period once a sweep is done. */
  lastDelayMs = -1;
  #timers: { at: number; run: () => void; id: number }[] = [];
  #ids = 0;
  now = () => this.ms;
  after = (ms: number, run: () => void) => {
    const id = ++this.#ids;
    this.lastDelayMs = ms;
    this.#timers.push({ at: this.ms + ms, run, id });
    return () => void (this.#timers = this.#timers.filter((timer) => timer.id !== id));
  };
  get pending(): number {
    return this.#timers.length;
  }
  /** Runs the next timer, the clock moved on to when it is due; returns when it started and how long it ran. */
  next(): { startMs: number; ranMs: number } {
    this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const timer = this.#timers.shift();
    if (!timer) throw new Error("no timer pending");
    const startMs = this.ms = Math.max(this.ms, timer.at);
    timer.run();
    return { startMs, ranMs: this.ms - startMs };
  }
}

/** Linux in memory: connected TCP sockets, each system call moving the clock on by `callMs`. */
function memoryKernel(clock: ManualClock, callMs: number) {
  const sockets = new Map<number, { cookie: number; values: Record<string, number> }>();
  let cookies = 0;
  let listings = 0;
  let closedListings = 0;
  const open = (fd: number) =>
    sockets.set(fd, {
      cookie: ++cookies,
      // SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT: Linux's defaults; SO_TYPE stream.
      values: { "1:9": 0, "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:3": 1, "1:30": 0 },
    });
  /** The socket at `fd`, one system call later. */
  const at = (fd: number) => {
    clock.ms += callMs;
    return sockets.get(fd);
  };
  const address = (into: Uint8Array, port: number) => (into.set([2, 0, port >> 8, port & 0xff, 127, 0, 0, 1]), 16);
  const refusing = new Set<number>();
  const unconnected = new Set<number>();
  const sys: Syscalls = {
    getsockoptInt: (fd, level, option) => at(fd)?.values[`${level}:${option}`] ?? -9,
    getsockopt(fd, level, option, into) {
      const socket = at(fd);
      if (!socket) return -9;
      if (level !== 1 || option !== 57) return -92;
      new DataView(into.buffer, into.byteOffset).setBigUint64(0, BigInt(socket.cookie), true); // SO_COOKIE
      return 8;
    },
    setsockoptInt(fd, level, option, value) {
      const socket = at(fd);
      if (!socket) return -9;
      if (refusing.has(fd)) return -22;
      socket.values[`${level}:${option}`] = value;
      return 0;
    },
    setsockopt: () => -95, // only tagged writes from outside a process use it: never here
    getsockname: (fd, into) => at(fd) ? address(into, 8080) : -9,
    getpeername: (fd, into) => !at(fd) ? -9 : unconnected.has(fd) ? -107 : address(into, 5432), // ENOTCONN
    socket: () => (open(DEFAULTS_FD), DEFAULTS_FD),
    close: (fd) => (sockets.delete(fd), 0),
    listing(): Listing {
      listings++;
      const listing = wholeListing([...sockets.keys()].filter((fd) => fd !== DEFAULTS_FD).sort((a, b) => a - b));
      return { next: () => listing.next(), close: () => (closedListings++, listing.close()) };
    },
    ioctl: () => -95,
    pidfdOpen: () => -38,
    pidfdGetfd: () => -38,
    cgroup: () => {
      throw new Error("no cgroup BPF in memory");
    },
  };
  return {
    sys,
    sockets,
    refusing,
    unconnected,
    open,
    /** Listings begun, and those closed. */
    listings: () => ({ begun: listings, closed: closedListings }),
    configured: (fd: number) =>
      Object.entries(CONFIGURED).every(([key, value]) => sockets.get(fd)?.values[key] === value),
  };
}

const NONE_ANNOUNCED = () => () => {};

/** Sweeps of OPTIONS over the kernel in memory, on the clock the test moves; by default every second, no budget. */
function sweepsOn(
  kernel: ReturnType<typeof memoryKernel>,
  clock: ManualClock,
  announced: Parameters<typeof startSweeps>[5] = NONE_ANNOUNCED,
  pace = { everyMs: 1000, cpuPercent: 100 },
) {
  const sweeper = startSweeps(kernel.sys, linux, planWrites(OPTIONS, linux), pace, clock, announced);
  return Object.assign(sweeper, { [Symbol.dispose]: () => sweeper.stop() });
}

/** Runs timers until a sweep on the timer has finished: when it started, and its slices' lengths on the clock. */
function sweepOnTimer(clock: ManualClock): { startMs: number; slicesMs: number[] } {
  const first = clock.next();
  const slicesMs = [first.ranMs];
  while (clock.lastDelayMs === 0) slicesMs.push(clock.next().ranMs);
  return { startMs: first.startMs, slicesMs };
}

test("a sweep on the timer runs in slices of about a millisecond, each in a turn of its own, and configures every socket", () => {
  const clock = new ManualClock();
  const kernel = memoryKernel(clock, 0.001); // a system call: 1 µs
  using _sweeper = sweepsOn(kernel, clock);
  for (let fd = 3; fd < 2003; fd++) kernel.open(fd);
  const { slicesMs } = sweepOnTimer(clock);
  // Some 13 calls a new socket, 2,000 sockets: about 26 ms of work.
  ok(slicesMs.length >= 20, `${slicesMs.length} slices`);
  ok(Math.max(...slicesMs) <= 1.2, `the longest slice ${Math.max(...slicesMs)} ms`);
  for (let fd = 3; fd < 2003; fd++) ok(kernel.configured(fd), `descriptor ${fd}`);
});

test("sweeps come every everyMs, or as much less often as keeps their measured work within cpuPercent", () => {
  for (const [cpuPercent, leastMs] of [[100, 1000], [0.5, 2_000]]) {
    const clock = new ManualClock();
    // 1,000 known sockets at 10 µs a call: a sweep that finds nothing new is some 10 ms of work (and a thirty-second of
    // them read back whole, 5 calls each: some 11.5 ms in all).
    const kernel = memoryKernel(clock, 0.01);
    for (let fd = 3; fd < 1003; fd++) kernel.open(fd);
    using _sweeper = sweepsOn(kernel, clock, NONE_ANNOUNCED, { everyMs: 1000, cpuPercent });
    const sweeps = Array.from({ length: 9 }, () => sweepOnTimer(clock));
    const workMsOf = ({ slicesMs }: { slicesMs: number[] }) => slicesMs.reduce((sum, ms) => sum + ms, 0);
    // The first sweeps configure and read back the new sockets; from the fourth on, they find nothing new.
    const steady = sweeps.slice(4);
    for (let i = 1; i < steady.length; i++) {
      const gap = steady[i].startMs - steady[i - 1].startMs;
      // The period: everyMs, or the mean of the last two sweeps' work over the budget, whichever is longer.
      const periodMs = Math.max(1000, (workMsOf(sweeps[i + 2]) + workMsOf(sweeps[i + 3])) / 2 / (cpuPercent / 100));
      ok(
        Math.abs(gap - periodMs) < periodMs * 0.05,
        `cpuPercent ${cpuPercent}: sweeps ${gap} ms apart, not ${periodMs}`,
      );
      ok(gap >= leastMs * 0.95, `cpuPercent ${cpuPercent}: sweeps ${gap} ms apart, at least ${leastMs}`);
    }
    const workMs = steady.slice(1).flatMap(({ slicesMs }) => slicesMs).reduce((sum, ms) => sum + ms, 0);
    const share = workMs / (steady.at(-1)!.startMs - steady[0].startMs);
    ok(share <= cpuPercent / 100 * 1.05, `cpuPercent ${cpuPercent}: ${(share * 100).toFixed(2)}% of the time`);
  }
});

test("a socket the runtime announces is configured at once, and then costs a sweep one call", () => {
  const clock = new ManualClock();
  const kernel = memoryKernel(clock, 0.001);
  let announce: (fds: readonly number[]) => void = () => {};
  let subscribed = 0;
  const sweeper = sweepsOn(kernel, clock, (configure) => {
    subscribed++;
    announce = configure;
    return () => subscribed--;
  });
  try {
    equal(subscribed, 1);
    kernel.open(7);
    announce([7]);
    ok(kernel.configured(7), "configured when announced, with no sweep");
    const calls = countCalls(kernel.sys, () => sweepOnTimer(clock));
    deepEqual(calls.get(7), 1, "the next sweep only makes sure it is still the same socket (SO_COOKIE)");
  } finally {
    sweeper.stop();
  }
  equal(subscribed, 0, "stop() ends the announcements");
});

test("an announced socket that could not be configured is tried again by the next sweep", () => {
  const clock = new ManualClock();
  const kernel = memoryKernel(clock, 0.001);
  let announce: (fds: readonly number[]) => void = () => {};
  using _sweeper = sweepsOn(kernel, clock, (configure) => (announce = configure, () => {}));
  kernel.open(7);
  kernel.refusing.add(7);
  announce([7]);
  equal(kernel.configured(7), false);
  kernel.refusing.delete(7);
  sweepOnTimer(clock);
  ok(kernel.configured(7), "configured by the sweep");
});

test("a socket not yet connected is looked at, not read back, until it connects; then what a runtime set is put right", () => {
  const clock = new ManualClock();
  const kernel = memoryKernel(clock, 0.001);
  using _sweeper = sweepsOn(kernel, clock);
  kernel.open(7);
  kernel.unconnected.add(7);
  sweepOnTimer(clock);
  ok(kernel.configured(7), "configured when first seen, connecting");
  const calls = countCalls(kernel.sys, () => sweepOnTimer(clock));
  equal(calls.get(7), 3, "SO_COOKIE, getpeername and SO_ACCEPTCONN: no reads of its options");
  // It connects, and its runtime applies a keepalive of its own: Bun's fetch, Node's node:net.
  kernel.unconnected.delete(7);
  Object.assign(kernel.sockets.get(7)!.values, { "6:4": 60, "6:5": 1, "6:6": 10 });
  sweepOnTimer(clock);
  ok(kernel.configured(7), "put right once connected");
});

test("sweeps stopped part-way through a sweep close its listing and leave no timer", () => {
  const clock = new ManualClock();
  const kernel = memoryKernel(clock, 0.001);
  const sweeper = sweepsOn(kernel, clock);
  for (let fd = 3; fd < 2003; fd++) kernel.open(fd);
  clock.next(); // the first slice of the sweep on the timer
  deepEqual(kernel.listings(), { begun: 2, closed: 1 }, "the first sweep's listing closed, the timer's open");
  sweeper.stop();
  deepEqual(kernel.listings(), { begun: 2, closed: 2 });
  equal(clock.pending, 0);
});

/** Counts the system calls `run` makes, by descriptor. */
function countCalls(sys: Syscalls, run: () => void): Map<number, number> {
  const counts = new Map<number, number>();
  const names = ["getsockoptInt", "getsockopt", "setsockoptInt", "getsockname", "getpeername"] as const;
  const originals = names.map((name) => sys[name]);
  names.forEach((name, i) => {
    const original = originals[i] as (fd: number, ...rest: never[]) => number;
    (sys as unknown as Record<string, unknown>)[name] = (fd: number, ...rest: never[]) => {
      counts.set(fd, (counts.get(fd) ?? 0) + 1);
      return original(fd, ...rest);
    };
  });
  try {
    run();
  } finally {
    names.forEach((name, i) => (sys as unknown as Record<string, unknown>)[name] = originals[i]);
  }
  return counts;
}

test("the first sweep comes on the timer at once, in slices; with everyMs Infinity none comes but announced ones", () => {
  const clock = new ManualClock();
  const kernel = memoryKernel(clock, 0.001);
  for (let fd = 3; fd < 503; fd++) kernel.open(fd);
  const sweeper = sweepsOn(kernel, clock);
  try {
    equal(kernel.configured(3), false, "nothing is swept before the first slice runs");
    deepEqual([clock.pending, clock.lastDelayMs], [1, 0], "the first sweep is due at once");
    sweepOnTimer(clock);
    for (let fd = 3; fd < 503; fd++) ok(kernel.configured(fd), `descriptor ${fd}`);
  } finally {
    sweeper.stop();
  }
  let announce: (fds: readonly number[]) => void = () => {};
  using _announcedOnly = sweepsOn(kernel, clock, (configure) => (announce = configure, () => {}), {
    everyMs: Infinity,
    cpuPercent: 1,
  });
  equal(clock.pending, 0, "no sweep on a timer");
  kernel.open(600);
  announce([600]);
  ok(kernel.configured(600), "an announced socket is configured");
});
