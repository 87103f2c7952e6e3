// autoKeepalive (mod.ts, _auto.ts) in this process: which sockets a sweep configures and which it leaves, read back
// from outside the module; and its timer.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { startSweeps } from "../_auto.ts";
import { planWrites } from "../_options.ts";
import type { Syscalls } from "../_syscalls.ts";
import { autoKeepalive, setKeepalive } from "../mod.ts";
import { linux } from "../platforms/_linux.ts";
import { syscalls } from "../ffi/mod.ts";
import { kernelValuesAt, procFds, procUnixFds } from "./_kernel.ts";
import { memorySocket } from "./_recording.ts";
import { runtime, test } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OPTIONS = { idleMs: 3000, intervalMs: 2000, count: 4, userTimeoutMs: 9000 };
const CONFIGURED = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 3, TCP_KEEPINTVL: 2, TCP_KEEPCNT: 4, TCP_USER_TIMEOUT: 9000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node:net server and a client of it, on `host`; each end's descriptor found through /proc. */
async function connection(host = "127.0.0.1") {
  const server = net.createServer((socket) => socket.on("data", () => {}));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, host);
  await new Promise((resolve) => client.once("connect", resolve));
  const table = host.includes(":") ? "tcp6" : "tcp";
  return {
    server,
    client,
    listenerFd: () => procFds(table, port, "0A")[0],
    clientFd: () => procFds(table, client.localPort!, "01")[0],
    acceptedFds: () => procFds(table, port, "01"),
    close: () => new Promise((resolve) => (client.destroy(), server.close(resolve))),
  };
}

test("autoKeepalive() configures every TCP socket there is, IPv4 and IPv6, listening, connected and accepted", async () => {
  const [v4, v6] = [await connection(), await connection("::1")];
  const auto = autoKeepalive(OPTIONS);
  try {
    for (const c of [v4, v6]) {
      await sleep(50); // the accepting side has its socket
      for (const fd of [c.listenerFd(), c.clientFd(), ...c.acceptedFds()]) deepEqual(kernelValuesAt(fd), CONFIGURED);
    }
    const again = auto.sweep();
    equal(again.configured, 0);
    ok(again.unchanged >= 6, JSON.stringify(again));
  } finally {
    auto.stop();
    await v4.close();
    await v6.close();
  }
});

test("the runtime's own setKeepAlive at connect, just after a sweep, is put right by the next two sweeps", async () => {
  const c = await connection();
  const auto = autoKeepalive(OPTIONS, { everyMs: 2 ** 31 - 1 }); // sweeps by hand only
  try {
    deepEqual(kernelValuesAt(c.clientFd()), CONFIGURED);
    // As Node applies a setKeepAlive asked for before the connection completed (undici does), and Bun its fetch's.
    // (A different delay each time: node:net skips a setKeepAlive that repeats its last one.)
    const overwrite = (seconds: number) => c.client.setKeepAlive(true, seconds * 1000);
    overwrite(60);
    equal(kernelValuesAt(c.clientFd()).TCP_KEEPIDLE, 60);
    ok(auto.sweep().configured >= 1);
    deepEqual(kernelValuesAt(c.clientFd()), CONFIGURED);
    overwrite(61);
    ok(auto.sweep().configured >= 1);
    deepEqual(kernelValuesAt(c.clientFd()), CONFIGURED);
    // Then it is settled: a change made after that is the application's own, and costs no more reads.
    overwrite(62);
    equal(auto.sweep().configured, 0);
    equal(kernelValuesAt(c.clientFd()).TCP_KEEPIDLE, 62);
  } finally {
    auto.stop();
    await c.close();
  }
});

test("autoKeepalive() leaves Unix-domain and UDP sockets alone", async () => {
  const path = `/tmp/tcp-keepalive-${process.pid}-auto.sock`;
  const unix = net.createServer();
  await new Promise<void>((resolve) => unix.listen(path, resolve));
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  const auto = autoKeepalive(OPTIONS);
  try {
    const fds = [...procFds("udp", udp.address().port), ...procUnixFds(path)];
    equal(fds.length, 2);
    const result = auto.sweep();
    equal(result.failed, 0);
    ok(result.skipped >= 2, JSON.stringify(result));
    // SO_KEEPALIVE by its number: still off on both.
    deepEqual(fds.map((fd) => syscalls().getsockoptInt(fd, 1, 9)), [0, 0]);
  } finally {
    auto.stop();
    udp.close();
    await new Promise((resolve) => unix.close(resolve));
  }
});

test("a socket opened later is configured by the timer within everyMs; stop() ends that", async () => {
  const auto = autoKeepalive(OPTIONS, { everyMs: 100 });
  const first = await connection();
  try {
    await sleep(250);
    deepEqual(kernelValuesAt(first.clientFd()), CONFIGURED);
    auto.stop();
    const second = await connection();
    try {
      await sleep(250);
      equal(kernelValuesAt(second.clientFd()).SO_KEEPALIVE, 0, "not configured once stopped");
    } finally {
      await second.close();
    }
  } finally {
    auto.stop();
    await first.close();
  }
});

