// sweep/ (_sweeps.ts, _visit.ts) through autoKeepalive, in this process: which sockets a sweep configures and which it leaves (the
// kernel as the record of who chose what), read back from outside the module; one policy per process; its timer.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { startSweeps } from "../sweep/mod.ts";
import { planWrites } from "../options/mod.ts";
import { type Syscalls, wholeListing } from "../syscalls/mod.ts";
import { autoKeepalive, setKeepalive } from "../mod.ts";
import { linux } from "../platforms/_linux.ts";
import { syscalls } from "../ffi/mod.ts";
import { fdOf, kernelValuesAt, procFds, procUnixFds } from "./_kernel.ts";
import { openPair } from "./_net.ts";
import { secondCopy } from "./_copy.ts";
import { memorySockets } from "./_recording.ts";
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
    auto.sweep();
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
    // Then it is settled: a sweep reads it back once in 32, so that a runtime's own setKeepAlive written late (a
    // driver's, minutes after connect) is put right then.
    overwrite(62);
    let sweeps = 1;
    for (; auto.sweep().configured === 0; sweeps++) equal(kernelValuesAt(c.clientFd()).TCP_KEEPIDLE, 62);
    ok(sweeps <= 32, `put right by sweep ${sweeps} after`);
    deepEqual(kernelValuesAt(c.clientFd()), CONFIGURED);
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

// The kernel is the record: what setKeepalive chose (anything but a runtime's or the system's interval and count, or
// a user timeout) stays, whenever it was set and from whichever copy of the module; each is swept by hand here.
const EXPLICIT = { idleMs: 5000, intervalMs: 1000, count: 2 };
const EXPLICIT_VALUES = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 5, TCP_KEEPINTVL: 1, TCP_KEEPCNT: 2, TCP_USER_TIMEOUT: 0 };
const BY_HAND = { everyMs: 2 ** 31 - 1 };

test("a connection set by setKeepalive after a sweep configured it keeps its settings through the read-backs", async () => {
  using pair = await openPair("127.0.0.1");
  using auto = autoKeepalive({ idleMs: 30_000, intervalMs: 5000, count: 4 }, BY_HAND);
  auto.sweep();
  const fd = fdOf(pair.client);
  deepEqual(kernelValuesAt(fd), { ...EXPLICIT_VALUES, TCP_KEEPIDLE: 30, TCP_KEEPINTVL: 5, TCP_KEEPCNT: 4 });
  setKeepalive(pair.client, EXPLICIT);
  auto.sweep(); // the read-backs that put a runtime's own setKeepAlive right
  auto.sweep();
  auto.sweep();
  deepEqual(kernelValuesAt(fd), EXPLICIT_VALUES);
});

test("a listener set after a sweep configured it keeps its settings, and what it accepts afterwards inherits them", async () => {
  using first = await openPair("127.0.0.1");
  using auto = autoKeepalive(OPTIONS, BY_HAND);
  auto.sweep();
  const [listenerFd] = procFds("tcp", first.listenerPort, "0A");
  deepEqual(kernelValuesAt(listenerFd), CONFIGURED);
  setKeepalive(first.listener, { ...EXPLICIT, userTimeoutMs: 7000 });
  auto.sweep();
  const late = net.connect(first.listenerPort, "127.0.0.1");
  await new Promise((resolve) => late.once("connect", resolve));
  // Bun's and Node's listeners accept by themselves; Deno's when asked.
  const acceptedByDeno = runtime === "deno" ? await (first.listener as Deno.Listener).accept() : undefined;
  try {
    await sleep(50); // accepted
    auto.sweep();
    auto.sweep();
    const inherited = { ...EXPLICIT_VALUES, TCP_USER_TIMEOUT: 7000 };
    deepEqual(kernelValuesAt(listenerFd), inherited);
    const acceptedLate = procFds("tcp", first.listenerPort, "01").filter((fd) => fd !== fdOf(first.accepted));
    equal(acceptedLate.length, 1);
    deepEqual(kernelValuesAt(acceptedLate[0]), inherited, "the socket accepted afterwards kept what it inherited");
    deepEqual(kernelValuesAt(procFds("tcp", late.localPort!, "01")[0]), CONFIGURED, "the late client is swept");
  } finally {
    late.destroy();
    acceptedByDeno?.close();
  }
});

