// Sockets the runtime announces on diagnostics_channel, configured as they connect or are accepted, with sweeps set
// to a period far longer than each test, so that only the announcement can explain a socket configured: Node
// announces every socket of node:net (fetch's undici, http, tls), Deno its node:net clients and node:http servers'
// sockets, Bun none. Each socket is read back from the kernel by its port (/proc/net/tcp), and with `ss`.
import { deepEqual, equal, ok } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import { autoKeepalive } from "../mod.ts";
import { kernelValuesAt, procFds } from "./_kernel.ts";
import { ssKeepaliveTimer } from "./_ss.ts";
import { runtime, test, testUnder } from "./_harness.ts";

const OPTIONS = { idleMs: 3000, intervalMs: 2000, count: 4, userTimeoutMs: 9000 };
const CONFIGURED = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 3, TCP_KEEPINTVL: 2, TCP_KEEPCNT: 4, TCP_USER_TIMEOUT: 9000 };
/** Sweeps by hand only, but for the first, which {@linkcode started} lets run before any socket here exists. */
const NO_TIMER = { everyMs: 2 ** 31 - 1 };

/** autoKeepalive with sweeps by hand only, once its first sweep (on the timer, at once) has run. */
async function started() {
  const auto = autoKeepalive(OPTIONS, NO_TIMER);
  await new Promise((resolve) => setTimeout(resolve, 20));
  return auto;
}
const FIXTURES = new URL("./fixtures/", import.meta.url);

/** The kernel's values of this process's established socket with local port `port`. */
function valuesAtPort(port: number) {
  const [fd] = procFds("tcp", port, "01");
  ok(fd !== undefined, `no established socket of this process has local port ${port}`);
  return kernelValuesAt(fd);
}

/** A node:http server on 127.0.0.1 that answers each request, and the client port of the last one. */
async function httpServer() {
  let clientPort = 0;
  const server = http.createServer((request, response) => {
    clientPort = request.socket.remotePort!;
    response.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    clientPort: () => clientPort,
    close: () => (server.closeAllConnections(), server.close()),
  };
}

/** Which sockets each runtime announces, so that they are configured with no sweep. */
const ANNOUNCED: Record<typeof runtime, { fetch: boolean; netClient: boolean; httpAccepted: boolean }> = {
  node: { fetch: true, netClient: true, httpAccepted: true },
  deno: { fetch: false, netClient: true, httpAccepted: true },
  bun: { fetch: false, netClient: false, httpAccepted: false },
};

test(`${runtime}: the sockets the runtime announces are configured with no sweep, the others are left to sweeps`, async () => {
  const auto = await started();
  const server = await httpServer();
  const netServer = net.createServer((socket) => socket.on("error", () => {}));
  await new Promise<void>((resolve) => netServer.listen(0, "127.0.0.1", resolve));
  const client = net.connect((netServer.address() as net.AddressInfo).port, "127.0.0.1");
  const connected = new Promise((resolve) => client.once("connect", resolve));
  try {
    equal(await (await fetch(`http://127.0.0.1:${server.port}/`)).text(), "ok");
    await connected;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the accepting ends have their sockets
    // Bun's fetch and undici set keepalive of their own: only the policy's values tell who configured a socket.
    const configured = (port: number) => JSON.stringify(valuesAtPort(port)) === JSON.stringify(CONFIGURED);
    deepEqual({
      fetch: configured(server.clientPort()),
      netClient: configured(client.localPort!),
      httpAccepted: configured(server.port),
    }, ANNOUNCED[runtime]);
  } finally {
    auto.stop();
    client.destroy();
    netServer.close();
    server.close();
  }
});

testUnder(
  "node",
  "under Node a socket made by fetch holds the policy once fetch resolves, as ss shows too",
  async () => {
    const auto = await started();
    const server = await httpServer();
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/`);
      // Undici asks node:net for a keepalive of its own before it connects; the policy's values are what remain.
      deepEqual(valuesAtPort(server.clientPort()), CONFIGURED);
      const timer = ssKeepaliveTimer(server.clientPort(), server.port);
      ok(timer && timer.remainingMs <= 3000, `ss: ${JSON.stringify(timer)}`);
      await response.text();
    } finally {
      auto.stop();
      server.close();
    }
  },
);

testUnder(
  "node",
  "a client's own setKeepAlive in its 'connect' callback still ends with the policy, in that turn",
  async () => {
    const auto = await started();
    const server = net.createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const held = await new Promise((resolve) => {
        const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1", () => {
          client.setKeepAlive(true, 60_000); // a runtime's own keepalive, as a library asks for it at connect
          // The check phase of the same turn of the event loop: before any timer or other I/O.
          setImmediate(() => {
            resolve(valuesAtPort(client.localPort!));
            client.destroy();
          });
        });
      });
      deepEqual(held, CONFIGURED);
    } finally {
      auto.stop();
      server.close();
    }
  },
);

testUnder("node", "a tls client is configured as its TCP connection completes, before its handshake", async () => {
  const options = {
    cert: readFileSync(new URL("cert.pem", FIXTURES)),
    key: readFileSync(new URL("key.pem", FIXTURES)),
  };
  const server = tls.createServer(options, (socket) => socket.on("error", () => {}).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const auto = await started();
  try {
    const held = await new Promise((resolve, reject) => {
      const client = tls.connect({
        port: (server.address() as net.AddressInfo).port,
        host: "127.0.0.1",
        ca: options.cert,
      });
      client.once("error", reject);
      client.once("connect", () => setImmediate(() => resolve(valuesAtPort(client.localPort!))));
      client.once("secureConnect", () => client.destroy());
    });
    deepEqual(held, CONFIGURED);
  } finally {
    auto.stop();
    server.close();
  }
});

testUnder("node", "once stopped, the sweeps hear no more announcements", async () => {
  autoKeepalive(OPTIONS, NO_TIMER).stop();
  const server = await httpServer();
  try {
    await (await fetch(`http://127.0.0.1:${server.port}/`)).text();
    equal(valuesAtPort(server.clientPort()).TCP_KEEPIDLE, 60, "undici's own 60 s, not the policy's");
  } finally {
    server.close();
  }
});

/** The worker thread's socket, as it held it in its connect turn, under `flags` and the environment `env`. */
function threadReport(flags: string[], env: Record<string, string>, argument = ""): Record<string, unknown> {
  const script = new URL("./_thread_connect.ts", import.meta.url).pathname;
  const { TCP_KEEPALIVE: _, ...inherited } = process.env;
  const out = execFileSync(process.execPath, ["--disable-warning=ExperimentalWarning", ...flags, script, argument], {
    env: { ...inherited, ...env },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

testUnder(
  "node",
  "worker_threads: the preload runs in each thread, whose sockets are configured as they connect",
  () => {
    const preload = threadReport(["--import", new URL("../auto.ts", import.meta.url).pathname], {
      TCP_KEEPALIVE: "idle=20s,interval=4s,count=5,every=1h",
    });
    deepEqual([preload.enabled, preload.idleMs, preload.count], [true, 20_000, 5], "the preload: in its connect turn");
    // autoKeepalive() in the main thread hears the main thread's announcements only (diagnostics_channel is per
    // thread): a worker's socket waits for a sweep.
    const mainOnly = threadReport([], {}, "main");
    deepEqual([mainOnly.enabled, mainOnly.idleMs], [false, 7_200_000], "autoKeepalive in the main thread alone");
  },
  20_000,
);
