// options/: planning, validation, units and terms, with no socket and no runtime.
import { deepEqual, equal, throws } from "node:assert/strict";
import { checkPid, checkSweeps, planIn, planKeepalive, planWrites, textTerms, toSettings } from "../options/mod.ts";
import { durationText, parseDuration } from "../options/_duration.ts";
import { darwin } from "../platforms/_darwin.ts";
import { linux } from "../platforms/_linux.ts";
import { test } from "./_harness.ts";

const written = (options: Parameters<typeof planWrites>[0]) =>
  Object.fromEntries(planWrites(options, linux).map((w) => [w.option.name, w.value]));

test("planKeepalive() follows set_tcp_timeout for 30 s, 60 s and 11 s", () => {
  deepEqual(planKeepalive(30_000), { idleMs: 10_000, intervalMs: 2_000, count: 10, userTimeoutMs: 30_000 });
  deepEqual(planKeepalive(60_000), { idleMs: 20_000, intervalMs: 4_000, count: 10, userTimeoutMs: 60_000 });
  deepEqual(planKeepalive(11_000), { idleMs: 1_000, intervalMs: 1_000, count: 10, userTimeoutMs: 11_000 });
});

test("planKeepalive() plans with the probes asked for", () => {
  deepEqual(planKeepalive(10_000, { probes: 3 }), {
    idleMs: 4_000,
    intervalMs: 2_000,
    count: 3,
    userTimeoutMs: 10_000,
  });
});

test("planKeepalive() never plans past the deadline, in whole seconds", () => {
  for (const probes of [1, 2, 5, 10, 20]) {
    for (let ms = (probes + 1) * 1000; ms < 400_000; ms += 997) {
      const plan = planKeepalive(ms, { probes });
      const worst = plan.idleMs + plan.intervalMs * plan.count;
      equal(worst <= ms && worst > ms - 1000, true, `${ms} ms, ${probes} probes: ${worst}`);
      equal(plan.idleMs % 1000 + plan.intervalMs % 1000, 0);
      equal(plan.idleMs >= 1000 && plan.intervalMs >= 1000, true);
    }
  }
});

test("planKeepalive() refuses a deadline shorter than probes + 1 s", () => {
  throws(() => planKeepalive(10_999), /timeoutMs must be a finite number of at least 11000 .*got 10999/);
  throws(() => planKeepalive(2_999, { probes: 2 }), /at least 3000/);
  throws(() => planKeepalive(NaN), /got NaN/);
  throws(() => planKeepalive(30_000, { probes: 0 }), /probes must be an integer of at least 1; got 0/);
});

test("planWrites() converts milliseconds to the kernel's units, rounding idle and interval up", () => {
  deepEqual(written({ idleMs: 1500, intervalMs: 1000, count: 3, userTimeoutMs: 2500 }), {
    TCP_KEEPIDLE: 2,
    TCP_KEEPINTVL: 1,
    TCP_KEEPCNT: 3,
    TCP_USER_TIMEOUT: 2500,
    SO_KEEPALIVE: 1,
  });
  deepEqual(written({ idleMs: 1 }), { TCP_KEEPIDLE: 1, SO_KEEPALIVE: 1 });
  deepEqual(written({ enable: false }), { SO_KEEPALIVE: 0 });
  deepEqual(written({}), { SO_KEEPALIVE: 1 });
  // No options at all is a mistake (a config that was never read), not "keepalive on, nothing else".
  throws(() => planWrites(undefined as never, linux), {
    name: "TypeError",
    message: /^options must be a plain object of enable, idleMs, .*; got undefined$/,
  });
});

test("planWrites() orders TCP-level options before SO_KEEPALIVE", () => {
  deepEqual(planWrites({ idleMs: 5000, enable: true, count: 3 }, linux).map((w) => w.option.level), [6, 6, 1]);
});

test("planWrites() plans timeoutMs, with count as the probes", () => {
  deepEqual(written({ timeoutMs: 30_000 }), {
    TCP_KEEPIDLE: 10,
    TCP_KEEPINTVL: 2,
    TCP_KEEPCNT: 10,
    TCP_USER_TIMEOUT: 30_000,
    SO_KEEPALIVE: 1,
  });
  deepEqual(written({ timeoutMs: 10_000, count: 3 }), {
    TCP_KEEPIDLE: 4,
    TCP_KEEPINTVL: 2,
    TCP_KEEPCNT: 3,
    TCP_USER_TIMEOUT: 10_000,
    SO_KEEPALIVE: 1,
  });
});

