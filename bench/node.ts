// node --disable-warning=ExperimentalWarning bench/node.ts : the Node 26 side of the benchmarks, each printed as a
// ratio of its baseline measured in the same run. Targets: all options on a socket <= 1.3x the same calls bare
// through node:ffi; net-keepalive setting idle, interval, count and user timeout at least 2x slower than
// setKeepalive; Node's own socket.setKeepAlive(true, idle, interval, count) at most 2x faster.
import ffi from "node:ffi";
import type net from "node:net";
import NetKeepAlive from "net-keepalive";
import { setKeepalive } from "../mod.ts";
import { group } from "./_group.ts";
import { loopbackServer } from "./_loopback.ts";

// The fastest bare form node:ffi has: buffers passed as their addresses, which it takes faster than typed arrays.
const { functions: libc } = ffi.dlopen("libc.so.6", {
  getsockopt: { arguments: ["i32", "i32", "i32", "u64", "u64"], return: "i32" },
  setsockopt: { arguments: ["i32", "i32", "i32", "u64", "u32"], return: "i32" },
});
const value = new Int32Array(1);
const length = new Uint32Array(1);
const valueAt = ffi.getRawPointer(value);
const lengthAt = ffi.getRawPointer(length);
const OPTIONS = [[6, 4], [6, 5], [6, 6], [6, 18], [1, 9]];

/** Refuses to time a call that does not write: two calls in a row must leave different interval and count. */
function writesEveryTime(name: string, call: () => unknown): void {
  const held = () =>
    [5, 6].map((option) => (length[0] = 4, libc.getsockopt(fd, 6, option, valueAt, lengthAt), value[0])).join("/");
  call();
  const first = held();
  call();
  if (held() === first) throw new Error(`${name} wrote nothing the second time (${first}): it would time no work`);
}

const server = await loopbackServer();
const socket = await server.connect();
const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
let flip = 0;
const all = () =>
  flip++ % 2
    ? { idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 9000 }
    : { idleMs: 6000, intervalMs: 3000, count: 5, userTimeoutMs: 8000 };

await group("all options on a node:net socket", "<= 1.3x", [
  ["bare through node:ffi: 5 getsockopt + 5 setsockopt", () => {
    const values = flip++ % 2 ? [5, 2, 4, 9000, 1] : [6, 3, 5, 8000, 1];
    for (const [level, option] of OPTIONS) (length[0] = 4, libc.getsockopt(fd, level, option, valueAt, lengthAt));
    OPTIONS.forEach(([level, option], i) => (value[0] = values[i], libc.setsockopt(fd, level, option, valueAt, 4)));
  }],
  ["setKeepalive(socket, all options)", () => setKeepalive(socket, all())],
]);

const netKeepalive = () => {
  const odd = flip++ % 2;
  socket.setKeepAlive(true, odd ? 5000 : 6000);
  NetKeepAlive.setKeepAliveInterval(socket, odd ? 2000 : 3000);
  NetKeepAlive.setKeepAliveProbes(socket, odd ? 4 : 5);
  NetKeepAlive.setUserTimeout(socket, odd ? 9000 : 8000);
};
writesEveryTime("setKeepalive", () => setKeepalive(socket, all()));
writesEveryTime("net-keepalive", netKeepalive);
await group("idle, interval, count and user timeout, against net-keepalive", "net-keepalive >= 2x", [
  ["setKeepalive(socket, all options)", () => setKeepalive(socket, all())],
  ["net-keepalive: setKeepAlive + 3 of its setters", netKeepalive],
]);

// Node's interval is in milliseconds too: given in seconds, it is 0 s, and libuv gives up after SO_KEEPALIVE (one
// system call, not four). Values alternate, since node:net skips a call that repeats the last one.
const nodeOwn = () => {
  const odd = flip++ % 2;
  (socket.setKeepAlive as (...args: unknown[]) => net.Socket)(true, odd ? 5000 : 6000, odd ? 2000 : 3000, odd ? 4 : 5);
};
writesEveryTime("Node's own setKeepAlive", nodeOwn);
await group("idle, interval and count, against Node's own", "<= 2x; this one reads back too", [
  ["Node: socket.setKeepAlive(true, idle, interval, count)", nodeOwn],
  ["setKeepalive(socket, { idleMs, intervalMs, count })", () => {
    const odd = flip++ % 2;
    setKeepalive(socket, { idleMs: odd ? 5000 : 6000, intervalMs: odd ? 2000 : 3000, count: odd ? 4 : 5 });
  }],
]);

socket.destroy();
server.close();
