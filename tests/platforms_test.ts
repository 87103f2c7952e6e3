// Each OS's table in platforms/, exercised through a recording binding: the exact
// getsockopt/setsockopt calls (level, option number, value) for each option set.
import { deepEqual, equal, throws } from "node:assert/strict";
import { planWrites, toSettings } from "../options/mod.ts";
import type { Values } from "../options/mod.ts";
import { readValues, writeValues } from "../socket/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import { finderFor } from "../targets/mod.ts";
import type { KeepaliveOptions } from "../types/mod.ts";
import { type Call, memorySocket, type Recording, recording } from "./_recording.ts";
import { prove, ROWS } from "./_evidence.ts";
import { runtime, test } from "./_harness.ts";

const FD = 9;
const TCP = 6;

interface Case {
  options: KeepaliveOptions;
  writes: [level: number, option: number, value: number][];
}

// Starting values: keepalive off, idle, interval, count and (where there is one) user timeout as the sysctl defaults.
const systems: Record<string, { socket: Record<string, number>; cases: Case[] }> = {
  linux: {
    socket: { "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:9": 0 },
    cases: [
      {
        options: { timeoutMs: 30_000 },
        writes: [[TCP, 4, 10], [TCP, 5, 2], [TCP, 6, 10], [TCP, 18, 30_000], [1, 9, 1]],
      },
      { options: { idleMs: 1500, userTimeoutMs: 2500 }, writes: [[TCP, 4, 2], [TCP, 18, 2500], [1, 9, 1]] },
    ],
  },
  darwin: {
    socket: { "6:16": 7200, "6:257": 75, "6:258": 8, "6:128": 0, "65535:8": 0 },
    cases: [
      // The idle time goes to TCP_KEEPALIVE (0x10), not the interval as in the seed's set_keepalive_osx.
      {
        options: { idleMs: 1000, intervalMs: 3000, count: 5 },
        writes: [[TCP, 0x10, 1], [TCP, 0x101, 3], [TCP, 0x102, 5], [0xffff, 8, 1]],
      },
      // Seconds, never milliseconds: 30 000 ms is 30.
      {
        options: { timeoutMs: 30_000 },
        writes: [[TCP, 0x10, 10], [TCP, 0x101, 2], [TCP, 0x102, 10], [TCP, 0x80, 30], [0xffff, 8, 1]],
      },
      { options: { userTimeoutMs: 1500 }, writes: [[TCP, 0x80, 2], [0xffff, 8, 1]] },
    ],
  },
  // The BSDs read SO_KEEPALIVE back as the flag's bit, 8: on, so an unchanged call writes nothing there.
  "darwin, keepalive on": {
    socket: { "6:16": 7200, "6:257": 75, "6:258": 8, "6:128": 0, "65535:8": 8 },
    cases: [
      { options: { idleMs: 7_200_000 }, writes: [] },
      { options: { count: 3 }, writes: [[TCP, 0x102, 3]] },
      { options: { enable: false }, writes: [[0xffff, 8, 0]] },
    ],
  },
  "freebsd, keepalive on": {
    socket: { "6:256": 7200, "6:512": 75, "6:1024": 8, "65535:8": 8 },
    cases: [{ options: {}, writes: [] }, { options: { intervalMs: 5000 }, writes: [[TCP, 512, 5]] }],
  },
  freebsd: {
    socket: { "6:256": 7200, "6:512": 75, "6:1024": 8, "65535:8": 0 },
    cases: [
      {
        options: { idleMs: 1000, intervalMs: 3000, count: 5 },
        writes: [[TCP, 256, 1], [TCP, 512, 3], [TCP, 1024, 5], [0xffff, 8, 1]],
      },
      // No user timeout: planned from timeoutMs, it is left out.
      { options: { timeoutMs: 30_000 }, writes: [[TCP, 256, 10], [TCP, 512, 2], [TCP, 1024, 10], [0xffff, 8, 1]] },
      { options: { enable: false, count: 3 }, writes: [[TCP, 1024, 3]] },
    ],
  },
};

