import { deepEqual, equal, throws } from "node:assert/strict";
import { planWrites } from "../options.ts";
import { linux } from "../platforms/linux.ts";
import { readOptions, writeOptions } from "../platforms/mod.ts";
import { memorySocket, recording } from "./_recording.ts";
import { test } from "./_harness.ts";

const FD = 7;
// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, SO_KEEPALIVE as Linux starts them.
const defaults = () => ({ "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:9": 0 });

test("readOptions() makes one getsockopt per option, TCP level first", () => {
  const sys = recording(memorySocket(FD, defaults()));
  deepEqual(readOptions(sys, linux, FD), [7200, 75, 9, 0, 0]);
  deepEqual(sys.calls, [
    ["getsockopt", FD, 6, 4],
    ["getsockopt", FD, 6, 5],
    ["getsockopt", FD, 6, 6],
    ["getsockopt", FD, 6, 18],
    ["getsockopt", FD, 1, 9],
  ]);
});

test("writeOptions() writes only what changes, SO_KEEPALIVE last", () => {
  const socket = memorySocket(FD, defaults());
  const sys = recording(socket);
  const after = writeOptions(
    sys,
    linux,
    FD,
    [7200, 75, 9, 0, 0],
    planWrites({ idleMs: 5000, intervalMs: 75_000, count: 3 }, linux),
  );
  deepEqual(after, [5, 75, 3, 0, 1]);
  deepEqual(sys.calls, [
    ["setsockopt", FD, 6, 4, 5],
    ["setsockopt", FD, 6, 6, 3],
    ["setsockopt", FD, 1, 9, 1],
  ]);
  deepEqual(socket.values, { "6:4": 5, "6:5": 75, "6:6": 3, "6:18": 0, "1:9": 1 });
});

test("writeOptions() restores what it changed when the third write fails", () => {
  const socket = memorySocket(FD, defaults());
  const sys = recording(socket, { at: [3] });
  const writes = planWrites({ idleMs: 1000, intervalMs: 1000, count: 2, userTimeoutMs: 3000 }, linux);
  throws(() => writeOptions(sys, linux, FD, [7200, 75, 9, 0, 0], writes), {
    name: "KeepaliveError",
    code: "EINVAL",
    errno: 22,
    syscall: "setsockopt",
    option: "TCP_KEEPCNT",
    fd: FD,
    restored: true,
    message:
      "EINVAL: Linux refused the call (setsockopt TCP_KEEPCNT fd 7); the options changed before it were restored",
  });
  deepEqual(sys.calls, [
    ["setsockopt", FD, 6, 4, 1],
    ["setsockopt", FD, 6, 5, 1],
    ["setsockopt", FD, 6, 6, 2],
    ["setsockopt", FD, 6, 5, 75],
    ["setsockopt", FD, 6, 4, 7200],
  ]);
  deepEqual(socket.values, defaults());
});

test("writeOptions() says so when restoring fails too", () => {
  const sys = recording(memorySocket(FD, defaults()), { at: [2, 3] });
  throws(
    () => writeOptions(sys, linux, FD, [7200, 75, 9, 0, 0], planWrites({ idleMs: 1000, intervalMs: 1000 }, linux)),
    {
      option: "TCP_KEEPINTVL",
      restored: false,
      message: /restoring the options changed before it failed too$/,
    },
  );
});

test("writeOptions() fails without a restore when the first write fails", () => {
  const sys = recording(memorySocket(FD, defaults()), { at: [1], errno: 95 });
  throws(() => writeOptions(sys, linux, FD, [7200, 75, 9, 0, 0], planWrites({ count: 3 }, linux)), {
    code: "EOPNOTSUPP",
    restored: undefined,
    message: "EOPNOTSUPP: not a TCP socket (setsockopt TCP_KEEPCNT fd 7)",
  });
  equal(sys.calls.length, 1);
});
