// mod.ts against the real kernel: each call read back with getsockopt and ss.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { closeSync, openSync, readFileSync } from "node:fs";
import dgram from "node:dgram";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { syscalls } from "../ffi/mod.ts";
import { getKeepalive, KeepaliveError, setKeepalive } from "../mod.ts";
import { linux } from "../platforms/_linux.ts";
import { readValues, writeValues } from "../socket/mod.ts";
import { planWrites } from "../options/mod.ts";
import { ssKeepaliveTimer } from "./_ss.ts";
import { fdOf, kernelValues, kernelValuesAt, procFds } from "./_kernel.ts";
import { Bun, openPair } from "./_net.ts";
import { recording } from "./_recording.ts";
import { prove } from "./_evidence.ts";
import { runtime, test, testUnder } from "./_harness.ts";

const LINUX_DEFAULTS = { SO_KEEPALIVE: 0, TCP_KEEPIDLE: 7200, TCP_KEEPINTVL: 75, TCP_KEEPCNT: 9, TCP_USER_TIMEOUT: 0 };

for (const host of ["127.0.0.1", "::1"]) {
  test(`setKeepalive() on a ${host} client holds in getsockopt and in ss`, async () => {
    using pair = await openPair(host);
    deepEqual(kernelValues(pair.client), LINUX_DEFAULTS);
    const settings = setKeepalive(pair.client, { idleMs: 5000, intervalMs: 1500, count: 4, userTimeoutMs: 7000 });
    deepEqual(settings, { enabled: true, idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 7000 });
    deepEqual(kernelValues(pair.client), {
      SO_KEEPALIVE: 1,
      TCP_KEEPIDLE: 5,
      TCP_KEEPINTVL: 2,
      TCP_KEEPCNT: 4,
      TCP_USER_TIMEOUT: 7000,
    });
    deepEqual(getKeepalive(pair.client), settings);
    const timer = ssKeepaliveTimer(pair.clientPort);
    ok(timer && timer.remainingMs > 3000 && timer.remainingMs <= 5000, `ss timer ${JSON.stringify(timer)}`);
    equal(timer.probes, 0);
    deepEqual(kernelValues(pair.accepted), LINUX_DEFAULTS, "the other end is untouched");
    prove("Linux x86-64 glibc", runtime, "real kernel");
  });
}

test("the runtime's own setKeepAlive(true) leaves the first probe 2 hours away", async () => {
  using pair = await openPair("127.0.0.1");
  pair.runtimeKeepAlive();
  const timer = ssKeepaliveTimer(pair.clientPort);
  ok(timer && timer.remainingMs > 7_000_000, `ss timer ${JSON.stringify(timer)}`);
  equal(getKeepalive(pair.client).idleMs, 7_200_000);
});

test("setKeepalive() leaves omitted fields as the kernel has them", async () => {
  using pair = await openPair("127.0.0.1");
  setKeepalive(pair.client, { count: 3, userTimeoutMs: 4000 });
  deepEqual(setKeepalive(pair.client, { idleMs: 2000 }), {
    enabled: true,
    idleMs: 2000,
    intervalMs: 75_000,
    count: 3,
    userTimeoutMs: 4000,
  });
  deepEqual(kernelValues(pair.client), {
    SO_KEEPALIVE: 1,
    TCP_KEEPIDLE: 2,
    TCP_KEEPINTVL: 75,
    TCP_KEEPCNT: 3,
    TCP_USER_TIMEOUT: 4000,
  });
});

test("setKeepalive({ enable: false }) stops the keepalive timer", async () => {
  using pair = await openPair("127.0.0.1");
  setKeepalive(pair.client, { idleMs: 5000 });
  ok(ssKeepaliveTimer(pair.clientPort));
  equal(setKeepalive(pair.client, { enable: false }).enabled, false);
  equal(kernelValues(pair.client).SO_KEEPALIVE, 0);
  equal(ssKeepaliveTimer(pair.clientPort), undefined);
});

test("setKeepalive() plans timeoutMs into the kernel's options", async () => {
  using pair = await openPair("127.0.0.1");
  setKeepalive(pair.client, { timeoutMs: 30_000 });
  deepEqual(kernelValues(pair.client), {
    SO_KEEPALIVE: 1,
    TCP_KEEPIDLE: 10,
    TCP_KEEPINTVL: 2,
    TCP_KEEPCNT: 10,
    TCP_USER_TIMEOUT: 30_000,
  });
});

