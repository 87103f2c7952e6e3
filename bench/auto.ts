// deno run -A bench/auto.ts | bun bench/auto.ts | node --disable-warning=ExperimentalWarning bench/auto.ts :
// autoKeepalive with 10,000 sockets open, under the runtime that runs it, measured in one run. Each figure is printed
// beside its target:
// - the first minute from start, 10 s at a time: no timer later than in the steady state (no sweep at start holds the
//   event loop: the first one comes on the timer, in slices);
// - CPU of auto mode at its defaults: < 1% of one core, beside the same process without it;
// - the largest lateness of a 10 ms timer while sweeps run (no sweep may hold the event loop > 2 ms), beside idle's;
// - how long a new socket made out of JavaScript's sight waits to be configured (1,000 of them): worst <= 2 s,
//   for a new descriptor and for one closed and taken again at once by a new socket;
// - under Node and Deno, a node:net client configured in the turn of its 'connect', with no sweep;
// - a sweep by hand that finds nothing new (a full walk): <= 15 ms, and beside the bare listing and one getsockopt
//   per descriptor through the same binding;
// - and what is not the sweeps': 10,000 connected loopback sockets given one idle time at once have their probes fall
//   due together, and loopback's backlog (net.core.netdev_max_backlog) drops most of them and their answers; the
//   event loop waits on the kernel, and connections to live peers are aborted (ETIMEDOUT).
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { autoKeepalive, getKeepalive } from "../mod.ts";
import { syscalls } from "../ffi/mod.ts";
import { planWrites } from "../options/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import { allListed } from "../syscalls/mod.ts";
import { startSweeps } from "../sweep/mod.ts";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const SOCKETS = 10_000;
const NEW_SOCKETS = 1_000;
const OPTIONS = { idleMs: 10_000, intervalMs: 2_000, count: 3 };
// Linux's numbers: this benchmark runs on Linux.
const [AF_INET, SOCK_STREAM, SOCK_CLOEXEC, SOL_SOCKET, SO_KEEPALIVE, SO_COOKIE] = [2, 1, 0o2000000, 1, 9, 57];
const sys = syscalls();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fixed = (ms: number) => ms.toFixed(ms < 10 ? 2 : 0);

/** The process's CPU over `ms`, in percent of one core, and how late a 10 ms timer fired each time, in ms. */
async function measureWindow(ms: number): Promise<{ cpuPercent: number; lateMs: number[] }> {
  const before = process.cpuUsage();
  const start = performance.now();
  const lateMs: number[] = [];
  while (performance.now() - start < ms) {
    const asked = performance.now();
    await sleep(10);
    lateMs.push(performance.now() - asked - 10);
  }
  const used = process.cpuUsage(before);
  return { cpuPercent: (used.user + used.system) / 10 / (performance.now() - start), lateMs };
}

/** The largest of some times and their 99th percentile, as text. */
function spread(ms: number[], largest = "largest"): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `${largest} ${fixed(sorted.at(-1)!)} ms, p99 ${fixed(sorted[Math.floor(sorted.length * 0.99)])} ms`;
}

/**
 * How long sockets made out of JavaScript's sight (a bare socket(2), as a native driver makes one) wait to be
 * configured: one every 3 ms, all of them looked at every 10 ms. `make` returns the new socket's descriptor.
 */
async function configureDelays(make: (i: number) => number): Promise<{ waits: number[]; fds: number[] }> {
  const waits: number[] = [];
  const fds: number[] = [];
  const pending = new Map<number, number>();
  const start = performance.now();
  while (fds.length < NEW_SOCKETS || pending.size > 0) {
    while (fds.length < Math.min(NEW_SOCKETS, (performance.now() - start) / 3)) {
      const fd = make(fds.length);
      pending.set(fd, performance.now());
      fds.push(fd);
    }
    for (const [fd, at] of pending) {
      if (sys.getsockoptInt(fd, SOL_SOCKET, SO_KEEPALIVE) === 1) {
        waits.push(performance.now() - at);
        pending.delete(fd);
      }
    }
    await sleep(10);
  }
  return { waits, fds };
}

function bareSocket(): number {
  const fd = sys.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
  if (fd < 0) throw new Error(`socket() failed: errno ${-fd}`);
  return fd;
}

function report(figure: string, measured: string, target: string): void {
  console.log(`  ${figure.padEnd(64)} ${measured.padEnd(34)} target: ${target}`);
}

