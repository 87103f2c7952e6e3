// Runs inside a network namespace of its own (see auto_real_test.ts), with or without tcp-keepalive/auto preloaded:
// starts a real server on loopback, has a real client wait on it (a streaming fetch, a WebSocket, a database query),
// takes loopback down once the client waits, and prints as JSON how the client's wait ended, and when.
//   <runtime> [preload] tests/_auto_child.ts <scenario> <wait ms> [server directory]
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import process from "node:process";
import { Bun } from "./_net.ts";

const [scenario, waitMs, directory] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How a wait failed: an errno name where there is one, else the error's name and message. */
const failure = (error: unknown) => {
  const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? `${e?.name}: ${e?.message}`;
};
/** Servers started here, stopped before exit. */
const servers: ChildProcess[] = [];

/** A node:http server on 127.0.0.1 whose responses send one chunk and then stay open; it also upgrades WebSockets. */
async function streamingServer(): Promise<number> {
  const server = http.createServer((request, response) => {
    request.socket.on("error", () => {}); // the server's end times out too: not this test's matter
    response.writeHead(200, { "content-type": "text/plain" });
    response.write("first chunk\n"); // and then nothing: the server is alive, the body never ends
  });
  server.on("upgrade", (request, socket) => {
    socket.on("error", () => {});
    const accept = createHash("sha1")
      .update(`${request.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.write(Uint8Array.of(0x81, 5, ...new TextEncoder().encode("hello"))); // one text frame, then silence
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Waits until something listens on 127.0.0.1:`port`. */
async function reachable(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = net.connect(port, "127.0.0.1", () => (probe.destroy(), resolve(true)));
      probe.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** Starts PostgreSQL from a cluster the test made, as its owner, on 127.0.0.1:5432. */
async function postgres(): Promise<void> {
  const owner = ["--reuid=postgres", "--regid=postgres", "--init-groups"];
  const server = "/usr/lib/postgresql/15/bin/postgres";
  servers.push(
    spawn("setpriv", [...owner, server, "-D", directory, "-k", directory, "-h", "127.0.0.1"], { stdio: "ignore" }),
  );
  await reachable(5432);
  await sleep(300); // accepting connections, not only listening
}

/** Starts redis-server on 127.0.0.1:6379, saving nothing. */
async function redis(): Promise<void> {
  const options = ["--port", "6379", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"];
  servers.push(spawn("redis-server", options, { stdio: "ignore" }));
  await reachable(6379);
}

/** Each scenario: starts its server and client, and resolves once the client waits, with the wait itself. */
const scenarios: Record<string, () => Promise<{ wait: Promise<unknown> }>> = {
  async fetch() {
    const port = await streamingServer();
    const response = await fetch(`http://127.0.0.1:${port}/`);
    const reader = response.body!.getReader();
    await reader.read(); // the first chunk: the connection is up
    return { wait: reader.read() };
  },
  async websocket() {
    const port = await streamingServer();
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => (socket.onmessage = resolve, socket.onerror = reject));
    return {
      wait: new Promise((_resolve, reject) => {
        socket.onerror = () => reject(new Error("WebSocket error"));
        socket.onclose = (event) => reject(new Error(`WebSocket closed ${event.code}`));
      }),
    };
  },
  async "bun-sql"() {
    await postgres();
    const sql = new Bun.SQL({ url: "postgres://postgres@127.0.0.1:5432/postgres" });
    await sql`SELECT 1`;
    return { wait: sql`SELECT pg_sleep(600)`.execute() };
  },
  async "bun-redis"() {
    await redis();
    const client = new Bun.RedisClient("redis://127.0.0.1:6379");
    await client.connect();
    await client.send("PING", []);
    return { wait: client.send("BLPOP", ["tcp-keepalive", "0"]) };
  },
  async "postgres-js"() {
    await postgres();
    const { default: postgresJs } = await import("postgres");
    const sql = postgresJs({ host: "127.0.0.1", port: 5432, username: "postgres", database: "postgres" });
    await sql`SELECT 1`;
    return { wait: sql`SELECT pg_sleep(600)`.execute() };
  },
};

const { wait } = await scenarios[scenario]();
const ended = wait.then(() => "resolved", failure);
await sleep(600); // the sweeps (every 200 ms) have seen the client's socket
execFileSync("ip", ["link", "set", "lo", "down"]);
const start = performance.now();
const outcome = await Promise.race([ended, sleep(Number(waitMs)).then(() => "pending")]);
console.log(JSON.stringify({ outcome, elapsedMs: Math.round(performance.now() - start) }));
for (const server of servers) server.kill("SIGQUIT");
process.exit(0);