const refusals: [string, unknown, "RangeError" | "TypeError", RegExp][] = [
  [
    "NaN idle",
    { idleMs: NaN },
    "RangeError",
    /^idleMs must be a number from 1 to 32767000 \(Linux TCP_KEEPIDLE takes 1\.\.32767 s.*got NaN$/,
  ],
  [
    "Infinity interval",
    { intervalMs: Infinity },
    "RangeError",
    /^intervalMs must be .*1 to 32767000.*TCP_KEEPINTVL.*got Infinity$/,
  ],
  ["negative idle", { idleMs: -1 }, "RangeError", /^idleMs .*got -1$/],
  ["zero idle", { idleMs: 0 }, "RangeError", /^idleMs .*got 0$/],
  ["zero interval", { intervalMs: 0 }, "RangeError", /^intervalMs .*got 0$/],
  ["idle above 32767 s", { idleMs: 32_767_001 }, "RangeError", /^idleMs .*got 32767001$/],
  [
    "count 0",
    { count: 0 },
    "RangeError",
    /^count must be an integer from 1 to 127 \(Linux TCP_KEEPCNT takes 1\.\.127\); got 0$/,
  ],
  ["count 128", { count: 128 }, "RangeError", /^count .*got 128$/],
  ["count 2.5", { count: 2.5 }, "RangeError", /^count must be an integer .*got 2\.5$/],
  [
    "negative user timeout",
    { userTimeoutMs: -1 },
    "RangeError",
    /^userTimeoutMs must be an integer from 0 to 2147483647 \(Linux TCP_USER_TIMEOUT.* ms\); got -1$/,
  ],
  [
    "a user timeout in a fraction of a millisecond, which the kernel cannot hold",
    { userTimeoutMs: 1.5 },
    "RangeError",
    /^userTimeoutMs must be an integer from 0 to 2147483647 \(Linux TCP_USER_TIMEOUT takes 0\.\.2147483647 ms\); got 1\.5$/,
  ],
  [
    "a symbol-keyed option",
    { [Symbol("idleMs")]: 5000 },
    "TypeError",
    /^unknown option Symbol\(idleMs\); options are enable, idleMs/,
  ],
  ["user timeout above INT_MAX", { userTimeoutMs: 2 ** 31 }, "RangeError", /^userTimeoutMs .*got 2147483648$/],
  ["a string", { idleMs: "5000" }, "TypeError", /^idleMs .*got "5000"$/],
  ["enable as a number", { enable: 1 }, "TypeError", /^enable must be true or false; got 1$/],
  [
    "a typo",
    { intervalMS: 5000 },
    "TypeError",
    /^unknown option "intervalMS" \(did you mean intervalMs\?\); options are enable, idleMs/,
  ],
  ["an unknown key", { probes: 3 }, "TypeError", /^unknown option "probes"; options are/],
  ["not an object", 5000, "TypeError", /^options must be a plain object of enable, idleMs, .*; got 5000$/],
  ["an array", [], "TypeError", /^options must be a plain object .*; got an array$/],
  ["a Map", new Map([["idleMs", 1000]]), "TypeError", /^options must be a plain object .*; got a Map$/],
  ["null", null, "TypeError", /^options must be a plain object .*; got null$/],
  ["enable null", { enable: null }, "TypeError", /^enable must be true or false; got null$/],
  ["enable as a string", { enable: "false" }, "TypeError", /^enable must be true or false; got "false"$/],
  ["a bigint", { count: 3n }, "TypeError", /^count must be an integer .*; got 3n$/],
  [
    "timeoutMs with idleMs",
    { timeoutMs: 30_000, idleMs: 1000 },
    "TypeError",
    /^timeoutMs plans idleMs; give one or the other/,
  ],
  ["timeoutMs too short", { timeoutMs: 5000 }, "RangeError", /^timeoutMs must be .*at least 11000/],
  [
    "timeoutMs planning past the limit",
    { timeoutMs: 200_000_000 },
    "RangeError",
    /^idleMs \(planned from timeoutMs 200000000\) must be .*32767000/,
  ],
];
for (const [what, options, kind, message] of refusals) {
  test(`planWrites() refuses ${what}, naming field, value and range`, () => {
    throws(() => planWrites(options as never, linux), { name: kind, message });
  });
}

test("toSettings() reports the kernel's values in milliseconds", () => {
  deepEqual(toSettings(linux, [7200, 75, 9, 0, 0]), {
    enabled: false,
    idleMs: 7_200_000,
    intervalMs: 75_000,
    count: 9,
    userTimeoutMs: 0,
  });
  equal(toSettings(linux, [1, 1, 1, 1, 1]).enabled, true);
});

test("planKeepalive() with an OS plans in its units, without what it lacks", () => {
  deepEqual(planKeepalive(30_500, { os: "linux" }), {
    idleMs: 10_000,
    intervalMs: 2_000,
    count: 10,
    userTimeoutMs: 30_500,
  });
  // macOS keeps TCP_RXT_CONNDROPTIME in seconds: a planned 30.5 s rounds down to 30, never past the deadline.
  deepEqual(planKeepalive(30_500, { os: "darwin" }), {
    idleMs: 10_000,
    intervalMs: 2_000,
    count: 10,
    userTimeoutMs: 30_000,
  });
  deepEqual(planKeepalive(30_000, { os: "freebsd" }).userTimeoutMs, undefined);
  // Windows' TCP_MAXRT is in seconds too.
  deepEqual(planKeepalive(30_500, { os: "windows" }).userTimeoutMs, 30_000);
  throws(
    () => planKeepalive(200_000, { os: "linux", probes: 128 }),
    /^RangeError: count \(planned from timeoutMs 200000\) must be an integer from 1 to 127/,
  );
  throws(() => planKeepalive(30_000, { os: "plan9" as never }), {
    name: "TypeError",
    message: 'os must be one of "linux", "darwin", "freebsd", "windows", as Deno.build.os names them; got "plan9"',
  });
  // Named as the caller wrote it, with the near miss.
  throws(() => planKeepalive(30_000, { os: "Linux" as never }), {
    message: /; got "Linux" \(did you mean "linux"\?\)$/,
  });
});

test("planKeepalive() for any OS never plans a value past the deadline", () => {
  for (const os of ["linux", "darwin", "freebsd", "windows"] as const) {
    for (let ms = 11_000; ms < 200_000; ms += 777) {
      const plan = planKeepalive(ms, { os });
      const worst = plan.idleMs + plan.intervalMs * plan.count;
      equal(worst <= ms && (plan.userTimeoutMs ?? 0) <= ms, true, `${os} ${ms} ms: ${JSON.stringify(plan)}`);
    }
  }
});

test("planKeepalive() refuses options it does not take, naming probes for count", () => {
  throws(() => planKeepalive(30_000, { count: 5 } as never), {
    name: "TypeError",
    message: 'unknown option "count" (the probe count is probes); options are probes, os',
  });
  throws(() => planKeepalive(30_000, { Probes: 5 } as never), /unknown option "Probes" \(did you mean probes\?\)/);
  throws(() => planKeepalive(30_000, null as never), /^TypeError: planKeepalive's options must be a plain object/);
});

test("macOS: a negative userTimeoutMs is refused, and 1 to 999 ms round up to 1 s", () => {
  throws(() => planWrites({ userTimeoutMs: -999 }, darwin), {
    name: "RangeError",
    message:
      "userTimeoutMs must be a number from 0 to 4294967000 (macOS TCP_RXT_CONNDROPTIME takes 0..4294967 s, in whole seconds; values round up); got -999",
  });
  equal(planWrites({ userTimeoutMs: 1 }, darwin)[0].value, 1);
  equal(planWrites({ userTimeoutMs: 0 }, darwin)[0].value, 0);
});

test("durationText() writes milliseconds as typed, in the largest exact unit, and parseDuration() reads it back", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ms"],
    [1500, "1500ms"],
    [11_000, "11s"],
    [600_000, "10m"],
    [
      3_600_000,
      "1h",
    ],
    [32_767_000, "32767s"],
    [2 ** 31 - 1, "2147483647ms"],
    [0.5, "0.5ms"],
  ];
  for (const [ms, text] of cases) {
    equal(durationText(ms), text);
    equal(parseDuration(text), ms);
  }
});