const key = (level: number, option: number) => `${level}:${option}`;

/** Reads the socket, then writes `options`, as setKeepalive does. */
function configure(sys: Recording, platform: Platform, options: KeepaliveOptions): Values {
  const [after] = writeValues(
    sys,
    platform,
    [{ fd: FD, before: readValues(sys, platform, FD) }],
    planWrites(options, platform),
  );
  return after;
}

for (const [system, { socket, cases }] of Object.entries(systems)) {
  const platform = platformFor(system.split(",")[0]);
  const reads: Call[] = platform.socketOptions.map((o) => ["getsockopt", FD, o.level, o.optname]);

  for (const { options, writes } of cases) {
    test(`${system}: ${JSON.stringify(options)} makes exactly the calls the table says`, () => {
      const memory = memorySocket(FD, { ...socket });
      const sys = recording(memory);
      configure(sys, platform, options);
      deepEqual(sys.calls, [...reads, ...writes.map(([l, o, v]): Call => ["setsockopt", FD, l, o, v])]);
      for (const [level, option, value] of writes) equal(memory.values[key(level, option)], value);
      for (const row of ROWS[system.split(",")[0]] ?? []) prove(row, runtime, "recorded");
    });
  }
}

// Linux's restore is sockopt_test.ts's; these check the other tables' numbers in it.
for (const os of ["darwin", "freebsd"]) {
  const platform = platformFor(os);
  const { socket } = systems[os];
  const reads: Call[] = platform.socketOptions.map((o) => ["getsockopt", FD, o.level, o.optname]);
  test(`${platform.name}: a third write failing restores the first two, in reverse`, () => {
    const memory = memorySocket(FD, { ...socket });
    const sys = recording(memory, { at: [3] });
    const [idle, interval, count] = platform.socketOptions;
    throws(() => configure(sys, platform, { idleMs: 1000, intervalMs: 1000, count: 2 }), {
      code: "EINVAL",
      option: count.name,
      restored: true,
    });
    deepEqual(sys.calls.slice(reads.length), [
      ["setsockopt", FD, TCP, idle.optname, 1],
      ["setsockopt", FD, TCP, interval.optname, 1],
      ["setsockopt", FD, TCP, count.optname, 2],
      ["setsockopt", FD, TCP, interval.optname, socket[key(TCP, interval.optname)]],
      ["setsockopt", FD, TCP, idle.optname, socket[key(TCP, idle.optname)]],
    ]);
    deepEqual(memory.values, socket);
  });
}

test("FreeBSD: userTimeoutMs asked for by name is an error naming the OS", () => {
  throws(() => planWrites({ userTimeoutMs: 5000 }, platformFor("freebsd")), {
    name: "TypeError",
    message: "userTimeoutMs is not supported on FreeBSD: FreeBSD has no TCP_USER_TIMEOUT",
  });
});

test("FreeBSD: the settings read back have no user timeout", () => {
  deepEqual(toSettings(platformFor("freebsd"), [7200, 75, 8, 1]), {
    enabled: true,
    idleMs: 7_200_000,
    intervalMs: 75_000,
    count: 8,
    userTimeoutMs: undefined,
  });
});