console.log(`\nautoKeepalive under ${runtime}, ${SOCKETS.toLocaleString("en")} sockets open`);
const servers: net.Server[] = [];
while (servers.length < SOCKETS) {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
}

// 1. CPU and the loop's lateness: the process alone, then with auto mode at its defaults for its first minute, each
// 10 s of it (the first sweep, on the timer at once, and the read-backs of the 10,000 sockets new to it, come in it);
// its last 10 s as the steady state; then with sweeps back to back, their slices all the loop waits on.
const idle = await measureWindow(10_000);
const auto = autoKeepalive(OPTIONS);
const minute: Awaited<ReturnType<typeof measureWindow>>[] = [];
for (let window = 0; window < 6; window++) minute.push(await measureWindow(10_000));
const swept = minute.at(-1)!;
report(
  "the first minute from start: the largest lateness of each 10 s",
  minute.map(({ lateMs }) => fixed(Math.max(...lateMs))).join(" / ") + " ms",
  `each within the steady state's and the idle process's (${fixed(Math.max(...idle.lateMs))} ms)`,
);
report(
  "auto mode, defaults: CPU, beyond the idle process's",
  `${(swept.cpuPercent - idle.cpuPercent).toFixed(2)}% of one core`,
  `< 1% (idle ${idle.cpuPercent.toFixed(2)}%, with sweeps ${swept.cpuPercent.toFixed(2)}%)`,
);
report(
  "lateness of a 10 ms timer, idle process",
  spread(idle.lateMs),
  "(the machine's own)",
);
report(
  "... while sweeps run at their defaults",
  spread(swept.lateMs),
  "no sweep holds the loop > 2 ms",
);
auto.stop();
// The same sweeps as autoKeepalive's, on a clock that times each slice they run.
const sliceMs: number[] = [];
const timedClock = {
  now: () => performance.now(),
  after(ms: number, run: () => void) {
    const timer = setTimeout(() => {
      const start = performance.now();
      run();
      sliceMs.push(performance.now() - start);
    }, ms);
    return () => clearTimeout(timer);
  },
};
const linux = platformFor("linux");
const pace = { everyMs: 10, cpuPercent: 100 };
const backToBack = startSweeps(sys, linux, planWrites(OPTIONS, linux), pace, timedClock, () => () => {});
await sleep(1_000);
sliceMs.length = 0;
const busy = await measureWindow(5_000);
backToBack.stop();
report(
  "... while sweeps run back to back (everyMs 10, cpuPercent 100)",
  spread(busy.lateMs),
  `no sweep holds the loop > 2 ms (CPU ${busy.cpuPercent.toFixed(0)}%)`,
);
report(
  `... their ${sliceMs.length} slices, each one turn of the loop`,
  spread(sliceMs, "longest"),
  "<= 2 ms",
);

// 2. New sockets out of JavaScript's sight: new descriptors, then each closed and its number taken again at once.
const running = autoKeepalive(OPTIONS);
await sleep(3_500); // past the read-backs of sockets new to these sweeps
const fresh = await configureDelays(bareSocket);
report(
  `new socket configured after (${NEW_SOCKETS} new descriptors)`,
  `median ${fixed(median(fresh.waits))} ms, worst ${fixed(Math.max(...fresh.waits))} ms`,
  "worst <= 2 s",
);
let reusedNumbers = 0;
const reused = await configureDelays((i) => {
  sys.close(fresh.fds[i]);
  const fd = bareSocket();
  if (fd === fresh.fds[i]) reusedNumbers++;
  return fd;
});
report(
  `... closed, and its descriptor taken by a new socket at once (${reusedNumbers} reused)`,
  `median ${fixed(median(reused.waits))} ms, worst ${fixed(Math.max(...reused.waits))} ms`,
  "worst <= 2 s",
);
for (const fd of reused.fds) sys.close(fd);
running.stop();

