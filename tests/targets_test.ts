// targets/: a target to its descriptors. Shapes are refused before any system call; lookups run against the
// real kernel, and each write is checked from outside the module (/proc, getsockopt by number, ss).
import { deepEqual, equal, notEqual, throws } from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { syscalls } from "../ffi/mod.ts";
import { getKeepalive, getTcpInfo, type KeepaliveTarget, setKeepalive } from "../mod.ts";
import { linux } from "../platforms/_linux.ts";
import { windows } from "../platforms/_windows.ts";
import { finderFor } from "../targets/mod.ts";
import { parseIp } from "../targets/_ip.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import { fdOf, kernelValuesAt, procFds } from "./_kernel.ts";
import { Bun, openPair } from "./_net.ts";
import { recording } from "./_recording.ts";
import { runtime, test, testUnder } from "./_harness.ts";

const LISTEN = "0A";

/** A Deno-connection-shaped target: found by its addresses under any runtime. */
function byAddress(localPort: number, remotePort: number, host = "127.0.0.1") {
  return {
    localAddr: { transport: "tcp", hostname: host, port: localPort },
    remoteAddr: { transport: "tcp", hostname: host, port: remotePort },
  };
}

const v6 = (...words: number[]) => words.flatMap((word) => [word >> 8, word & 0xff]);
const IP_LITERALS: [string, number[] | undefined][] = [
  ["127.0.0.1", [127, 0, 0, 1]],
  ["0.0.0.0", [0, 0, 0, 0]],
  ["255.255.255.255", [255, 255, 255, 255]],
  ["::1", v6(0, 0, 0, 0, 0, 0, 0, 1)],
  ["[::1]", v6(0, 0, 0, 0, 0, 0, 0, 1)],
  ["::", v6(0, 0, 0, 0, 0, 0, 0, 0)],
  ["fe80::1%eth0", v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
  ["[fe80::1%25eth0]", v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
  ["2001:db8::8:800:200c:417a", v6(0x2001, 0xdb8, 0, 0, 0x8, 0x800, 0x200c, 0x417a)],
  ["1:2:3:4:5:6:7:8", v6(1, 2, 3, 4, 5, 6, 7, 8)],
  ["::ffff:10.0.0.1", [10, 0, 0, 1]], // IPv4-mapped: the IPv4 address, so both spellings match
  ["::ffff:a00:1", [10, 0, 0, 1]],
  ["::1.2.3.4", v6(0, 0, 0, 0, 0, 0, 0x102, 0x304)], // IPv4-compatible is not mapped
  ["localhost", undefined],
  ["example.com", undefined],
  ["256.1.1.1", undefined],
  ["1.2.3", undefined],
  ["01.2.3.4.5", undefined],
  ["1::2::3", undefined],
  ["1:2:3:4:5:6:7:8:9", undefined],
  ["1:2:3:4:5:6:7::8", undefined],
  ["12345::1", undefined],
  ["", undefined],
];

test("parseIp() reads every IP literal form and nothing else", () => {
  for (const [text, bytes] of IP_LITERALS) {
    deepEqual(parseIp(text) && [...parseIp(text)!], bytes, text);
  }
});

/** A binding that fails the test on any call. */
const NO_CALLS: Syscalls = new Proxy({} as Syscalls, {
  get: (_target, name) => () => {
    throw new Error(`a system call (${String(name)}) was made`);
  },
});

const refusedTargets: [string, unknown, "TypeError" | "RangeError", RegExp][] = [
  ["a string descriptor", "22", "TypeError", /^target must be a descriptor or a Deno, Bun or node:net .*; got "22"$/],
  ["a bigint descriptor", 22n, "TypeError", /; got 22n$/],
  [
    "a descriptor past 32 bits",
    2 ** 32 + 5,
    "RangeError",
    /^target must be an integer from 0 to 2147483647 \(a Linux descriptor\); got 4294967301$/,
  ],
  ["a descriptor past INT_MAX", 2 ** 31, "RangeError", /got 2147483648$/],
  ["-1", -1, "RangeError", /got -1$/],
  ["1.5", 1.5, "RangeError", /got 1\.5$/],
  ["NaN", NaN, "RangeError", /got NaN$/],
  ["null", null, "TypeError", /got null$/],
  ["an empty object", {}, "TypeError", /got an object$/],
  ["a Map", new Map(), "TypeError", /got a Map$/],
  [
    "a Bun-like fd past 32 bits",
    { fd: 2 ** 32 + 3 },
    "RangeError",
    /^the socket's fd must be an integer from 0 to 2147483647 .*got 4294967299$/,
  ],
  [
    "an address without a port",
    { addr: { transport: "tcp", hostname: "127.0.0.1" } },
    "TypeError",
    /^Deno listener has no TCP port: its address is "127\.0\.0\.1" port undefined$/,
  ],
  [
    "a connection whose peer has no port",
    { localAddr: { hostname: "::1", port: 5 }, remoteAddr: { hostname: "::1" } },
    "TypeError",
    /^Deno connection has no TCP port/,
  ],
];
for (const [what, target, name, message] of refusedTargets) {
  test(`finderFor() refuses ${what} before any system call`, () => {
    throws(() => finderFor(target as KeepaliveTarget, linux)(NO_CALLS), { name, message });
  });
}

test("finderFor() takes Windows' range: 32 bits of handle value", () => {
  deepEqual(finderFor(2 ** 31, windows)(NO_CALLS), [2 ** 31]);
  throws(() => finderFor(2 ** 32, windows), { message: /from 0 to 4294967295 \(a Windows SOCKET\); got 4294967296$/ });
});

const notTcp: [string, unknown, RegExp][] = [
  [
    "a Deno Unix-domain listener",
    { addr: { transport: "unix", path: "/tmp/x.sock" } },
    /^EOPNOTSUPP: Deno listener is a unix socket; keepalive needs TCP$/,
  ],
  [
    "a Bun.serve({ unix }) server",
    { url: new URL("unix:///tmp/x.sock"), port: undefined },
    /^EOPNOTSUPP: Bun server is a unix socket; keepalive needs TCP$/,
  ],
  [
    "a node:net server on a path",
    { address: () => "/tmp/x.sock" },
    /^EOPNOTSUPP: node:net server is a Unix-domain socket/,
  ],
];
for (const [what, target, message] of notTcp) {
  test(`finderFor() says ${what} is not TCP, before any system call`, () => {
    throws(() => finderFor(target as KeepaliveTarget, linux), { code: "EOPNOTSUPP", message });
  });
}

test("a node:dgram socket is refused as UDP, before any system call", async () => {
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
  try {
    throws(() => finderFor(udp as never, linux), { code: "EOPNOTSUPP", message: /node:dgram socket is a UDP socket/ });
  } finally {
    udp.close();
  }
});

test("a node:net socket still connecting is told to wait for 'connect', not called closed", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  try {
    throws(() => setKeepalive(socket, {}), {
      code: "ENOTCONN",
      message: /node:net socket is still connecting; call this once/,
    });
    await new Promise((resolve) => socket.once("connect", resolve));
    equal(setKeepalive(socket, { count: 4 }).count, 4);
  } finally {
    socket.destroy();
    server.close();
  }
});

test("a node:net socket on a Unix-domain path is called not TCP, not closed", async () => {
  const path = `/tmp/tcp-keepalive-${process.pid}-targets.sock`;
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const socket = net.connect(path);
  try {
    await new Promise((resolve) => socket.once("connect", resolve));
    throws(() => setKeepalive(socket, {}), { code: "EOPNOTSUPP", message: /node:net socket is a Unix-domain socket/ });
    throws(() => setKeepalive(server, {}), { code: "EOPNOTSUPP", message: /node:net server is a Unix-domain socket/ });
  } finally {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

testUnder("bun", "Bun.serve({ unix }) is called not TCP", () => {
  const server = Bun.serve({ unix: `/tmp/tcp-keepalive-${process.pid}-serve.sock`, fetch: () => new Response("") });
  try {
    throws(() => setKeepalive(server, {}), { code: "EOPNOTSUPP", message: /^EOPNOTSUPP: Bun server is a unix socket/ });
  } finally {
    server.stop(true);
  }
});

testUnder("bun", "setKeepalive(2 ** 32 + fd) is refused, not wrapped round to fd", async () => {
  using pair = await openPair("127.0.0.1");
  const fd = fdOf(pair.client);
  const before = kernelValuesAt(fd);
  throws(() => setKeepalive(2 ** 32 + fd, { count: 3 }), { name: "RangeError" });
  deepEqual(kernelValuesAt(fd), before);
});

/** A node:net server whose accepted sockets are never read, so a reset stays unnoticed and they stay open. */
async function quietServer() {
  const server = net.createServer({ pauseOnConnect: true });
  const accepted: net.Socket[] = [];
  server.on("connection", (socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const connect = async () => {
    const client = net.connect(port, "127.0.0.1");
    client.on("error", () => {});
    await new Promise((resolve) => client.once("connect", resolve));
    while (accepted.length === 0 || accepted.at(-1)!.remotePort !== client.localPort) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { client, accepted: accepted.at(-1)! };
  };
  const close = () => new Promise((resolve) => (accepted.forEach((s) => s.destroy()), server.close(resolve)));
  return { server, port, connect, close, [Symbol.asyncDispose]: async () => void await close() };
}

test("a connection reset by its peer is never taken for its listener (SO_ACCEPTCONN)", async () => {
  await using quiet = await quietServer();
  const { client, accepted } = await quiet.connect();
  const acceptedTarget = byAddress(quiet.port, client.localPort!);
  setKeepalive(acceptedTarget, { count: 5 }); // found once, so a guess looks there first
  const acceptedFd = fdOf(acceptedTarget);
  client.resetAndDestroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  setKeepalive(quiet.server, { idleMs: 22_000 });
  const [listenerFd] = procFds("tcp", quiet.port, LISTEN);
  equal(kernelValuesAt(listenerFd).TCP_KEEPIDLE, 22);
  if (runtime === "deno") deepEqual(kernelValuesAt(acceptedFd).TCP_KEEPIDLE, 7200, "the dead connection untouched");
  void accepted;
});

testUnder("deno", "a connection reset by its peer is said to be so (ENOTCONN), not called closed", async () => {
  await using quiet = await quietServer();
  const { client } = await quiet.connect();
  const clientPort = client.localPort!;
  client.resetAndDestroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  throws(() => setKeepalive(byAddress(quiet.port, clientPort), {}), {
    code: "ENOTCONN",
    message: /^ENOTCONN: Deno connection 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ has no peer any more: it was reset/,
  });
});

/** Connects to `port` from `localPort`, which a runtime may take a moment to let go of after a reset. */
async function connectFrom(localPort: number, port: number): Promise<net.Socket> {
  for (let attempt = 1;; attempt++) {
    const client = net.connect({ port, host: "127.0.0.1", localPort });
    try {
      await new Promise((resolve, reject) => (client.once("connect", resolve), client.once("error", reject)));
      return client;
    } catch (error) {
      client.destroy();
      if (attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

test("a closed connection whose address pair comes back is not taken for the new one (SO_COOKIE)", async () => {
  await using quiet = await quietServer();
  const first = await quiet.connect();
  const port = first.client.localPort!;
  const old = byAddress(port, quiet.port);
  setKeepalive(old, { count: 3 });
  first.accepted.resetAndDestroy(); // a reset leaves no TIME_WAIT, so the same port can connect again
  await new Promise((resolve) => first.client.once("close", resolve));
  const client = await connectFrom(port, quiet.port);
  try {
    throws(() => setKeepalive(old, { count: 7 }), { code: "EBADF", message: /Deno connection .* is closed$/ });
    const [fd] = procFds("tcp", port, "01");
    equal(kernelValuesAt(fd).TCP_KEEPCNT, 9, "the new connection untouched");
    equal(setKeepalive(byAddress(port, quiet.port), { count: 7 }).count, 7);
  } finally {
    client.destroy();
  }
});

test("a node:net socket that connects again is found at its new connection", async () => {
  await using quiet = await quietServer();
  const { client } = await quiet.connect();
  setKeepalive(client, { count: 3 });
  const firstPort = client.localPort;
  client.destroy();
  await new Promise((resolve) => client.once("close", resolve));
  client.connect(quiet.port, "127.0.0.1");
  await new Promise((resolve) => client.once("connect", resolve));
  notEqual(client.localPort, firstPort);
  equal(setKeepalive(client, { count: 6 }).count, 6);
  equal(kernelValuesAt(procFds("tcp", client.localPort!, "01")[0]).TCP_KEEPCNT, 6);
  client.destroy();
});

test("a remembered connection costs one call more: getsockopt(SO_COOKIE)", async () => {
  using pair = await openPair("127.0.0.1");
  const target = byAddress(pair.clientPort, pair.listenerPort);
  const fd = finderFor(target, linux)(syscalls())[0];
  const sys = recording(syscalls());
  deepEqual(finderFor(target, linux)(sys), [fd]);
  deepEqual(sys.calls, [["getsockopt", fd, 1, 57, undefined, [8]]]);
});

test("a new connection is found by a guess where the last one closed, without a walk", async () => {
  const first = await openPair("127.0.0.1");
  const firstTarget = byAddress(first.clientPort, first.listenerPort);
  finderFor(firstTarget, linux)(syscalls());
  first.close();
  using second = await openPair("127.0.0.1");
  const sys = recording(syscalls());
  const target = byAddress(second.clientPort, second.listenerPort);
  deepEqual(finderFor(target, linux)(sys), [fdOf(second.client)]);
  equal(sys.calls.some((call) => call[0] === "listing"), false, "no walk");
  // The closed connection's descriptor was reused by the new one: never mistaken for it.
  throws(() => finderFor(firstTarget, linux)(syscalls()), { code: "EBADF" });
});

test("two connections to the same peer each get their own descriptor", async () => {
  using pair = await openPair("127.0.0.1");
  const second = net.connect(pair.listenerPort, "127.0.0.1");
  await new Promise((resolve) => second.once("connect", resolve));
  try {
    const one = byAddress(pair.clientPort, pair.listenerPort);
    const two = byAddress(second.localPort!, pair.listenerPort);
    const [[a], [b]] = [finderFor(one, linux)(syscalls()), finderFor(two, linux)(syscalls())];
    notEqual(a, b);
    deepEqual([a, b], [procFds("tcp", pair.clientPort, "01")[0], procFds("tcp", second.localPort!, "01")[0]]);
    // Again, from what was remembered, in the other order.
    deepEqual([finderFor(two, linux)(syscalls()), finderFor(one, linux)(syscalls())], [[b], [a]]);
  } finally {
    second.destroy();
  }
});

test("a node:net socket destroyed after a call is closed (EBADF), as one never used is", async () => {
  for (const usedOnce of [true, false]) {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    if (usedOnce) setKeepalive(socket, { count: 4 });
    socket.destroy();
    try {
      throws(() => setKeepalive(socket, { count: 5 }), {
        name: "KeepaliveError",
        code: "EBADF",
        message: "EBADF: node:net socket is closed",
      });
      throws(() => getTcpInfo(socket), { name: "KeepaliveError", code: "EBADF" });
    } finally {
      server.close();
    }
  }
});

test("a node:net server that listens again elsewhere is found at its new address", async () => {
  const server = net.createServer();
  const listen = () => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = () => (server.address() as net.AddressInfo).port;
  await listen();
  deepEqual(finderFor(server, linux)(syscalls()), procFds("tcp", port(), LISTEN));
  await new Promise((resolve) => server.close(resolve));
  throws(() => setKeepalive(server, {}), { code: "EBADF", message: /node:net server is not listening/ });
  await listen();
  try {
    deepEqual(finderFor(server, linux)(syscalls()), procFds("tcp", port(), LISTEN));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

testUnder("deno", "setKeepalive() finds a Deno.startTls connection, whose addresses carry no transport", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  const tls = Deno.startTls(conn, { hostname: "localhost" });
  const tlsConn = await tls;
  try {
    equal((tlsConn.localAddr as { transport?: string }).transport, undefined);
    equal(setKeepalive(tlsConn, { count: 4 }).count, 4);
    equal(kernelValuesAt(procFds("tcp", (tlsConn.localAddr as Deno.NetAddr).port, "01")[0]).TCP_KEEPCNT, 4);
  } finally {
    tlsConn.close();
    accepted.close();
    listener.close();
  }
});

/** The keepalive idle time, in seconds, of every listening socket at `port`, read without the module. */
const listenerIdles = (port: number) => procFds("tcp", port, LISTEN).map((fd) => kernelValuesAt(fd).TCP_KEEPIDLE);

/** Two node:net servers listening on one port with reusePort. */
async function sharingServers() {
  const first = net.createServer();
  await new Promise<void>((resolve) => first.listen({ port: 0, host: "127.0.0.1", reusePort: true }, resolve));
  const port = (first.address() as net.AddressInfo).port;
  const second = net.createServer();
  await new Promise<void>((resolve) => second.listen({ port, host: "127.0.0.1", reusePort: true }, resolve));
  equal(procFds("tcp", port, LISTEN).length, 2);
  return { first, second, port, close: () => (first.close(), second.close()) };
}

for (const only of ["deno", "bun"] as const) {
  testUnder(only, "node:net servers sharing a port (reusePort) are configured together, and read as one", async () => {
    const { first, second, port, close } = await sharingServers();
    try {
      setKeepalive(second, { idleMs: 22_000 });
      deepEqual(listenerIdles(port), [22, 22]);
      equal(getKeepalive(first).idleMs, 22_000);
      // Set apart through a descriptor, they no longer agree: reading them as one is refused, naming both.
      const [a] = procFds("tcp", port, LISTEN);
      setKeepalive(a, { count: 3 });
      throws(() => getKeepalive(first), {
        code: "EADDRINUSE",
        message: /2 listening sockets share this address .* TCP_KEEPCNT: /,
      });
      throws(() => setKeepalive(first, { idleMs: 5000 }), { code: "EADDRINUSE" });
      deepEqual(listenerIdles(port), [22, 22], "nothing written");
      equal(setKeepalive(first, { count: 3 }).count, 3);
    } finally {
      close();
    }
  });
}

testUnder(
  "node",
  "node:net servers sharing a port under Node: each is set through the descriptor Node hands out",
  async () => {
    const { first, second, port, close } = await sharingServers();
    try {
      setKeepalive(second, { idleMs: 22_000 });
      const secondFd = (second as unknown as { _handle: { fd: number } })._handle.fd;
      deepEqual(
        procFds("tcp", port, LISTEN).map((fd) => [fd, kernelValuesAt(fd).TCP_KEEPIDLE]).sort(),
        [
          [(first as unknown as { _handle: { fd: number } })._handle.fd, 7200],
          [secondFd, 22],
        ].sort(),
      );
      equal(getKeepalive(first).idleMs, 7_200_000);
    } finally {
      close();
    }
  },
);

testUnder("deno", "a closed Deno listener is closed (EBADF), even with a new listener on its port", () => {
  const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = first.addr;
  setKeepalive(first, { count: 4 }); // seen open once: its socket's cookie is remembered
  first.close();
  const second = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    throws(() => setKeepalive(first, { idleMs: 5000 }), {
      code: "EBADF",
      message: `EBADF: Deno listener 127.0.0.1:${port} is closed`,
    });
    throws(() => getTcpInfo(first), { code: "EBADF" });
    throws(() => getKeepalive(first), { code: "EBADF" });
    deepEqual(kernelValuesAt(procFds("tcp", port, LISTEN)[0]).TCP_KEEPIDLE, 7200, "the new listener is untouched");
    equal(setKeepalive(second, { count: 6 }).count, 6);
  } finally {
    second.close();
  }
});

testUnder("deno", "a Deno.serve server shut down is closed (EBADF), even with a new server on its port", async () => {
  const options = { hostname: "127.0.0.1", port: 0, onListen() {} };
  const first = Deno.serve(options, () => new Response("first"));
  const { port } = first.addr;
  setKeepalive(first, { count: 4 });
  await first.shutdown();
  const second = Deno.serve({ ...options, port }, () => new Response("second"));
  try {
    throws(() => setKeepalive(first, { idleMs: 5000 }), { code: "EBADF", message: /Deno listener .* is closed/ });
    deepEqual(kernelValuesAt(procFds("tcp", port, LISTEN)[0]).TCP_KEEPIDLE, 7200);
  } finally {
    await second.shutdown();
  }
});

testUnder("bun", "a Bun.serve server stopped is closed (EBADF), even with a new server on its port", async () => {
  const first = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("first") });
  const port = first.port;
  setKeepalive(first, { count: 4 });
  await first.stop(true);
  const second = Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response("second") });
  try {
    throws(() => setKeepalive(first, { idleMs: 5000 }), { code: "EBADF" });
    deepEqual(kernelValuesAt(procFds("tcp", port, LISTEN)[0]).TCP_KEEPIDLE, 7200);
  } finally {
    await second.stop(true);
  }
});

testUnder("deno", "two Deno.listen({ reusePort: true }) on one port: setting the second sets both", () => {
  const first = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
  const second = Deno.listen({ hostname: "127.0.0.1", port: first.addr.port, reusePort: true });
  try {
    setKeepalive(second, { idleMs: 22_000 });
    deepEqual(listenerIdles(first.addr.port), [22, 22]);
  } finally {
    first.close();
    second.close();
  }
});

test("windows: a new connection is looked for only where a socket closed lately, never at a non-handle value", async () => {
  // A module instance of its own: what it learns of this process's Linux descriptors is not Windows'.
  const { finderFor: windowsFinder } = await import(
    `../targets/_find.ts?windows`
  ) as typeof import("../targets/mod.ts");
  const { windowsWinsock } = await import("../ffi/_library_windows.ts");
  const sockets = new Map<number, [local: number, peer: number]>([[200, [50001, 443]]]);
  const sockaddr = (into: Uint8Array, port: number) => (into.set([2, 0, port >> 8, port & 0xff, 127, 0, 0, 1]), 16);
  const WSAENOTSOCK = 10038;
  const sys = recording({
    ...NO_CALLS,
    getsockname: (fd, into) => sockets.has(fd) ? sockaddr(into, sockets.get(fd)![0]) : -WSAENOTSOCK,
    getpeername: (fd, into) => sockets.has(fd) ? sockaddr(into, sockets.get(fd)![1]) : -WSAENOTSOCK,
    listing: () => windowsWinsock.listing({}, windowsWinsock.sockets({} as never), () => 0, "x86_64"),
  });
  const target = (port: number) => ({
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port },
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 443 },
  });
  deepEqual(windowsFinder(target(50001), windows)(sys), [200]); // the first: a walk
  sockets.delete(200);
  sockets.set(200, [50002, 443]); // Windows hands the freed handle value out again
  sys.calls.length = 0;
  deepEqual(windowsFinder(target(50002), windows)(sys), [200]);
  deepEqual(sys.calls.map(([name, fd]) => [name, fd]), [["getsockname", 200], ["getpeername", 200]], "no walk");
  sockets.set(204, [50003, 443]);
  sys.calls.length = 0;
  deepEqual(windowsFinder(target(50003), windows)(sys), [204]);
  const before = sys.calls.findIndex(([name]) => name === "listing");
  deepEqual(sys.calls.slice(0, before).map(([name, fd]) => [name, fd]), [["getsockname", 200]], "one guess");
  equal(sys.calls.every(([name, fd]) => name === "listing" || fd % 4 === 0), true);
});