// A text form's terms: what the command line and TCP_KEEPALIVE give, so that no error speaks of timeoutMs or 11000.
const FLAGS = { idleMs: "--idle", count: "--count", probes: "--count", timeoutMs: "--timeout", everyMs: "--every" };
const textRefusals: [string, () => unknown, RegExp][] = [
  [
    "a deadline too short",
    () => planWrites({ timeoutMs: 5000 }, linux, textTerms(FLAGS, { timeoutMs: "5s" })),
    /^--timeout must be a duration of at least 11s \(10 probes 1 s apart after 1 s idle\); got 5s$/,
  ],
  [
    "an idle time past the limit, as typed",
    () => planWrites({ idleMs: 40_000_000 }, linux, textTerms(FLAGS, { idleMs: "40000s" })),
    /^--idle must be a duration from 1ms to 32767s \(Linux TCP_KEEPIDLE takes 1\.\.32767 s, .*\); got 40000s$/,
  ],
  [
    "a planned value past the limit",
    () => planWrites({ timeoutMs: 200_000_000 }, linux, textTerms(FLAGS, { timeoutMs: "200000s" })),
    /^--idle \(planned from --timeout 200000s\) must be a duration from 1ms to 32767s .*; got \d+s$/,
  ],
  [
    "a deadline with a field it plans",
    () => planWrites({ timeoutMs: 30_000, idleMs: 1000 }, linux, textTerms(FLAGS, {})),
    /^--timeout plans --idle; give one or the other, not both$/,
  ],
  [
    "a probe count of 0 for a deadline",
    () => planIn(30_000, { probes: 0 }, textTerms(FLAGS, { probes: "0" })),
    /^--count must be an integer of at least 1; got 0$/,
  ],
  [
    "a period too short",
    () => checkSweeps({ everyMs: 5 }, textTerms(FLAGS, { everyMs: "5ms" })),
    /^--every must be a duration, in whole milliseconds, from 10ms to 2147483647ms; got 5ms$/,
  ],
  [
    "a budget too large",
    () => checkSweeps({ cpuPercent: 200 }, textTerms({ cpuPercent: "cpu" }, { cpuPercent: "200%" })),
    /^cpu must be a percentage from 0\.01% to 100%; got 200%$/,
  ],
];
for (const [what, call, message] of textRefusals) {
  test(`a text form's refusal of ${what} speaks its names and units`, () => {
    throws(call, { message });
  });
}

