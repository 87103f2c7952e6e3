// A listener configured once passes its keepalive options to every socket it accepts.
import { deepEqual, equal, ok } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { setKeepalive } from "../mod.ts";
import { type runtime, test, testUnder } from "./_harness.ts";
import { parseSsDuration, ssKeepaliveTimer } from "./_ss.ts";
import { kernelValues, kernelValuesAt, procFds } from "./_kernel.ts";
import { Bun } from "./_net.ts";

const OPTIONS = { idleMs: 4000, intervalMs: 2000, count: 3, userTimeoutMs: 9000 };
const EXPECTED = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 4, TCP_KEEPINTVL: 2, TCP_KEEPCNT: 3, TCP_USER_TIMEOUT: 9000 };
const HTTP_REQUEST = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const reply = () => new Response("ok");

interface Server {
  port: number;
  /** What a client sends before the server answers. */
  request: string;
  close(): Promise<void> | void;
}

const servers: [typeof runtime | "all", string, () => Promise<Server>][] = [
  ["deno", "Deno.listen", () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    setKeepalive(listener, OPTIONS);
    const conns: Deno.Conn[] = [];
    (async () => {
      for await (const conn of listener) conns.push(conn), conn.write(new TextEncoder().encode("hi"));
    })();
    return Promise.resolve({
      port: listener.addr.port,
      request: "",
      close: () => (conns.forEach((conn) => conn.close()), listener.close()),
    });
  }],
  ["deno", "Deno.serve", () => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, reply);
    setKeepalive(server, OPTIONS);
    return Promise.resolve({ port: server.addr.port, request: HTTP_REQUEST, close: () => server.shutdown() });
  }],
  ["bun", "Bun.listen", () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (s: { write(t: string): void }) => s.write("hi"), data() {} },
    });
    setKeepalive(listener, OPTIONS);
    return Promise.resolve({ port: listener.port, request: "", close: () => listener.stop(true) });
  }],
  ["bun", "Bun.serve", () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: reply });
    setKeepalive(server, OPTIONS);
    return Promise.resolve({ port: server.port, request: HTTP_REQUEST, close: () => server.stop(true) });
  }],
  ["all", "node:http", async () => {
    const server = http.createServer((_request, response) => response.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    setKeepalive(server, OPTIONS);
    return {
      port: (server.address() as net.AddressInfo).port,
      request: HTTP_REQUEST,
      close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
    };
  }],
  ["all", "node:net", async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => (sockets.push(socket), socket.write("hi")));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    setKeepalive(server, OPTIONS);
    return {
      port: (server.address() as net.AddressInfo).port,
      request: "",
      close: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
    };
  }],
];

for (const [where, name, start] of servers) {
  const register = where === "all" ? test : testUnder.bind(null, where);
  register(`setKeepalive() on a ${name} server carries over to the sockets it accepts`, async () => {
    const server = await start();
    const client = net.connect(server.port, "127.0.0.1");
    try {
      await new Promise((resolve) => client.once("connect", resolve));
      client.write(server.request);
      await new Promise((resolve) => client.once("data", resolve)); // the server has accepted it
      // The accepted socket, found by its addresses: the client's seen from the other end.
      const accepted = {
        localAddr: { transport: "tcp", hostname: "127.0.0.1", port: server.port },
        remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: client.localPort! },
      };
      deepEqual(kernelValues(accepted), EXPECTED);
      const timer = ssKeepaliveTimer(server.port);
      ok(timer && timer.remainingMs > 2000 && timer.remainingMs <= 4000, `ss timer ${JSON.stringify(timer)}`);
    } finally {
      client.destroy();
      await server.close();
    }
  });
}

/** Each established connection from `port`, and whether ss shows its keepalive timer within `withinMs`. */
function acceptedTimers(port: number): number[] {
  const out = execFileSync("ss", ["-tnoe", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  return out.trim().split("\n").slice(1).map((line) => {
    const timer = /timer:\(keepalive,([^,]+),/.exec(line);
    return timer ? parseSsDuration(timer[1]) : Infinity;
  });
}

/** The keepalive idle time, in seconds, of every listening socket at `port`, read without the module. */
const listenerIdles = (port: number) => procFds("tcp", port, "0A").map((fd) => kernelValuesAt(fd).TCP_KEEPIDLE);

// Node's servers hand out their descriptor (_handle.fd), so only theirs is set, as with Bun.listen's fd.
for (const only of ["deno", "bun"] as const) {
  testUnder(
    only,
    "a server sharing its port with servers in two Workers (reusePort): every listener is set, every connection inherits",
    async () => {
      const reply = () => new Response("main");
      const server = Bun
        ? Bun.serve({ hostname: "127.0.0.1", port: 0, reusePort: true, fetch: reply })
        : Deno.serve({ hostname: "127.0.0.1", port: 0, reusePort: true, onListen() {} }, reply);
      const port: number = Bun ? server.port : server.addr.port;
      const workers = [1, 2].map(() =>
        new Worker(new URL("./_serve_worker.ts", import.meta.url).href, { type: "module" })
      );
      const clients: net.Socket[] = [];
      try {
        await Promise.all(
          workers.map((worker) =>
            new Promise((
              resolve,
            ) => (worker.addEventListener("message", resolve, { once: true }), worker.postMessage(port)))
          ),
        );
        equal(listenerIdles(port).length, 3);
        setKeepalive(server, { idleMs: 22_000 });
        deepEqual(listenerIdles(port), [22, 22, 22]);
        for (let i = 0; i < 12; i++) {
          const client = net.connect(port, "127.0.0.1");
          clients.push(client);
          await new Promise((resolve) => client.once("connect", resolve));
          client.write(HTTP_REQUEST);
          await new Promise((resolve) => client.once("data", resolve));
        }
        const timers = acceptedTimers(port);
        equal(timers.length, 12);
        ok(timers.every((ms) => ms <= 22_000), `ss timers ${timers}`);
      } finally {
        clients.forEach((client) => client.destroy());
        workers.forEach((worker) => worker.terminate());
        await (Bun ? server.stop(true) : server.shutdown());
      }
    },
    15_000,
  );
}