test("limits come from each table, naming the OS", () => {
  throws(() => planWrites({ count: 128 }, platformFor("linux")), { message: /Linux TCP_KEEPCNT takes 1\.\.127/ });
  equal(planWrites({ count: 128 }, platformFor("darwin"))[0].value, 128);
  throws(() => planWrites({ idleMs: 4_294_968_000 }, platformFor("darwin")), {
    message: /^idleMs must be a number from 1 to 4294967000 \(macOS TCP_KEEPALIVE takes 1\.\.4294967 s/,
  });
  throws(() => platformFor("plan9"), /not supported on plan9; supported: linux, darwin, freebsd/);
});

/** A binding whose only socket has the given sockaddr bytes, as getsockname fills them. */
function listeningAt(platform: Platform, sockaddr: number[]): Parameters<ReturnType<typeof finderFor>>[0] {
  const { level, optname } = platform.SO_ACCEPTCONN;
  return {
    ...memorySocket(FD, { [key(level, optname)]: optname }), // the BSDs read the flag's bit back
    getsockname: (fd, into) => fd === FD ? (into.set(sockaddr), sockaddr.length) : -9,
    getpeername: () => -57,
  };
}

const port = [0x1f, 0x90]; // 8080
const bsdInet6 = [28, 0, ...port, 0, 0, 0, 0, ...new Array(15).fill(0), 1, 0, 0, 0, 0];
const listener = { addr: { transport: "tcp", hostname: "::1", port: 8080 } };

for (
  const [os, sockaddr] of [
    ["linux", [10, 0, ...port, 0, 0, 0, 0, ...new Array(15).fill(0), 1, 0, 0, 0, 0]],
    ["darwin", [28, 30, ...bsdInet6.slice(2)]],
    ["freebsd", [28, 28, ...bsdInet6.slice(2)]],
    ["windows", [23, 0, ...port, 0, 0, 0, 0, ...new Array(15).fill(0), 1, 0, 0, 0, 0]],
  ] as [string, number[]][]
) {
  test(`${platformFor(os).name}: a listener on [::1]:8080 is found by its sockaddr layout and SO_ACCEPTCONN`, () => {
    const platform: Platform = platformFor(os);
    const sys = recording(listeningAt(platform, sockaddr));
    deepEqual(finderFor(listener, platform)(sys), [FD]);
    const { level, optname } = platform.SO_ACCEPTCONN;
    // Linux also reads its SO_COOKIE, to know it again once it has closed (here the socket in memory has none).
    const cookie: Call[] = platform.SO_COOKIE
      ? [["getsockopt", FD, platform.SO_COOKIE.level, platform.SO_COOKIE.optname, undefined, [8]]]
      : [];
    deepEqual(sys.calls, [
      ["listing", -1, 0, 0],
      ["getsockname", FD, 0, 0],
      ["getsockopt", FD, level, optname],
      ...cookie,
    ]);
  });
}

// Windows: SIO_KEEPALIVE_VALS carries enable, idle and interval in one 12-byte struct of u32 milliseconds.
const SIO_KEEPALIVE_VALS = 0x98000004;
const WSAENOPROTOOPT = 10042;
const windows = platformFor("windows");
const structBytes = (onoff: number, idleMs: number, intervalMs: number) => [
  ...new Uint8Array(Uint32Array.of(onoff, idleMs, intervalMs).buffer),
];

/** A Windows socket in memory: the ioctl sets what getsockopt reads back (in seconds), where the OS has the options. */
function windowsSocket(values: Record<string, number>) {
  return memorySocket(FD, values, {
    lackedErrno: WSAENOPROTOOPT,
    ioctl(stored, code, input) {
      if (code !== SIO_KEEPALIVE_VALS || input.byteLength !== 12) return -10022;
      const [onoff, idleMs, intervalMs] = new Uint32Array(input.slice().buffer);
      stored["65535:8"] = onoff;
      stored.idleMsByIoctl = idleMs;
      stored.intervalMsByIoctl = intervalMs;
      if ("6:3" in stored) stored["6:3"] = idleMs / 1000;
      if ("6:17" in stored) stored["6:17"] = intervalMs / 1000;
      return 0;
    },
  });
}
const WINDOWS_READS: Call[] = [
  ["getsockopt", FD, TCP, 16],
  ["getsockopt", FD, TCP, 5],
  ["getsockopt", FD, TCP, 3],
  ["getsockopt", FD, TCP, 17],
  ["getsockopt", FD, 0xffff, 8],
];
const modern = () => ({ "6:16": 10, "6:5": 0, "6:3": 7200, "6:17": 1, "65535:8": 0 });
const before1703 = () => ({ "6:5": 0, "65535:8": 0 });
// Wine 10 as measured: the options of 1709 and later, but no TCP_MAXRT.
const wine10 = () => ({ "6:16": 9, "6:3": 7200, "6:17": 75, "65535:8": 0 });

const windowsCases: [string, () => Record<string, number>, KeepaliveOptions, Call[], object][] = [
  [
    "all three and a count",
    modern,
    { idleMs: 5000, intervalMs: 2000, count: 4 },
    [["setsockopt", FD, TCP, 16, 4], ["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 5000, 2000)]],
    { enabled: true, idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 0 },
  ],
  [
    "idle alone keeps the interval it read, never a 0",
    modern,
    { idleMs: 5000 },
    [["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 5000, 1000)]],
    { enabled: true, idleMs: 5000, intervalMs: 1000, count: 10, userTimeoutMs: 0 },
  ],
  [
    "userTimeoutMs is TCP_MAXRT in whole seconds, rounded up, before the ioctl",
    modern,
    { userTimeoutMs: 1500 },
    [["setsockopt", FD, TCP, 5, 2], ["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 7_200_000, 1000)]],
    { enabled: true, idleMs: 7_200_000, intervalMs: 1000, count: 10, userTimeoutMs: 2000 },
  ],
  [
    "a deadline plans the user timeout as on Linux, in whole seconds, never past it",
    modern,
    { timeoutMs: 30_500 },
    [["setsockopt", FD, TCP, 5, 30], ["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 10_000, 2000)]],
    { enabled: true, idleMs: 10_000, intervalMs: 2000, count: 10, userTimeoutMs: 30_000 },
  ],
  [
    "a deadline before 1703: count 10 is the fixed count, left as it is",
    before1703,
    { timeoutMs: 30_000 },
    [["setsockopt", FD, TCP, 5, 30], ["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 10_000, 2000)]],
    { enabled: true, idleMs: 10_000, intervalMs: 2000, count: 10, userTimeoutMs: 30_000 },
  ],
  [
    "idle alone before 1709: the unknown interval is sent as Windows' default 1 s",
    before1703,
    { idleMs: 5000 },
    [["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 5000, 1000)]],
    { enabled: true, idleMs: 5000, intervalMs: undefined, count: 10, userTimeoutMs: 0 },
  ],
  [
    "without TCP_MAXRT (Wine 10), everything else as on 1709",
    wine10,
    { idleMs: 5000, intervalMs: 2000, count: 4 },
    [["setsockopt", FD, TCP, 16, 4], ["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 5000, 2000)]],
    { enabled: true, idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: undefined },
  ],
  [
    "turning it off sends the times it read",
    () => ({ ...modern(), "65535:8": 1, "6:3": 30 }),
    { enable: false },
    [["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(0, 30_000, 1000)]],
    { enabled: false, idleMs: 30_000, intervalMs: 1000, count: 10, userTimeoutMs: 0 },
  ],
];
for (const [what, start, options, writes, settings] of windowsCases) {
  test(`Windows: ${what}`, () => {
    const sys = recording(windowsSocket(start()));
    const after = configure(sys, windows, options);
    deepEqual(sys.calls, [...WINDOWS_READS, ...writes]);
    deepEqual(toSettings(windows, after), settings);
    for (const row of ROWS.windows) prove(row, runtime, "recorded");
  });
}

test("Windows: before 1703 a count other than 10 is refused before the ioctl changes anything", () => {
  const socket = windowsSocket(before1703());
  const sys = recording(socket);
  throws(
    () => configure(sys, windows, { idleMs: 5000, count: 4 }),
    {
      code: "ENOPROTOOPT",
      errno: WSAENOPROTOOPT,
      option: "TCP_KEEPCNT",
      restored: undefined,
      message:
        `ENOPROTOOPT: this Windows has no TCP_KEEPCNT: its value is fixed at 10 (setsockopt TCP_KEEPCNT fd ${FD})`,
    },
  );
  deepEqual(sys.calls.slice(WINDOWS_READS.length), [["setsockopt", FD, TCP, 16, 4]]);
  deepEqual(socket.values, before1703());
});

test("Windows: a failing ioctl puts the count back", () => {
  const socket = windowsSocket(modern());
  const sys = recording(socket, { at: [2], errno: 10022 });
  throws(
    () => configure(sys, windows, { idleMs: 5000, count: 4 }),
    {
      code: "EINVAL",
      syscall: "WSAIoctl",
      option: "SIO_KEEPALIVE_VALS",
      restored: true,
    },
  );
  deepEqual(sys.calls.slice(WINDOWS_READS.length), [
    ["setsockopt", FD, TCP, 16, 4],
    ["ioctl", FD, SIO_KEEPALIVE_VALS, 0, undefined, structBytes(1, 5000, 1000)],
    ["setsockopt", FD, TCP, 16, 10],
  ]);
  deepEqual(socket.values, modern());
});

test("Windows: getKeepalive's values before 1709 are unknown, the count is the fixed 10", () => {
  const sys = recording(windowsSocket({ "65535:8": 1 }));
  deepEqual(toSettings(windows, readValues(sys, windows, FD)), {
    enabled: true,
    idleMs: undefined,
    intervalMs: undefined,
    count: 10,
    userTimeoutMs: undefined,
  });
});

test("Windows without TCP_MAXRT (Wine): the user timeout is refused as the count is, the count put back", () => {
  const socket = windowsSocket(wine10());
  const sys = recording(socket);
  throws(
    () => configure(sys, windows, { count: 4, userTimeoutMs: 3000 }),
    {
      code: "ENOPROTOOPT",
      errno: WSAENOPROTOOPT,
      option: "TCP_MAXRT",
      restored: true,
      message:
        `ENOPROTOOPT: this Windows has no TCP_MAXRT (setsockopt TCP_MAXRT fd ${FD}); the options changed before it were restored`,
    },
  );
  deepEqual(sys.calls.slice(WINDOWS_READS.length), [
    ["setsockopt", FD, TCP, 16, 4],
    ["setsockopt", FD, TCP, 5, 3],
    ["setsockopt", FD, TCP, 16, 9],
  ]);
  deepEqual(socket.values, wine10());
});

test("Windows: userTimeoutMs 0 is refused (TCP_MAXRT 0 is no default), and a count above 255", () => {
  throws(() => planWrites({ userTimeoutMs: 0 }, windows), {
    message: /^userTimeoutMs must be a number from 1 to 2147483647000 \(Windows TCP_MAXRT takes 1\.\.2147483647 s/,
  });
  throws(() => planWrites({ count: 256 }, windows), {
    message: /^count must be an integer from 1 to 255 \(Windows TCP_KEEPCNT/,
  });
});

test("Windows: the table lays out struct tcp_keepalive itself, three little-endian u_long", () => {
  deepEqual([...windows.keepaliveIoctl!.encode({ enabled: 1, idleMs: 0x01020304, intervalMs: 1000 })], [
    1,
    0,
    0,
    0,
    4,
    3,
    2,
    1,
    0xe8,
    3,
    0,
    0,
  ]);
});

test("each table's descriptor range: an int on the Unixes, 32 bits of handle on Windows", () => {
  deepEqual(["linux", "darwin", "freebsd", "windows"].map((os) => platformFor(os).descriptorMax), [
    2 ** 31 - 1,
    2 ** 31 - 1,
    2 ** 31 - 1,
    2 ** 32 - 1,
  ]);
});