test("a socket set by setKeepalive in a Worker, with its own copy of the module, keeps its settings", async () => {
  using pair = await openPair("127.0.0.1");
  using auto = autoKeepalive(OPTIONS, BY_HAND);
  const worker = new Worker(new URL("./_explicit_worker.ts", import.meta.url));
  try {
    auto.sweep();
    const fd = fdOf(pair.client);
    deepEqual(kernelValuesAt(fd), CONFIGURED);
    const done = new Promise((resolve) => worker.once("message", resolve));
    worker.postMessage({ fd, options: EXPLICIT });
    deepEqual(await done, { enabled: true, idleMs: 5000, intervalMs: 1000, count: 2, userTimeoutMs: 9000 });
    auto.sweep();
    auto.sweep();
    deepEqual(kernelValuesAt(fd), { ...EXPLICIT_VALUES, TCP_USER_TIMEOUT: 9000 });
  } finally {
    await worker.terminate();
  }
}, 15_000);

test("a socket set through a second copy of the module, before the sweeps saw it, keeps its settings", async () => {
  const copy = await secondCopy();
  using pair = await openPair("127.0.0.1");
  copy.setKeepalive(pair.client, { userTimeoutMs: 4000 });
  using auto = autoKeepalive(OPTIONS, BY_HAND);
  auto.sweep();
  deepEqual(kernelValuesAt(fdOf(pair.client)), {
    SO_KEEPALIVE: 1,
    TCP_KEEPIDLE: 7200,
    TCP_KEEPINTVL: 75,
    TCP_KEEPCNT: 9,
    TCP_USER_TIMEOUT: 4000,
  });
  deepEqual(kernelValuesAt(fdOf(pair.accepted)), CONFIGURED, "the other end held nothing chosen");
});

test("what a sweep writes over (nobody's, a runtime's or its own values) and what it keeps (anything chosen)", async () => {
  const c = await connection();
  try {
    const fd = c.clientFd();
    const hold = ([on, idle, interval, count, userTimeout]: number[]) =>
      [[1, 9, on], [6, 4, idle], [6, 5, interval], [6, 6, count], [6, 18, userTimeout]].forEach(([level, option, v]) =>
        equal(syscalls().setsockoptInt(fd, level, option, v), 0)
      );
    const cases: [string, number[], boolean][] = [
      ["the system's defaults, keepalive on: a runtime's setKeepAlive(true)", [1, 7200, 75, 9, 0], true],
      [
        "Deno's node:net setKeepAlive(true, 60000): the idle time, the system's interval and count",
        [1, 60, 75, 9, 0],
        true,
      ],
      ["Bun's and Node's setKeepAlive(true, 60000): then 1 s apart, 10 probes", [1, 60, 1, 10, 0], true],
      ["a runtime's setKeepAlive(true, 60000) over the sweeps' own values", [1, 60, 1, 10, 9000], true],
      ["a socket nobody touched: keepalive off, the system's defaults", [0, 7200, 75, 9, 0], true],
      ["the sweeps' own values, keepalive turned off after: by someone, and off it stays", [0, 3, 2, 4, 9000], false],
      ["Bun's and Node's setKeepAlive(true, 60000), then setKeepAlive(false)", [0, 60, 1, 10, 0], false],
      ["an idle time alone, as setKeepalive({ idleMs: 7000 }) leaves it: like a runtime's", [1, 7, 75, 9, 0], true],
      ["an interval and a count chosen", [1, 5, 1, 2, 0], false],
      ["a count alone chosen", [1, 7200, 75, 3, 0], false],
      ["1 s apart with the system's count: chosen, a mix of no one's profile", [1, 60, 1, 9, 0], false],
      ["a user timeout alone chosen", [0, 7200, 75, 9, 4000], false],
    ];
    for (const [what, values, swept] of cases) {
      hold(values);
      const auto = autoKeepalive(OPTIONS, BY_HAND); // new sweeps: the socket is new to them
      auto.sweep();
      auto.stop();
      const [SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT] = values;
      const held = { SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT };
      deepEqual(kernelValuesAt(fd), swept ? CONFIGURED : held, what);
    }
  } finally {
    await c.close();
  }
});

