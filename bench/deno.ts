// deno run -A bench/deno.ts : the Deno side of the benchmarks, each group printed as a ratio of its baseline
// measured in the same run. Targets: all options on a descriptor <= 1.3x its bare calls; the first
// call on a fresh Deno connection <= 0.2 ms at 100, 1,000 and 10,000 sockets; a full
// walk at 10,000 <= 15 ms; a repeated call <= 1.3x its bare calls; accepting on a
// configured listener within 5% of an unconfigured one; getTcpInfo <= 1.3x a bare getsockopt(TCP_INFO).
import { getKeepalive, getTcpInfo, setKeepalive } from "../mod.ts";
import { group } from "./_group.ts";

const libc = Deno.dlopen("libc.so.6", {
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
}).symbols;
const value = new Int32Array(1);
const length = new Uint32Array(1);
const address = new Uint8Array(128);
// [level, option] in the order setKeepalive reads and writes them.
const OPTIONS = [[6, 4], [6, 5], [6, 6], [6, 18], [1, 9]];

function bareRead(fd: number): void {
  for (const [level, option] of OPTIONS) {
    length[0] = 4;
    libc.getsockopt(fd, level, option, value, length);
  }
}
function bareWrite(fd: number, values: number[]): void {
  OPTIONS.forEach(([level, option], i) => (value[0] = values[i], libc.setsockopt(fd, level, option, value, 4)));
}
function bareCheck(fd: number): void {
  length[0] = 128;
  libc.getsockname(fd, address, length);
  length[0] = 128;
  libc.getpeername(fd, address, length);
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = listener.addr.port;
const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
const held: Deno.Conn[] = []; // the server side of `conn`; the others are closed at once
(async () => {
  for await (const accepted of listener) held.length ? accepted.close() : held.push(accepted);
})();

// A descriptor the module needs no lookup for: the raw fd of one connection.
const conn = await connect();
const fd = (() => {
  for (let candidate = 3; candidate < 1024; candidate++) {
    length[0] = 128;
    if (
      libc.getsockname(candidate, address, length) === 0 && ((address[2] << 8) | address[3]) === conn.localAddr.port
    ) {
      return candidate;
    }
  }
  throw new Error("descriptor not found");
})();

let flip = 0;
const ALL = [{ idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 9000 }, {
  idleMs: 6000,
  intervalMs: 3000,
  count: 5,
  userTimeoutMs: 8000,
}];
await group("all options on a descriptor", "<= 1.3x", [
  ["bare: 5 getsockopt + 5 setsockopt", () => {
    bareRead(fd);
    bareWrite(fd, flip++ % 2 ? [5, 2, 4, 9000, 1] : [6, 3, 5, 8000, 1]);
  }],
  ["setKeepalive(fd, all options)", () => setKeepalive(fd, ALL[flip++ % 2])],
]);

const tcpInfo = new Uint8Array(104);
await group("getTcpInfo on a descriptor", "<= 1.3x", [
  ["bare: getsockopt(TCP_INFO), 104 bytes", () => {
    length[0] = tcpInfo.byteLength;
    libc.getsockopt(fd, 6, 11, tcpInfo, length);
  }],
  ["getTcpInfo(fd)", () => getTcpInfo(fd)],
]);

setKeepalive(conn, { idleMs: 5000 }); // remembered from here on
await group("repeated call on a Deno connection", "<= 1.3x", [
  ["bare: 2 checks + 5 getsockopt + 1 setsockopt", () => {
    bareCheck(fd);
    bareRead(fd);
    value[0] = flip++ % 2 ? 5 : 6;
    libc.setsockopt(fd, 6, 4, value, 4);
  }],
  ["setKeepalive(conn, { idleMs })", () => setKeepalive(conn, { idleMs: flip++ % 2 ? 5000 : 6000 })],
  ["getKeepalive(conn)", () => getKeepalive(conn)],
]);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

// The first call on a fresh connection, and a full walk (a connection no descriptor matches, so every one is
// checked), with more and more sockets open.
const gone = await connect();
gone.close();
const open: Deno.Listener[] = [];
for (const sockets of [100, 1_000, 10_000]) {
  while (open.length < sockets) open.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const firstMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const fresh = await connect();
    const start = performance.now();
    setKeepalive(fresh, { idleMs: 5000 });
    firstMs.push(performance.now() - start);
    fresh.close();
  }
  const walkMs: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = performance.now();
    try {
      setKeepalive(gone, { idleMs: 5000 });
    } catch {
      // EBADF, after the walk
    }
    walkMs.push(performance.now() - start);
  }
  console.log(
    `\n${sockets} sockets open: first setKeepalive on a new connection, median ${median(firstMs).toFixed(3)} ms ` +
      `(target: <= 0.2 ms); a full walk, median ${median(walkMs).toFixed(2)} ms (target: <= 15 ms at 10,000)`,
  );
}
for (const listener of open) listener.close();

// Servers: a listener configured once passes its options on in the kernel; nothing is called per connection.
const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const configured = Deno.listen({ hostname: "127.0.0.1", port: 0 });
setKeepalive(configured, { idleMs: 5000, intervalMs: 1000, count: 3 });
/** Accepts in a loop of its own; resolves each connection's promise once it is accepted. */
function acceptor(on: Deno.TcpListener): () => Promise<void> {
  let accepted = () => {};
  (async () => {
    for await (const conn of on) conn.close(), accepted();
  })();
  return async () => {
    const done = new Promise<void>((resolve) => accepted = resolve);
    const client = await Deno.connect({ hostname: "127.0.0.1", port: on.addr.port });
    await done;
    client.close();
  };
}
await group(
  "servers: connect and accept",
  "within 5%",
  [
    ["listener not configured", acceptor(plain)],
    ["listener configured once", acceptor(configured)],
  ],
  21,
  200,
);

conn.close();
for (const accepted of held) accepted.close();
listener.close();
plain.close();
configured.close();
