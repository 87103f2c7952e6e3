// The runtime's own idea of a node:net socket (targets/_keepalive.ts settleRuntime, and the sweeps' hooks in mod.ts):
// Node, Deno and Bun remember the keepalive they set themselves and skip a setKeepAlive that matches it. After this
// module set a socket, through setKeepalive, the announcement of a connection, or a sweep through the descriptor
// alone, the application's own setKeepAlive(false) still turns keepalive off, and its setKeepAlive(true, ms) still
// sets its idle time, in all three runtimes. Read from outside the module, with ss's timer and /proc's descriptors.
import { equal, ok } from "node:assert/strict";
import net from "node:net";
import { autoKeepalive, setKeepalive } from "../mod.ts";
import { kernelValuesAt, procFds } from "./_kernel.ts";
import { ssKeepaliveTimer } from "./_ss.ts";
import { runtime, test } from "./_harness.ts";

const POLICY = { idleMs: 20_000, intervalMs: 4000, count: 5 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node:net connection on loopback; its client's keepalive as ss and getsockopt see it, by its port. */
async function connection() {
  const server = net.createServer((socket) => socket.on("error", () => {}));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  await new Promise((resolve) => client.once("connect", resolve));
  const port = client.localPort!;
  return {
    client,
    /** Whether ss shows the client's keepalive timer, and what getsockopt reads of it. */
    held: () => ({ timer: ssKeepaliveTimer(port) !== undefined, ...kernelValuesAt(procFds("tcp", port, "01")[0]) }),
    close: () => (client.destroy(), server.close()),
  };
}

/** The application's own calls after this module's: keepalive off, then on with an idle time of its own, then off. */
function ownCallsWork(c: Awaited<ReturnType<typeof connection>>, how: string): void {
  c.client.setKeepAlive(false);
  const off = c.held();
  equal(off.timer, false, `${runtime}, ${how}: setKeepAlive(false) stops the timer`);
  equal(off.SO_KEEPALIVE, 0, `${runtime}, ${how}: SO_KEEPALIVE 0`);
  c.client.setKeepAlive(true, 45_000);
  const on = c.held();
  equal(on.timer, true, `${runtime}, ${how}: setKeepAlive(true, 45000) starts it again`);
  equal(on.TCP_KEEPIDLE, 45, `${runtime}, ${how}: with its own idle time`);
  c.client.setKeepAlive(false);
  equal(c.held().SO_KEEPALIVE, 0, `${runtime}, ${how}: and off once more`);
}

test(`${runtime}: after setKeepalive on a node:net socket, its own setKeepAlive(false) and (true, ms) still work`, async () => {
  const c = await connection();
  try {
    setKeepalive(c.client, POLICY);
    const held = c.held();
    ok(
      held.timer && held.TCP_KEEPIDLE === 20 && held.TCP_KEEPINTVL === 4 && held.TCP_KEEPCNT === 5,
      JSON.stringify(held),
    );
    ownCallsWork(c, "setKeepalive");
  } finally {
    c.close();
  }
});

test(`${runtime}: after a sweep or an announcement set a node:net socket, its own setKeepAlive still works`, async () => {
  // Sweeps by hand: under Node and Deno the connection is announced as it connects, under Bun found by a sweep
  // through its descriptor alone, which the runtime does not know of.
  const auto = autoKeepalive(POLICY, { everyMs: 2 ** 31 - 1 });
  const c = await connection();
  try {
    await sleep(20); // past the first sweep, on the timer at once
    auto.sweep();
    const held = c.held();
    ok(held.timer && held.TCP_KEEPIDLE === 20 && held.TCP_KEEPCNT === 5, JSON.stringify(held));
    ownCallsWork(c, "swept or announced");
    // Off by the application's own call: the sweeps leave it so (it was set up, then turned off by someone).
    for (let i = 0; i < 20; i++) auto.sweep();
    equal(c.held().SO_KEEPALIVE, 0, "off it stays, through 20 sweeps");
  } finally {
    auto.stop();
    c.close();
  }
});

test(
  `${runtime}: a runtime's own keepalive written long after connect (a driver's) is put right by a later sweep`,
  async () => {
    const auto = autoKeepalive(POLICY, { everyMs: 20, cpuPercent: 100 }); // paced by the period alone;
    const c = await connection();
    try {
      await sleep(300); // configured, and read back twice since: settled
      equal(c.held().TCP_KEEPIDLE, 20);
      // What a driver does minutes later: its own 10 min, and (Node, Bun) libuv's 1 s x 10 with it.
      c.client.setKeepAlive(true, 600_000);
      equal(c.held().TCP_KEEPIDLE, 600);
      let waitedMs = 0;
      for (; c.held().TCP_KEEPIDLE !== 20 && waitedMs < 3000; waitedMs += 20) await sleep(20);
      const held = c.held();
      equal(held.TCP_KEEPIDLE, 20, `put right after ${waitedMs} ms`);
      equal(held.TCP_KEEPINTVL, 4);
      equal(held.TCP_KEEPCNT, 5);
      console.log(
        `${runtime}: a driver's late setKeepAlive(true, 600000) put right after ${waitedMs} ms (sweeps every 20 ms)`,
      );
    } finally {
      auto.stop();
      c.close();
    }
  },
  10_000,
);

test(
  `${runtime}: one rule in every runtime: deliberate values that look like nobody's are swept, the others kept`,
  async () => {
    const auto = autoKeepalive(POLICY, { everyMs: 20, cpuPercent: 100 }); // paced by the period alone;
    const cases: [string, Parameters<typeof setKeepalive>[1], "swept" | "kept"][] = [
      ["1 s x 10, as Bun's and Node's own setKeepAlive(true, ms) leaves it", {
        idleMs: 15_000,
        intervalMs: 1000,
        count: 10,
      }, "swept"],
      ["the system's 75 s x 9, with an idle time", { idleMs: 15_000, intervalMs: 75_000, count: 9 }, "swept"],
      ["the sweeps' own probes, with another idle time", { idleMs: 15_000, intervalMs: 4000, count: 5 }, "swept"],
      ["keepalive turned off, once set up", { enable: false }, "kept"],
      ["probes of one's own", { idleMs: 15_000, intervalMs: 3000, count: 2 }, "kept"],
    ];
    const connections = await Promise.all(cases.map(() => connection()));
    try {
      await sleep(300); // each configured, and read back twice since
      cases.forEach(([, options], i) => setKeepalive(connections[i].client, options));
      await sleep(1500); // some 60 sweeps, more than 32: each socket read back once more at least
      const outcomes = connections.map((c) => c.held()).map((held) =>
        held.SO_KEEPALIVE === 1 && held.TCP_KEEPIDLE === 20 && held.TCP_KEEPINTVL === 4 && held.TCP_KEEPCNT === 5
          ? "swept"
          : "kept"
      );
      cases.forEach(([what, , expected], i) =>
        equal(outcomes[i], expected, `${runtime}: ${what}: ${JSON.stringify(connections[i].held())}`)
      );
    } finally {
      auto.stop();
      connections.forEach((c) => c.close());
    }
  },
  10_000,
);
