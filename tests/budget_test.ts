// What each call costs in system calls, counted on real sockets; and the guesses
// that find a Deno socket's descriptor without a walk, never wrongly.
import { deepEqual, equal, notEqual, throws } from "node:assert/strict";
import net from "node:net";
import { applyKeepalive, readKeepalive } from "../_keepalive.ts";
import { syscalls } from "../ffi/mod.ts";
import { linux } from "../platforms/linux.ts";
import { checkTarget } from "../targets.ts";
import { fdOf } from "./_kernel.ts";
import { openPair } from "./_net.ts";
import { recording } from "./_recording.ts";
import { test } from "./_harness.ts";

const names = (calls: unknown[][]) => calls.map((call) => call[0]);

/** A Deno-connection-shaped target: found by its addresses under either runtime. */
function byAddress(localPort: number, remotePort: number) {
  return {
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: localPort },
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: remotePort },
  };
}

test("setKeepalive(fd) reads each option once and writes only what changes, TCP level first", async () => {
  const pair = await openPair("127.0.0.1");
  try {
    const fd = fdOf(pair.client);
    const sys = recording(syscalls());
    applyKeepalive(() => sys, linux, fd, { idleMs: 5000, count: 3 });
    deepEqual(names(sys.calls), [...Array(5).fill("getsockopt"), "setsockopt", "setsockopt", "setsockopt"]);
    deepEqual(sys.calls.filter((call) => call[0] === "setsockopt").map((call) => call[2]), [6, 6, 1]);
    sys.calls.length = 0;
    applyKeepalive(() => sys, linux, fd, { idleMs: 5000, count: 3 }); // nothing changes
    deepEqual(names(sys.calls), Array(5).fill("getsockopt"));
    sys.calls.length = 0;
    readKeepalive(() => sys, linux, fd);
    deepEqual(names(sys.calls), Array(5).fill("getsockopt"));
  } finally {
    pair.close();
  }
});

test("a remembered connection costs two calls more: getsockname and getpeername", async () => {
  const pair = await openPair("127.0.0.1");
  try {
    const target = byAddress(pair.clientPort, pair.listenerPort);
    readKeepalive(syscalls, linux, target);
    const sys = recording(syscalls());
    readKeepalive(() => sys, linux, target);
    deepEqual(names(sys.calls), ["getsockname", "getpeername", ...Array(5).fill("getsockopt")]);
  } finally {
    pair.close();
  }
});

test("a new connection is found by a guess where the last one closed, without a walk", async () => {
  const first = await openPair("127.0.0.1");
  const firstTarget = byAddress(first.clientPort, first.listenerPort);
  checkTarget(firstTarget)(syscalls(), linux);
  first.close();
  const second = await openPair("127.0.0.1");
  try {
    const sys = recording(syscalls());
    const target = byAddress(second.clientPort, second.listenerPort);
    const fd = checkTarget(target)(sys, linux);
    equal(fd, fdOf(second.client));
    equal(names(sys.calls).includes("descriptors"), false, "no walk");
    // The closed connection's descriptor was reused by the new one: never mistaken for it.
    throws(() => checkTarget(firstTarget)(syscalls(), linux), { code: "EBADF" });
  } finally {
    second.close();
  }
});

/** The local port of a descriptor, read with getsockname. */
function localPortOf(fd: number): number {
  const address = new Uint8Array(128);
  equal(syscalls().getsockname(fd, address) > 0, true);
  return address[2] << 8 | address[3];
}

test("two connections to the same peer each get their own descriptor", async () => {
  const pair = await openPair("127.0.0.1");
  const second = net.connect(pair.listenerPort, "127.0.0.1");
  await new Promise((resolve) => second.once("connect", resolve));
  try {
    const one = byAddress(pair.clientPort, pair.listenerPort);
    const two = byAddress(second.localPort!, pair.listenerPort);
    const [a, b] = [checkTarget(one)(syscalls(), linux), checkTarget(two)(syscalls(), linux)];
    notEqual(a, b);
    deepEqual([localPortOf(a), localPortOf(b)], [pair.clientPort, second.localPort]);
    // Again, from what was remembered, in the other order.
    deepEqual([checkTarget(two)(syscalls(), linux), checkTarget(one)(syscalls(), linux)], [b, a]);
  } finally {
    second.destroy();
    pair.close();
  }
});

test("a node:net server that listens again elsewhere is found at its new address", async () => {
  const server = net.createServer();
  const listen = () => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await listen();
  const first = checkTarget(server)(syscalls(), linux);
  equal(localPortOf(first), (server.address() as net.AddressInfo).port);
  await new Promise((resolve) => server.close(resolve));
  await listen();
  try {
    equal(localPortOf(checkTarget(server)(syscalls(), linux)), (server.address() as net.AddressInfo).port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