test("setKeepalive() takes a raw descriptor, a listener and an accepted socket", async () => {
  using pair = await openPair("127.0.0.1");
  setKeepalive(fdOf(pair.client), { count: 5 });
  setKeepalive(pair.listener, { count: 6 });
  setKeepalive(pair.accepted, { count: 7 });
  deepEqual([
    kernelValues(pair.client).TCP_KEEPCNT,
    kernelValues(pair.listener).TCP_KEEPCNT,
    kernelValues(pair.accepted).TCP_KEEPCNT,
  ], [
    5,
    6,
    7,
  ]);
  equal(new Set([fdOf(pair.client), fdOf(pair.listener), fdOf(pair.accepted)]).size, 3);
});

test("setKeepalive() finds a node:net socket and server by address", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  try {
    setKeepalive(server, { count: 4 });
    setKeepalive(socket, { count: 8, idleMs: 3000 });
    equal(kernelValues(server).TCP_KEEPCNT, 4);
    deepEqual(kernelValues(socket), { ...LINUX_DEFAULTS, SO_KEEPALIVE: 1, TCP_KEEPIDLE: 3, TCP_KEEPCNT: 8 });
    ok(ssKeepaliveTimer(socket.localPort!));
  } finally {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

testUnder("deno", "setKeepalive() finds a Deno.TlsConn and its Deno.TlsListener", async () => {
  const cert = readFileSync(new URL("./fixtures/cert.pem", import.meta.url), "utf8");
  const key = readFileSync(new URL("./fixtures/key.pem", import.meta.url), "utf8");
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const accepting = listener.accept();
  const client = await Deno.connectTls({ hostname: "localhost", port: listener.addr.port, caCerts: [cert] });
  const accepted = await accepting;
  try {
    await Promise.all([client.handshake(), accepted.handshake()]);
    setKeepalive(client, { idleMs: 4000, count: 2 });
    setKeepalive(listener, { count: 3 });
    deepEqual(kernelValues(client), { ...LINUX_DEFAULTS, SO_KEEPALIVE: 1, TCP_KEEPIDLE: 4, TCP_KEEPCNT: 2 });
    equal(kernelValues(listener).TCP_KEEPCNT, 3);
    deepEqual(kernelValues(accepted), LINUX_DEFAULTS);
  } finally {
    client.close();
    accepted.close();
    listener.close();
  }
});

test("setKeepalive() on a file descriptor that is no socket fails with ENOTSOCK", () => {
  const fd = openSync("/dev/null", "r");
  try {
    throws(() => setKeepalive(fd, { idleMs: 1000 }), {
      name: "KeepaliveError",
      code: "ENOTSOCK",
      syscall: "getsockopt",
      option: "TCP_KEEPIDLE",
      fd,
      message: `ENOTSOCK: not a socket (getsockopt TCP_KEEPIDLE fd ${fd})`,
    });
  } finally {
    closeSync(fd);
  }
});

test("setKeepalive() on a closed descriptor fails with EBADF", () => {
  const fd = openSync("/dev/null", "r");
  closeSync(fd);
  throws(() => setKeepalive(fd, {}), { code: "EBADF", syscall: "getsockopt", fd });
});

test("setKeepalive() on a closed connection fails with EBADF", async () => {
  const pair = await openPair("127.0.0.1");
  pair.close();
  throws(
    () => setKeepalive(pair.client, { idleMs: 1000 }),
    (error) => error instanceof KeepaliveError && error.code === "EBADF",
  );
});

test("setKeepalive() on a UDP socket fails with EOPNOTSUPP and leaves it as it was", async () => {
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  try {
    const [fd] = procFds("udp", udp.address().port);
    const keepalive = () => syscalls().getsockoptInt(fd, 1, 9);
    const before = keepalive();
    throws(() => setKeepalive(fd, { idleMs: 1000 }), {
      code: "EOPNOTSUPP",
      syscall: "getsockopt",
      option: "TCP_KEEPIDLE",
    });
    equal(keepalive(), before);
    throws(() => setKeepalive(udp as never, {}), { code: "EOPNOTSUPP", message: /UDP socket; keepalive needs TCP/ });
  } finally {
    udp.close();
  }
});

testUnder("bun", "setKeepalive() on a Unix-domain socket fails with EOPNOTSUPP", () => {
  const path = `/tmp/tcp-keepalive-${process.pid}.sock`;
  const listener = Bun.listen({ unix: path, socket: { data() {} } });
  try {
    throws(() => setKeepalive(listener, { count: 3 }), { code: "EOPNOTSUPP", syscall: "getsockopt", fd: listener.fd });
  } finally {
    listener.stop(true);
  }
});

testUnder("deno", "setKeepalive() on a Unix-domain socket fails with EOPNOTSUPP", () => {
  const path = `/tmp/tcp-keepalive-${Deno.pid}.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    throws(() => setKeepalive(listener, { count: 3 }), {
      code: "EOPNOTSUPP",
      message: /unix socket; keepalive needs TCP/,
    });
  } finally {
    listener.close(); // removes the socket file too
  }
});

test("a write failing half-way restores the real socket's options (the kernel's side of sockopt_test.ts)", async () => {
  using pair = await openPair("127.0.0.1");
  const fd = fdOf(pair.client);
  setKeepalive(fd, { idleMs: 9000, intervalMs: 3000 });
  const before = kernelValues(fd);
  const sys = recording(syscalls(), { at: [3] });
  const writes = planWrites({ idleMs: 1000, intervalMs: 1000, count: 2, userTimeoutMs: 5000 }, linux);
  throws(() => writeValues(sys, linux, [{ fd, before: readValues(sys, linux, fd) }], writes), {
    code: "EINVAL",
    option: "TCP_KEEPCNT",
    restored: true,
  });
  deepEqual(kernelValues(fd), before);
  deepEqual(sys.calls.filter((call) => call[0] === "setsockopt").map((call) => call[4]), [1, 1, 2, 3, 9]);
});

const CERT = readFileSync(new URL("./fixtures/cert.pem", import.meta.url), "utf8");
const KEY = readFileSync(new URL("./fixtures/key.pem", import.meta.url), "utf8");

/** Listens on 127.0.0.1 and resolves with the port. */
async function listening(server: net.Server | http2.Http2SecureServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

test("setKeepalive() takes node:tls, node:https and node:http2 servers, a TLSSocket and a ClientRequest's socket", async () => {
  const servers = [
    tls.createServer({ cert: CERT, key: KEY }, (socket) => socket.on("data", () => {})),
    https.createServer({ cert: CERT, key: KEY }, (_request, response) => response.end("ok")),
    http2.createSecureServer({ cert: CERT, key: KEY }),
    http.createServer((_request, response) => response.end("ok")),
  ];
  const ports = await Promise.all(servers.map(listening));
  const tlsSocket = tls.connect({ port: ports[0], host: "127.0.0.1", ca: CERT, servername: "localhost" });
  const agent = new http.Agent({ keepAlive: true });
  try {
    servers.forEach((server, i) => setKeepalive(server, { count: 3 + i }));
    deepEqual(ports.map((port) => kernelValuesAt(procFds("tcp", port, "0A")[0]).TCP_KEEPCNT), [3, 4, 5, 6]);
    await new Promise((resolve) => tlsSocket.once("secureConnect", resolve));
    equal(setKeepalive(tlsSocket, { idleMs: 4000 }).idleMs, 4000);
    equal(kernelValuesAt(procFds("tcp", tlsSocket.localPort!, "01")[0]).TCP_KEEPIDLE, 4);
    // A request's socket, from its 'socket' event, once connected.
    const request = http.get({ port: ports[3], host: "127.0.0.1", agent });
    const socket = await new Promise<net.Socket>((resolve) => request.once("socket", resolve));
    if (socket.connecting) await new Promise((resolve) => socket.once("connect", resolve));
    equal(setKeepalive(socket, { idleMs: 6000 }).idleMs, 6000);
    equal(kernelValuesAt(procFds("tcp", socket.localPort!, "01")[0]).TCP_KEEPIDLE, 6);
    await new Promise((resolve) =>
      request.once("response", (response) => (response.resume(), response.once("end", resolve)))
    );
  } finally {
    tlsSocket.destroy();
    agent.destroy();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  }
});
