// targets/_keepalive.ts: what each call costs in system calls, counted on real sockets; and bad input refused before any.
import { deepEqual, throws } from "node:assert/strict";
import { applyKeepalive, readKeepalive } from "../targets/mod.ts";
import { syscalls } from "../ffi/mod.ts";
import { linux } from "../platforms/_linux.ts";
import { fdOf } from "./_kernel.ts";
import { openPair } from "./_net.ts";
import { recording } from "./_recording.ts";
import { test } from "./_harness.ts";

const names = (calls: unknown[][]) => calls.map((call) => call[0]);

test("setKeepalive(fd) reads each option once and writes only what changes, TCP level first", async () => {
  using pair = await openPair("127.0.0.1");
  const fd = fdOf(pair.client);
  const sys = recording(syscalls());
  applyKeepalive(() => sys, linux, fd, { idleMs: 5000, count: 3 });
  deepEqual(names(sys.calls), [...Array(5).fill("getsockopt"), "setsockopt", "setsockopt", "setsockopt"]);
  deepEqual(sys.calls.filter((call) => call[0] === "setsockopt").map((call) => call[2]), [6, 6, 1]);
  sys.calls.length = 0;
  applyKeepalive(() => sys, linux, fd, { idleMs: 5000, count: 3 }); // nothing changes
  deepEqual(names(sys.calls), Array(5).fill("getsockopt"));
  sys.calls.length = 0;
  readKeepalive(() => sys, linux, fd);
  deepEqual(names(sys.calls), Array(5).fill("getsockopt"));
});

// Bad input: an error naming the problem, and not one system call: the binding is never even opened.
const badInput: [string, unknown, unknown, RegExp][] = [
  ["NaN", 3, { idleMs: NaN }, /^idleMs .*got NaN$/],
  ["Infinity", 3, { intervalMs: Infinity }, /^intervalMs .*got Infinity$/],
  ["a negative idle", 3, { idleMs: -5 }, /^idleMs .*got -5$/],
  ["a zero interval", 3, { intervalMs: 0 }, /^intervalMs .*got 0$/],
  ["a non-integer count", 3, { idleMs: 1000, count: 1.5 }, /^count must be an integer .*got 1\.5$/],
  ["count 128", 3, { idleMs: 1000, count: 128 }, /^count .*1 to 127.*got 128$/],
  ["idle above 32767 s", 3, { idleMs: 40_000_000 }, /^idleMs .*32767000.*got 40000000$/],
  ["a typo", 3, { idleMs: 1000, intervalMS: 5 }, /unknown option "intervalMS" \(did you mean intervalMs\?\)/],
  ["enable null", 3, { enable: null }, /^enable must be true or false; got null$/],
  ["an array as options", 3, [], /^options must be a plain object .*got an array$/],
  ["a Map as options", 3, new Map(), /^options must be a plain object .*got a Map$/],
  ["a string descriptor", "3", {}, /got "3"$/],
  ["a bigint descriptor", 3n, {}, /got 3n$/],
  ["a descriptor past INT_MAX", 2 ** 31, {}, /from 0 to 2147483647 .*got 2147483648$/],
];
for (const [what, target, options, message] of badInput) {
  test(`setKeepalive() refuses ${what} before any system call`, () => {
    throws(() =>
      applyKeepalive(
        () => {
          throw new Error("the binding was opened");
        },
        linux,
        target as never,
        options as never,
      ), { message });
  });
}

test("getKeepalive() refuses a target that is no socket before any system call", () => {
  throws(() =>
    readKeepalive(
      () => {
        throw new Error("the binding was opened");
      },
      linux,
      { localAddr: {}, remoteAddr: {} } as never,
    ), { name: "TypeError", message: /has no TCP port/ });
});