/** The arguments that run a script from stdin under this runtime. */
const FROM_STDIN = runtime === "deno"
  ? ["run", "-A", "--ext=ts", "-"]
  : runtime === "bun"
  ? ["-"]
  : ["--disable-warning=ExperimentalWarning", "--input-type=module-typescript", "-"];

test("the system's defaults are read from the kernel: changed by a sysctl, a socket holding them is swept", () => {
  const namespace = `tcp-keepalive-${process.pid}-defaults`;
  execFileSync("ip", ["netns", "add", namespace]);
  try {
    const inside = (...command: string[]) => ["netns", "exec", namespace, ...command];
    execFileSync(
      "ip",
      inside("sysctl", "-q", "-w", "net.ipv4.tcp_keepalive_intvl=30", "net.ipv4.tcp_keepalive_probes=5"),
    );
    execFileSync("ip", inside("ip", "link", "set", "lo", "up"));
    // A connection whose client holds the namespace's defaults, 30 s apart and 5 probes, when the sweeps start.
    const script = `
      import net from "node:net";
      import { autoKeepalive, getKeepalive } from ${JSON.stringify(`${ROOT}mod.ts`)};
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const client = net.connect(server.address().port, "127.0.0.1", () => {
          const before = getKeepalive(client);
          const auto = autoKeepalive({ count: 4 });
          auto.sweep();
          auto.stop();
          console.log(JSON.stringify({ before, after: getKeepalive(client) }));
          client.destroy();
          server.close();
        });
      });`;
    const out = execFileSync("ip", inside(process.execPath, ...FROM_STDIN), { input: script, encoding: "utf8" });
    const { before, after } = JSON.parse(out.trim().split("\n").at(-1)!);
    deepEqual([before.enabled, before.intervalMs, before.count], [false, 30_000, 5]);
    deepEqual([after.enabled, after.intervalMs, after.count], [true, 30_000, 4]);
  } finally {
    execFileSync("ip", ["netns", "del", namespace]);
  }
}, 20_000);

test("one policy per copy of the module: the same options share the sweeps, others are refused", () => {
  const first = autoKeepalive({ timeoutMs: 30_000 }, BY_HAND);
  try {
    // The same settings, spelled otherwise: the same policy.
    const same = autoKeepalive({ idleMs: 10_000, intervalMs: 2000, count: 10, userTimeoutMs: 30_000 }, BY_HAND);
    throws(() => autoKeepalive({ timeoutMs: 60_000 }, BY_HAND), {
      message:
        /^autoKeepalive already sweeps this process with idleMs 10000, intervalMs 2000, count 10, userTimeoutMs 30000, enabled true, every 2147483647 ms, within 0.8% of a core; one policy per process: stop it first, or ask for the same \(asked: idleMs 20000, /,
    });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, { everyMs: 500 }), {
      message: /every 500 ms, within 0.8% of a core\)$/,
    });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, { ...BY_HAND, cpuPercent: 2 }), {
      message: /every 2147483647 ms, within 2% of a core\)$/,
    });
    same.stop();
    same.stop(); // twice is once
    equal(first.sweep().failed, 0, "the first handle still sweeps");
  } finally {
    first.stop();
  }
  autoKeepalive({ timeoutMs: 60_000 }, BY_HAND).stop(); // once every handle stopped, another policy may start
});

test("two copies of the module with different policies do not fight: each socket keeps the first that set it", async () => {
  const copy = await secondCopy();
  const c = await connection();
  const mine = autoKeepalive(OPTIONS, BY_HAND);
  try {
    mine.sweep();
    const theirs = copy.autoKeepalive({ idleMs: 20_000, intervalMs: 7000, count: 6 }, BY_HAND);
    try {
      for (let round = 0; round < 3; round++) {
        theirs.sweep();
        deepEqual(kernelValuesAt(c.clientFd()), CONFIGURED, `round ${round}, after the other copy's sweep`);
        mine.sweep();
        deepEqual(kernelValuesAt(c.clientFd()), CONFIGURED, `round ${round}, after this copy's sweep`);
      }
    } finally {
      theirs.stop();
    }
  } finally {
    mine.stop();
    await c.close();
  }
});

