// options/_environment.ts: TCP_KEEPALIVE read as the command line's flags are, checked against the OS's limits, and
// every refusal worded in the variable's own names and units.
import { deepEqual, throws } from "node:assert/strict";
import { parseVariable } from "../options/mod.ts";
import { linux } from "../platforms/_linux.ts";
import { test } from "./_harness.ts";

test("parseVariable() reads a deadline, each setting, and the sweeps' period and budget", () => {
  deepEqual(parseVariable("TCP_KEEPALIVE", "30s", linux), { options: { timeoutMs: 30_000 }, sweeps: {} });
  deepEqual(parseVariable("TCP_KEEPALIVE", "idle=10s,interval=2s,count=3,user-timeout=30s", linux), {
    options: { idleMs: 10_000, intervalMs: 2_000, count: 3, userTimeoutMs: 30_000 },
    sweeps: {},
  });
  deepEqual(parseVariable("TCP_KEEPALIVE", "1m, every=500ms", linux), {
    options: { timeoutMs: 60_000 },
    sweeps: { everyMs: 500 },
  });
  deepEqual(parseVariable("TCP_KEEPALIVE", "1m,cpu=0.25%", linux), {
    options: { timeoutMs: 60_000 },
    sweeps: { cpuPercent: 0.25 },
  });
  deepEqual(parseVariable("TCP_KEEPALIVE", "timeout=2m,count=5,every=2s,cpu=2%", linux), {
    options: { timeoutMs: 120_000, count: 5 },
    sweeps: { everyMs: 2000, cpuPercent: 2 },
  });
});

const malformed: [string, "TypeError" | "RangeError", RegExp][] = [
  [
    "30",
    "TypeError",
    /^TCP_KEEPALIVE="30": "30" takes a duration such as 1500ms, 10s, 2m or 1h \(a unit is needed: 30s or 30ms\)$/,
  ],
  ["idle=10", "TypeError", /^TCP_KEEPALIVE="idle=10": "idle=10" takes a duration .* \(a unit is needed/],
  [
    "idle=10s,probes=3",
    "TypeError",
    /^TCP_KEEPALIVE="idle=10s,probes=3": "probes=3" is not one of timeout=, idle=, interval=/,
  ],
  ["count=three", "TypeError", /"count=three" takes a whole number$/],
  ["idle=1s=2s", "TypeError", /"idle=1s=2s" has more than one =$/],
  // Duplicates: the second would silently win.
  ["idle=10s,idle=20s", "TypeError", /^TCP_KEEPALIVE="idle=10s,idle=20s": "idle=20s" gives idle a second time$/],
  ["30s,timeout=1m", "TypeError", /"timeout=1m" gives timeout a second time$/],
  // Ranges and conflicts: in the variable's own names and units, never the API's (count, not probes; 30s, not 30000).
  [
    "count=200",
    "RangeError",
    /^TCP_KEEPALIVE="count=200": count must be an integer from 1 to 127 \(Linux TCP_KEEPCNT takes 1\.\.127\); got 200$/,
  ],
  [
    "every=5ms",
    "RangeError",
    /^TCP_KEEPALIVE="every=5ms": every must be a duration, in whole milliseconds, from 10ms to 2147483647ms; got 5ms$/,
  ],
  ["30s,cpu=1", "TypeError", /^TCP_KEEPALIVE="30s,cpu=1": "cpu=1" takes a percentage, such as 0\.5%$/],
  [
    "30s,cpu=150%",
    "RangeError",
    /^TCP_KEEPALIVE="30s,cpu=150%": cpu must be a percentage from 0\.01% to 100%; got 150%$/,
  ],
  [
    "timeout=30s,idle=10s",
    "TypeError",
    /^TCP_KEEPALIVE="timeout=30s,idle=10s": timeout plans idle; give one or the other, not both$/,
  ],
  [
    "5s",
    "RangeError",
    /^TCP_KEEPALIVE="5s": timeout must be a duration of at least 11s \(10 probes 1 s apart after 1 s idle\); got 5s$/,
  ],
  [
    "timeout=30s,count=0",
    "RangeError",
    /^TCP_KEEPALIVE="timeout=30s,count=0": count must be an integer of at least 1; got 0$/,
  ],
  [
    "idle=40000s",
    "RangeError",
    /^TCP_KEEPALIVE="idle=40000s": idle must be a duration from 1ms to 32767s \(Linux TCP_KEEPIDLE .*\); got 40000s$/,
  ],
  [
    "interval=0.5ms",
    "RangeError",
    /^TCP_KEEPALIVE="interval=0.5ms": interval must be a duration from 1ms to 32767s .*; got 0.5ms$/,
  ],
];
for (const [text, name, message] of malformed) {
  test(`parseVariable() names the part of ${JSON.stringify(text)} that is wrong, in its own terms`, () => {
    throws(() => parseVariable("TCP_KEEPALIVE", text, linux), { name, message });
  });
}