test("a socket set by setKeepalive, and what its listener accepts, keep their own settings across sweeps", async () => {
  const auto = autoKeepalive(OPTIONS, { everyMs: 50 });
  const c = await connection();
  try {
    setKeepalive(c.client, { idleMs: 7000 });
    setKeepalive(c.server, { count: 7 });
    const late = net.connect((c.server.address() as net.AddressInfo).port, "127.0.0.1");
    await new Promise((resolve) => late.once("connect", resolve));
    await sleep(200);
    equal(kernelValuesAt(c.clientFd()).TCP_KEEPIDLE, 7);
    equal(kernelValuesAt(c.listenerFd()).TCP_KEEPCNT, 7);
    const lateAccepted = procFds("tcp", (c.server.address() as net.AddressInfo).port, "01")
      .map((fd) => kernelValuesAt(fd))
      .filter((values) => values.TCP_KEEPCNT === 7);
    ok(lateAccepted.length >= 1, "the socket accepted after the listener was set inherited its count, and kept it");
    deepEqual(kernelValuesAt(procFds("tcp", late.localPort!, "01")[0]), CONFIGURED, "the late client is swept");
    late.destroy();
  } finally {
    auto.stop();
    await c.close();
  }
});

test("a descriptor setKeepalive set, reused by a new socket, is a new socket to the sweeps", async () => {
  const auto = autoKeepalive(OPTIONS, { everyMs: 50 });
  try {
    const first = await connection();
    const fd = first.clientFd();
    setKeepalive(fd, { idleMs: 7000 });
    await first.close();
    await sleep(100);
    const second = await connection();
    try {
      await sleep(200);
      const fds = [second.clientFd(), ...second.acceptedFds(), second.listenerFd()];
      ok(fds.includes(fd), `the new connection reuses descriptor ${fd}: ${fds}`);
      deepEqual(kernelValuesAt(fd), CONFIGURED);
    } finally {
      await second.close();
    }
  } finally {
    auto.stop();
  }
});

test("autoKeepalive() checks its options and period before it sweeps anything", async () => {
  const c = await connection();
  try {
    throws(() => autoKeepalive({ count: 200 }), { name: "RangeError", message: /^count must be an integer/ });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, { everyMs: 5 }), {
      name: "RangeError",
      message: "everyMs must be an integer from 10 to 2147483647; got 5",
    });
    equal(kernelValuesAt(c.clientFd()).SO_KEEPALIVE, 0);
  } finally {
    await c.close();
  }
});

/** Linux in memory: sockets 5 and 6 are TCP over IPv4, 6 refuses every write. */
function oneSocketRefuses(): Syscalls {
  const sockets = { 5: memorySocket(5, { "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:9": 0, "1:3": 1 }) };
  const six = memorySocket(6, { "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:9": 0, "1:3": 1 });
  const on = (fd: number) => fd === 5 ? sockets[5] : six;
  return {
    ...sockets[5],
    getsockoptInt: (fd, level, option) => on(fd).getsockoptInt(fd, level, option),
    setsockoptInt: (fd, level, option, value) => fd === 6 ? -22 : on(fd).setsockoptInt(fd, level, option, value),
    getsockopt: (fd) => (cookie.setUint32(0, fd, true), 8), // SO_COOKIE: the descriptor, as good as any here
    getsockname: (_fd, into) => (into.set([2, 0, 0x1f, 0x90, 127, 0, 0, 1]), 16),
    descriptors: () => [5, 6],
  };
}
const cookie = new DataView(new ArrayBuffer(8));

test("a failure on one socket never stops a sweep: it is counted, and tried again next time", () => {
  const sys = oneSocketRefuses();
  const sweeper = startSweeps(sys, linux, planWrites(OPTIONS, linux), 1000, () => () => {});
  try {
    deepEqual(sweeper.sweep(), { configured: 0, unchanged: 1, skipped: 0, failed: 1 });
    equal(sys.getsockoptInt(5, 6, 4), 3);
  } finally {
    sweeper.stop();
  }
});

test("the sweeps' timer does not keep an otherwise finished script alive", () => {
  const script = `import { autoKeepalive } from ${JSON.stringify(`${ROOT}mod.ts`)};
    autoKeepalive({ timeoutMs: 30_000 }, { everyMs: 60_000 }); console.log("started");`;
  const args = runtime === "deno"
    ? ["run", "-A", "--ext=ts", "-"]
    : runtime === "bun"
    ? ["-"]
    : ["--disable-warning=ExperimentalWarning", "--input-type=module-typescript", "-"];
  const started = performance.now();
  const { status, stdout, stderr } = spawnSync(process.execPath, args, {
    input: script,
    encoding: "utf8",
    timeout: 20_000,
  });
  equal(status, 0, stderr);
  equal(stdout.trim(), "started");
  ok(performance.now() - started < 10_000, "it did not wait for the 60 s timer");
}, 25_000);