test("checkSweeps() takes everyMs from 10 to 2147483647 and cpuPercent from 0.01 to 100, and refuses a near miss by name", () => {
  deepEqual(checkSweeps({}), { everyMs: 1000, cpuPercent: 0.8 });
  deepEqual(checkSweeps({ everyMs: 10, cpuPercent: 0.01 }), { everyMs: 10, cpuPercent: 0.01 });
  deepEqual(checkSweeps({ cpuPercent: 100 }), { everyMs: 1000, cpuPercent: 100 });
  throws(() => checkSweeps({ everyMs: 9 }), {
    name: "RangeError",
    message: "everyMs must be an integer from 10 to 2147483647, or Infinity for no sweep on a timer; got 9",
  });
  throws(() => checkSweeps({ everyMs: 10.5 }), { name: "RangeError", message: /got 10\.5$/ });
  for (const cpuPercent of [0, 0.009, 100.5, -1, NaN, Infinity]) {
    throws(() => checkSweeps({ cpuPercent }), {
      name: "RangeError",
      message: `cpuPercent must be a number from 0.01 to 100; got ${cpuPercent}`,
    });
  }
  throws(() => checkSweeps({ cpuPercent: "1%" }), { name: "RangeError", message: /got "1%"$/ });
  throws(() => checkSweeps({ everyMS: 50 }), {
    name: "TypeError",
    message: 'unknown option "everyMS" (did you mean everyMs?); options are everyMs, cpuPercent',
  });
  throws(() => checkSweeps({ cpupercent: 1 }), { name: "TypeError", message: /did you mean cpuPercent\?/ });
  throws(() => checkSweeps(null), {
    name: "TypeError",
    message: "autoKeepalive's sweeps must be a plain object of everyMs, cpuPercent; got null",
  });
});

test("checkPid() takes what a pid_t holds, above 0, and never wraps a larger number round", () => {
  equal(checkPid(1, linux), 1);
  equal(checkPid(2 ** 31 - 1, linux), 2 ** 31 - 1);
  for (const pid of [0, -1, 2 ** 32 + 1, 2 ** 31, 1.5, NaN]) {
    throws(() => checkPid(pid, linux), {
      name: "RangeError",
      message: `pid must be an integer from 1 to 2147483647 (a process id); got ${pid}`,
    });
  }
  throws(() => checkPid("42", linux), { name: "RangeError", message: /got "42"$/ });
  throws(() => checkPid(42, darwin), {
    name: "Error",
    message: /^setProcessKeepalive is Linux only \(pidfd_getfd\); this is macOS$/,
  });
});
