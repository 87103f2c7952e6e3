// deno run -A bench/auto.ts : autoKeepalive, measured in one run. Targets: a sweep that finds nothing new, with
// 10,000 sockets open, at most 1.5x listing the descriptors plus one bare getsockopt per descriptor; auto mode at
// 10,000 sockets and the default period under 1% of one core; how long a new socket waits to be configured
// (median and worst over 1,000 connections).
import process from "node:process";
import { autoKeepalive } from "../mod.ts";

const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  syscall: { parameters: ["i64", "i32", "buffer", "u64"], result: "i64" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
}).symbols;
const PROC_SELF_FD = new TextEncoder().encode("/proc/self/fd\0");
const O_CLOEXEC = 0o2000000;
const SYS_GETDENTS64 = 217n; // x86-64
const SOL_SOCKET = 1;
const SO_KEEPALIVE = 9;
const SO_COOKIE = 57;
const entries = new Uint8Array(32 * 1024);
const view = new DataView(entries.buffer);
const cookie = new BigUint64Array(1);
const int = new Int32Array(1);
const length = new Uint32Array(1);

/** The bare baseline: list /proc/self/fd with getdents64, then one getsockopt(SO_COOKIE) per descriptor. */
function bareListAndGetsockopt(): number {
  const dir = libc.open(PROC_SELF_FD, O_CLOEXEC);
  let count = 0;
  for (let n; (n = Number(libc.syscall(SYS_GETDENTS64, dir, entries, BigInt(entries.byteLength)))) > 0;) {
    for (let at = 0; at < n; at += view.getUint16(at + 16, true)) {
      let fd = 0;
      for (let i = at + 19, c; (c = entries[i]) !== 0; i++) fd = c === 0x2e ? -1 : fd * 10 + c - 0x30;
      if (fd < 0 || fd === dir) continue;
      length[0] = 8;
      libc.getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, length);
      count++;
    }
  }
  libc.close(dir);
  return count;
}

/** A raw TCP socket connecting to 127.0.0.1:port, as any library might open one; returns its descriptor. */
function rawConnect(port: number): number {
  const fd = libc.socket(2, 1 | 0o4000, 0); // AF_INET, SOCK_STREAM | SOCK_NONBLOCK
  const sockaddr = new Uint8Array(16);
  new DataView(sockaddr.buffer).setUint16(0, 2, true);
  new DataView(sockaddr.buffer).setUint16(2, port);
  sockaddr.set([127, 0, 0, 1], 4);
  libc.connect(fd, sockaddr, 16); // EINPROGRESS: the sweep configures connecting sockets too
  return fd;
}

function keepaliveOn(fd: number): boolean {
  length[0] = 4;
  libc.getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, int, length);
  return int[0] !== 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OPTIONS = { idleMs: 10_000, intervalMs: 2_000, count: 3 };

// 1. How long a new socket waits, at the default period: 1,000 connections opened 3 ms apart, each polled every 1 ms.
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const accepted: Deno.Conn[] = [];
(async () => {
  for await (const conn of listener) accepted.push(conn);
})();
const waits: number[] = [];
{
  using _auto = autoKeepalive(OPTIONS);
  const pending = new Map<number, number>();
  const opened: number[] = [];
  let toOpen = 1_000;
  let lastOpen = 0;
  while (toOpen > 0 || pending.size > 0) {
    const now = performance.now();
    if (toOpen > 0 && now - lastOpen >= 3) {
      const fd = rawConnect(listener.addr.port);
      pending.set(fd, performance.now());
      opened.push(fd);
      lastOpen = now;
      toOpen--;
    }
    for (const [fd, at] of pending) {
      if (keepaliveOn(fd)) {
        waits.push(performance.now() - at);
        pending.delete(fd);
      }
    }
    await sleep(1);
  }
  for (const fd of opened) libc.close(fd);
}
waits.sort((a, b) => a - b);
console.log(
  `new socket configured after: median ${median(waits).toFixed(0)} ms, worst ${waits.at(-1)!.toFixed(0)} ms ` +
    `(${waits.length} connections, everyMs 1000)`,
);

// 2. A sweep that finds nothing new, with 10,000 sockets open, against the bare listing plus one getsockopt each.
const open: Deno.Listener[] = [];
while (open.length < 10_000) open.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
const auto = autoKeepalive(OPTIONS, { everyMs: 2 ** 31 - 1 }); // its first sweep configures all of them
const bare: number[] = [];
const swept: number[] = [];
for (let round = 0; round < 21; round++) {
  let start = performance.now();
  bareListAndGetsockopt();
  bare.push(performance.now() - start);
  start = performance.now();
  const result = auto.sweep();
  swept.push(performance.now() - start);
  if (result.configured !== 0) throw new Error(`a sweep found something new: ${JSON.stringify(result)}`);
}
auto.stop();
const sweepMs = median(swept);
console.log(
  `sweep finding nothing new, 10,000 sockets: ${sweepMs.toFixed(2)} ms; bare listing + getsockopt each: ` +
    `${median(bare).toFixed(2)} ms; ratio ${(sweepMs / median(bare)).toFixed(2)}x (target <= 1.5x)`,
);

// 3. Auto mode at the default period with 10,000 sockets: its CPU beside the same process idle, 10 s each.
async function cpuShare(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const start = performance.now();
  await sleep(ms);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / (performance.now() - start);
}
const idle = await cpuShare(10_000);
const running = autoKeepalive(OPTIONS);
await sleep(3_500); // past the two read-backs each socket new to these sweeps gets: the steady state
const withAuto = await cpuShare(10_000);
running.stop();
console.log(
  `auto mode, 10,000 sockets, every 1000 ms: ${(100 * (withAuto - idle)).toFixed(2)}% of one core ` +
    `(idle process ${(100 * idle).toFixed(2)}%, with sweeps ${(100 * withAuto).toFixed(2)}%; target < 1%; ` +
    `the bare listing + getsockopt each, once a second, is ${(median(bare) / 10).toFixed(2)}% by itself)`,
);

for (const socket of open) socket.close();
for (const conn of accepted) conn.close();
listener.close();
