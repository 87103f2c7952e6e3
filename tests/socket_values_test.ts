// socket/_values.ts: a table as calls, through a recording binding around sockets in memory; restoring on a failure
// is tested here, once, for every table (the other OSes' tables in platforms_test.ts only check their numbers).
import { deepEqual, equal, throws } from "node:assert/strict";
import { planWrites } from "../options/mod.ts";
import { readValues, writeValues } from "../socket/mod.ts";
import { linux } from "../platforms/_linux.ts";
import { memorySocket, memorySockets, recording } from "./_recording.ts";
import { test } from "./_harness.ts";

const FD = 7;
// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, SO_KEEPALIVE as Linux starts them.
const defaults = () => ({ "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:9": 0 });
const DEFAULT_VALUES = [7200, 75, 9, 0, 0];

test("readValues() makes one getsockopt per option, TCP level first", () => {
  const sys = recording(memorySocket(FD, defaults()));
  deepEqual(readValues(sys, linux, FD), DEFAULT_VALUES);
  deepEqual(sys.calls, [
    ["getsockopt", FD, 6, 4],
    ["getsockopt", FD, 6, 5],
    ["getsockopt", FD, 6, 6],
    ["getsockopt", FD, 6, 18],
    ["getsockopt", FD, 1, 9],
  ]);
});

test("readValues() reads a boolean as 0 or 1, whatever non-zero the kernel returns", () => {
  deepEqual(readValues(memorySocket(FD, { ...defaults(), "1:9": 8 }), linux, FD), [7200, 75, 9, 0, 1]);
});

test("writeValues() writes only what changes, SO_KEEPALIVE last", () => {
  const socket = memorySocket(FD, defaults());
  const sys = recording(socket);
  const [after] = writeValues(
    sys,
    linux,
    [{ fd: FD, before: DEFAULT_VALUES }],
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

test("writeValues() restores what it changed when the third write fails", () => {
  const socket = memorySocket(FD, defaults());
  const sys = recording(socket, { at: [3] });
  const writes = planWrites({ idleMs: 1000, intervalMs: 1000, count: 2, userTimeoutMs: 3000 }, linux);
  throws(() => writeValues(sys, linux, [{ fd: FD, before: DEFAULT_VALUES }], writes), {
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

test("writeValues() says so when restoring fails too, and still tries every earlier write", () => {
  const sys = recording(memorySocket(FD, defaults()), { at: [3, 4] });
  throws(
    () =>
      writeValues(
        sys,
        linux,
        [{ fd: FD, before: DEFAULT_VALUES }],
        planWrites({ idleMs: 1000, intervalMs: 1000, count: 2 }, linux),
      ),
    {
      option: "TCP_KEEPCNT",
      restored: false,
      message: /restoring the options changed before it failed too$/,
    },
  );
  deepEqual(sys.calls.slice(3), [["setsockopt", FD, 6, 5, 75], ["setsockopt", FD, 6, 4, 7200]]);
});

test("writeValues() fails without a restore when the first write fails", () => {
  const sys = recording(memorySocket(FD, defaults()), { at: [1], errno: 95 });
  throws(() => writeValues(sys, linux, [{ fd: FD, before: DEFAULT_VALUES }], planWrites({ count: 3 }, linux)), {
    code: "EOPNOTSUPP",
    restored: undefined,
    message: "EOPNOTSUPP: not a TCP socket (setsockopt TCP_KEEPCNT fd 7)",
  });
  equal(sys.calls.length, 1);
});

/** Two sockets in memory, 7 and 8, behind one binding. */
const twoSockets = () => memorySockets({ 7: defaults(), 8: defaults() });

test("writeValues() on several sockets (listeners sharing an address) puts every earlier one back on a failure", () => {
  const inner = twoSockets();
  const sys = recording(inner, { at: [3] });
  const sockets = [7, 8].map((fd) => ({ fd, before: DEFAULT_VALUES }));
  throws(() => writeValues(sys, linux, sockets, planWrites({ idleMs: 4000 }, linux)), {
    code: "EINVAL",
    fd: 8,
    option: "TCP_KEEPIDLE",
    restored: true,
  });
  deepEqual(sys.calls, [
    ["setsockopt", 7, 6, 4, 4],
    ["setsockopt", 7, 1, 9, 1],
    ["setsockopt", 8, 6, 4, 4],
    ["setsockopt", 7, 1, 9, 0],
    ["setsockopt", 7, 6, 4, 7200],
  ]);
  deepEqual(inner.values, { 7: defaults(), 8: defaults() });
});

test("writeValues() on several sockets writes each and returns what each holds", () => {
  const inner = twoSockets();
  const afters = writeValues(
    inner,
    linux,
    [7, 8].map((fd) => ({ fd, before: DEFAULT_VALUES })),
    planWrites({ count: 4 }, linux),
  );
  deepEqual(afters, [[7200, 75, 4, 0, 1], [7200, 75, 4, 0, 1]]);
  deepEqual(inner.values[8], { ...defaults(), "6:6": 4, "1:9": 1 });
});