test("a descriptor setKeepalive set, reused by a new socket, is a new socket to the sweeps", async () => {
  using _sweeps = autoKeepalive(OPTIONS, { everyMs: 50 });
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
});

test("autoKeepalive() checks its options, period and budget before it sweeps anything", async () => {
  const c = await connection();
  try {
    throws(() => autoKeepalive({ count: 200 }), { name: "RangeError", message: /^count must be an integer/ });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, { everyMs: 5 }), {
      name: "RangeError",
      message: "everyMs must be an integer from 10 to 2147483647, or Infinity for no sweep on a timer; got 5",
    });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, { cpuPercent: 0 }), {
      name: "RangeError",
      message: "cpuPercent must be a number from 0.01 to 100; got 0",
    });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, null as never), {
      name: "TypeError",
      message: "autoKeepalive's sweeps must be a plain object of everyMs, cpuPercent; got null",
    });
    throws(() => autoKeepalive({ timeoutMs: 30_000 }, { everyMS: 50 } as never), {
      name: "TypeError",
      message: 'unknown option "everyMS" (did you mean everyMs?); options are everyMs, cpuPercent',
    });
    equal(kernelValuesAt(c.clientFd()).SO_KEEPALIVE, 0);
  } finally {
    await c.close();
  }
});

/** Linux in memory: sockets 5 and 6 are TCP over IPv4, 6 refuses every write; a new socket is 7. */
function oneSocketRefuses(): Syscalls {
  const defaults = () => ({ "6:4": 7200, "6:5": 75, "6:6": 9, "6:18": 0, "1:9": 0, "1:3": 1 });
  const kernel = memorySockets({ 5: defaults(), 6: defaults(), 7: defaults() });
  return {
    ...kernel,
    socket: () => 7,
    setsockoptInt: (fd, level, option, value) => fd === 6 ? -22 : kernel.setsockoptInt(fd, level, option, value),
    getsockopt: (fd) => (cookie.setUint32(0, fd, true), 8), // SO_COOKIE: the descriptor, as good as any here
    getsockname: (_fd, into) => (into.set([2, 0, 0x1f, 0x90, 127, 0, 0, 1]), 16),
    listing: () => wholeListing([5, 6]),
  };
}
const cookie = new DataView(new ArrayBuffer(8));

test("a failure on one socket never stops a sweep: it is counted, and tried again next time", () => {
  const sys = oneSocketRefuses();
  const byHand = { now: () => 0, after: () => () => {} }; // no timer runs: sweeps by hand only
  const sweeper = startSweeps(
    sys,
    linux,
    planWrites(OPTIONS, linux),
    { everyMs: 1000, cpuPercent: 1 },
    byHand,
    () => () => {},
  );
  try {
    deepEqual(sweeper.sweep(), { configured: 1, unchanged: 0, skipped: 0, failed: 1 });
    equal(sys.getsockoptInt(5, 6, 4), 3);
    deepEqual(sweeper.sweep(), { configured: 0, unchanged: 1, skipped: 0, failed: 1 });
  } finally {
    sweeper.stop();
  }
});

test("the sweeps' timer does not keep an otherwise finished script alive", () => {
  const script = `import { autoKeepalive } from ${JSON.stringify(`${ROOT}mod.ts`)};
    autoKeepalive({ timeoutMs: 30_000 }, { everyMs: 60_000 }); console.log("started");`;
  const started = performance.now();
  const { status, stdout, stderr } = spawnSync(process.execPath, FROM_STDIN, {
    input: script,
    encoding: "utf8",
    timeout: 20_000,
  });
  equal(status, 0, stderr);
  equal(stdout.trim(), "started");
  ok(performance.now() - started < 10_000, "it did not wait for the 60 s timer");
}, 25_000);
