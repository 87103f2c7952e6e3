// bun bench/bun.ts : the Bun side of the benchmarks, each printed as a ratio of
// its baseline measured in the same run. Targets: all options on a
// descriptor <= 1.3x its bare calls; setKeepalive(socket, { idleMs }) <= 2x Bun's
// own socket.setKeepAlive(true, ms); the first call on a fresh node:net connection
// <= 0.2 ms; accepting on a configured listener within 5% of an unconfigured one; getTcpInfo(fd) <= 1.3x a bare
// getsockopt(TCP_INFO).
import { dlopen, FFIType } from "bun:ffi";
import net from "node:net";
import { getTcpInfo, setKeepalive } from "../mod.ts";
import { group } from "./_group.ts";
import { loopbackServer } from "./_loopback.ts";

const { i32, u32, ptr } = FFIType;
const libc = dlopen("libc.so.6", {
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  getsockname: { args: [i32, ptr, ptr], returns: i32 },
  getpeername: { args: [i32, ptr, ptr], returns: i32 },
}).symbols;
const value = new Int32Array(1);
const length = new Uint32Array(1);
const address = new Uint8Array(128);
const OPTIONS = [[6, 4], [6, 5], [6, 6], [6, 18], [1, 9]];

const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open() {} } });
const socket = await Bun.connect({ hostname: "127.0.0.1", port: listener.port, socket: { data() {} } });
const fd = socket.fd;
let flip = 0;

const tcpInfo = new Uint8Array(104);
await group("getTcpInfo on a descriptor", "<= 1.3x", [
  ["bare: getsockopt(TCP_INFO), 104 bytes", () => (length[0] = 104, libc.getsockopt(fd, 6, 11, tcpInfo, length))],
  ["getTcpInfo(fd)", () => getTcpInfo(fd)],
]);

await group("all options on a descriptor", "<= 1.3x", [
  ["bare: 5 getsockopt + 5 setsockopt", () => {
    const values = flip++ % 2 ? [5, 2, 4, 9000, 1] : [6, 3, 5, 8000, 1];
    for (const [level, option] of OPTIONS) (length[0] = 4, libc.getsockopt(fd, level, option, value, length));
    OPTIONS.forEach(([level, option], i) => (value[0] = values[i], libc.setsockopt(fd, level, option, value, 4)));
  }],
  [
    "setKeepalive(fd, all options)",
    () =>
      setKeepalive(
        fd,
        flip++ % 2
          ? { idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 9000 }
          : { idleMs: 6000, intervalMs: 3000, count: 5, userTimeoutMs: 8000 },
      ),
  ],
]);

/** Refuses to time a call that does not write: two calls in a row must leave different idle times. */
function writesEveryTime(name: string, call: () => unknown): void {
  const idle = () => (length[0] = 4, libc.getsockopt(fd, 6, 4, value, length), value[0]);
  call();
  const first = idle();
  call();
  if (idle() === first) throw new Error(`${name} wrote nothing the second time: it would time no work`);
}

// Bun's own call never skips a repeat (it makes its 4 setsockopt each time), but alternate all the same.
const bunOwn = () => socket.setKeepAlive(true, flip++ % 2 ? 5000 : 6000);
writesEveryTime("Bun's own setKeepAlive", bunOwn);
await group("a Bun socket's idle time", "<= 2x", [
  ["Bun: socket.setKeepAlive(true, ms)", bunOwn],
  ["setKeepalive(socket, { idleMs })", () => setKeepalive(socket, { idleMs: flip++ % 2 ? 5000 : 6000 })],
]);

// node:net sockets are found by address under Bun too; then remembered.
const server = await loopbackServer();
const nodeSocket = await server.connect();
await group("a node:net socket, again and again", "<= 1.3x", [
  ["bare: 2 checks + 5 getsockopt + 1 setsockopt", () => {
    length[0] = 128;
    libc.getsockname(fd, address, length);
    length[0] = 128;
    libc.getpeername(fd, address, length);
    for (const [level, option] of OPTIONS) (length[0] = 4, libc.getsockopt(fd, level, option, value, length));
    value[0] = flip++ % 2 ? 5 : 6;
    libc.setsockopt(fd, 6, 4, value, 4);
  }],
  ["setKeepalive(node:net socket, { idleMs })", () => setKeepalive(nodeSocket, { idleMs: flip++ % 2 ? 5000 : 6000 })],
]);

const open: net.Server[] = [];
for (const sockets of [100, 1_000, 10_000]) {
  while (open.length < sockets) {
    const extra = net.createServer();
    await new Promise<void>((resolve) => extra.listen(0, "127.0.0.1", resolve));
    open.push(extra);
  }
  const firstCalls: number[] = [];
  for (let i = 0; i < 200; i++) {
    const fresh = await server.connect();
    const start = Bun.nanoseconds();
    setKeepalive(fresh, { idleMs: 5000 });
    firstCalls.push(Bun.nanoseconds() - start);
    fresh.destroy();
  }
  firstCalls.sort((a, b) => a - b);
  console.log(
    `\nfirst setKeepalive on a fresh node:net connection, ${sockets} sockets open (target: <= 0.2 ms):` +
      ` median ${(firstCalls[100] / 1e6).toFixed(3)} ms, 95th percentile ${(firstCalls[190] / 1e6).toFixed(3)} ms`,
  );
}
for (const extra of open) extra.close();

const plain = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open: (s) => void s.end() } });
const configured = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open: (s) => void s.end() } });
setKeepalive(configured, { idleMs: 5000, intervalMs: 1000, count: 3 });
const acceptOne = (port: number) =>
  new Promise<void>((resolve) => {
    Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, close: () => resolve() } });
  });
await group(
  "servers: connect and accept",
  "within 5%",
  [
    ["listener not configured", () => acceptOne(plain.port)],
    ["listener configured once", () => acceptOne(configured.port)],
  ],
  21,
  200,
);

socket.end();
listener.stop(true);
plain.stop(true);
configured.stop(true);
nodeSocket.destroy();
server.close();