// 3. node:net clients, which Node and Deno announce: configured in the turn of their 'connect', with no sweep.
if (runtime !== "bun") {
  const byHand = autoKeepalive(OPTIONS, { everyMs: 2 ** 31 - 1 }); // no sweep on the timer
  const [server] = servers;
  server.on("connection", (socket) => socket.on("error", () => {}));
  const port = (server.address() as net.AddressInfo).port;
  const delays: number[] = [];
  let sameTurn = 0;
  const clients: net.Socket[] = [];
  for (let i = 0; i < NEW_SOCKETS; i++) {
    const client = net.connect(port, "127.0.0.1");
    clients.push(client);
    await new Promise<void>((resolve) =>
      client.once("connect", () => {
        const connected = performance.now();
        // The check phase of the same turn of the loop: before any timer, any other I/O.
        setImmediate(() => {
          const fd = (client as unknown as { _handle?: { fd?: number } })._handle?.fd;
          const enabled = fd !== undefined && fd >= 0
            ? sys.getsockoptInt(fd, SOL_SOCKET, SO_KEEPALIVE) === 1
            : getKeepalive(client).enabled;
          if (enabled) sameTurn++;
          delays.push(performance.now() - connected);
          resolve();
        });
      })
    );
  }
  report(
    `node:net client configured in the turn of its 'connect' (${NEW_SOCKETS})`,
    `${sameTurn}/${NEW_SOCKETS}, by ${fixed(median(delays))} ms median, ${fixed(Math.max(...delays))} worst`,
    `all, with no sweep`,
  );
  for (const client of clients) client.destroy();
  byHand.stop();
}

// 4. A sweep by hand finding nothing new (every socket looked at again), against the bare listing and one
// getsockopt(SO_COOKIE) per descriptor, through the same binding.
const cookie = new Uint8Array(8);
const bare = () => {
  for (const fd of allListed(sys.listing())) sys.getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie);
};
const byHand = autoKeepalive(OPTIONS, { everyMs: 2 ** 31 - 1 });
const bareMs: number[] = [];
const sweepMs: number[] = [];
for (let round = 0; round < 21; round++) {
  let start = performance.now();
  bare();
  bareMs.push(performance.now() - start);
  start = performance.now();
  const result = byHand.sweep();
  sweepMs.push(performance.now() - start);
  if (result.configured !== 0) throw new Error(`a sweep found something new: ${JSON.stringify(result)}`);
}
byHand.stop();
report(
  "a sweep by hand finding nothing new (a full walk)",
  `${fixed(median(sweepMs))} ms, ${(median(sweepMs) / median(bareMs)).toFixed(2)}x the bare calls`,
  `<= 15 ms (bare listing + getsockopt each: ${fixed(median(bareMs))} ms)`,
);

for (const server of servers) server.close();

// 5. The kernel's own: 5,000 connected pairs set alike at once. Their probes fall due together (the timer wheel
// keeps a 10 s timer to about half a second), loopback's backlog drops what it cannot hold, and probes unanswered
// are sent again at the interval, count times: then the connection is aborted, its peer alive. Not the sweeps':
// they are stopped before the probes are due.
const backlogDrops = () =>
  readFileSync("/proc/net/softnet_stat", "utf8").trim().split("\n").reduce(
    (sum, line) => sum + parseInt(line.split(" ")[1], 16),
    0,
  );
const tcpExt = (name: string) => {
  const [names, values] = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((line) =>
    line.startsWith("TcpExt:")
  );
  return Number(values.split(" ")[names.split(" ").indexOf(name)]);
};
const pairServer = net.createServer((socket) => (pairs.push(socket), socket.on("error", () => {})));
const pairs: net.Socket[] = [];
await new Promise<void>((resolve) => pairServer.listen(0, "127.0.0.1", resolve));
for (let i = 0; i < SOCKETS / 2; i++) {
  const client = net.connect((pairServer.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  pairs.push(client);
  await new Promise((resolve) => client.once("connect", resolve));
}
const [drops, aborted, probes] = [backlogDrops(), tcpExt("TCPAbortOnTimeout"), tcpExt("TCPKeepAlive")];
const once_ = autoKeepalive(OPTIONS, { everyMs: 2 ** 31 - 1 });
once_.sweep();
once_.stop();
const burst = await measureWindow(25_000);
report(
  `${SOCKETS.toLocaleString("en")} loopback sockets set at once, idle 10 s: the 25 s after`,
  `${spread(burst.lateMs)}`,
  `(the kernel's: ${tcpExt("TCPKeepAlive") - probes} probes, ${backlogDrops() - drops} dropped by the backlog, ${
    tcpExt("TCPAbortOnTimeout") - aborted
  } live connections aborted)`,
);
for (const socket of pairs) socket.destroy();
pairServer.close();
