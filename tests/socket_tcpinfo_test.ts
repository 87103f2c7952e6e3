// socket/_tcpinfo.ts and getTcpInfo: each OS's struct decoded from bytes laid out here from its C header (not from the
// platform table), through a recording of the exact call; and the real Linux kernel, cross-checked with ss.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { syscalls } from "../ffi/mod.ts";
import { getKeepalive, getTcpInfo, type TcpInfo } from "../mod.ts";
import { readTcpInfo } from "../socket/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import { takenFd } from "./_kernel.ts";
import { openPair } from "./_net.ts";
import { type Call, recording } from "./_recording.ts";
import { test } from "./_harness.ts";

const FD = 9;
const NOTHING: Omit<TcpInfo, "state"> = {
  rttMs: undefined,
  rttVarianceMs: undefined,
  unackedSegments: undefined,
  acceptQueue: undefined,
  totalRetransmits: undefined,
  keepaliveProbes: undefined,
  sinceDataSentMs: undefined,
  sinceDataReceivedMs: undefined,
  sinceAckReceivedMs: undefined,
};

/** A struct as the kernel writes it: `[offset, bytes, value]` little-endian, `written` bytes long. */
function struct(fields: [number, 1 | 4 | 8, number][]): (into: Uint8Array) => void {
  return (into) => {
    const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
    for (const [offset, bytes, value] of fields) {
      if (bytes === 1) view.setUint8(offset, value);
      else if (bytes === 4) view.setUint32(offset, value, true);
      else view.setBigUint64(offset, BigInt(value), true);
    }
  };
}

/** A binding whose getsockopt (or WSAIoctl with output) fills the struct and reports `written` bytes, or fails. */
function kernel(fill: (into: Uint8Array) => void, written: number | ((asked: number) => number)): Syscalls {
  const answer = (into: Uint8Array) => {
    const length = typeof written === "number" ? written : written(into.byteLength);
    into.fill(0).fill(0xee, length); // what the kernel did not write must not be read
    fill(into.subarray(0, length));
    return length;
  };
  return {
    getsockopt: (_fd, _level, _option, into) => answer(into),
    ioctl: (_fd, _code, _input, output) => answer(output!),
  } as Syscalls;
}

test("linux: TCP_INFO (6, 11) into 104 bytes: every field where <linux/tcp.h> puts it", () => {
  const sys = recording(kernel(
    struct([[0, 1, 1], [3, 1, 2], [24, 4, 3], [44, 4, 4000], [52, 4, 5000], [56, 4, 1500], [68, 4, 250], [
      72,
      4,
      125,
    ], [100, 4, 7]]),
    (asked) => asked,
  ));
  deepEqual(readTcpInfo(sys, platformFor("linux"), FD), {
    state: "established",
    rttMs: 0.25,
    rttVarianceMs: 0.125,
    unackedSegments: 3,
    acceptQueue: undefined,
    totalRetransmits: 7,
    keepaliveProbes: 2,
    sinceDataSentMs: 4000,
    sinceDataReceivedMs: 5000,
    sinceAckReceivedMs: 1500,
  });
  deepEqual(sys.calls, [["getsockopt", FD, 6, 11, undefined, [104]]] satisfies Call[]);
});

test("linux: a kernel that wrote fewer bytes: fields past them are undefined, never read from stale memory", () => {
  const sys = kernel(struct([[0, 1, 1], [56, 4, 9]]), 60);
  deepEqual(readTcpInfo(sys, platformFor("linux"), FD), {
    ...NOTHING,
    state: "established",
    unackedSegments: 0,
    keepaliveProbes: 0,
    sinceDataSentMs: 0,
    sinceDataReceivedMs: 0,
    sinceAckReceivedMs: 9,
  });
});

test("linux: a listener has its accept queue (tcpi_unacked there), and no connection's fields", () => {
  // tcp_get_info() on a listener: sk_ack_backlog in tcpi_unacked, sk_max_ack_backlog in tcpi_sacked, then returns.
  const sys = kernel(struct([[0, 1, 10], [24, 4, 3], [28, 4, 511], [68, 4, 0]]), 104);
  deepEqual(readTcpInfo(sys, platformFor("linux"), FD), { ...NOTHING, state: "listen", acceptQueue: 3 });
});

for (const [state, name] of [[7, "closed"], [2, "syn-sent"]] as const) {
  test(`linux: a socket ${name}, never set up, has no times since: the kernel counts them from boot`, () => {
    const sys = kernel(struct([[0, 1, state], [44, 4, 623_000], [52, 4, 623_000], [56, 4, 623_000]]), 104);
    deepEqual(readTcpInfo(sys, platformFor("linux"), FD), {
      ...NOTHING,
      state: name,
      unackedSegments: 0,
      totalRetransmits: 0,
      keepaliveProbes: 0,
      rttMs: 0,
      rttVarianceMs: 0,
    });
  });
}

test("darwin: TCP_CONNECTION_INFO (6, 0x106) into 112 bytes: state, srtt and rttvar in ms, u64 retransmitted packets", () => {
  // struct tcp_connection_info: u8 state; ...; u32 srtt at 44, rttvar at 48 (ms); u64 txretransmitpackets at 104.
  const sys = recording(kernel(struct([[0, 1, 4], [44, 4, 12], [48, 4, 3], [104, 8, 2 ** 33 + 5]]), 112));
  deepEqual(readTcpInfo(sys, platformFor("darwin"), FD), {
    ...NOTHING,
    state: "established",
    rttMs: 12,
    rttVarianceMs: 3,
    totalRetransmits: 2 ** 33 + 5,
  });
  deepEqual(sys.calls, [["getsockopt", FD, 6, 0x106, undefined, [112]]] satisfies Call[]);
});

test("freebsd: TCP_INFO (6, 32) into 124 bytes: rtt in µs, last_data_recv in µs, snd_rexmitpack; no probe counter", () => {
  // TCPS_CLOSE_WAIT is 5 in 4.4BSD's numbering.
  const sys = recording(kernel(
    struct([[0, 1, 5], [3, 1, 9], [24, 4, 9], [52, 4, 250_000], [68, 4, 1500], [
      72,
      4,
      500,
    ], [120, 4, 6]]),
    124,
  ));
  deepEqual(readTcpInfo(sys, platformFor("freebsd"), FD), {
    ...NOTHING,
    state: "close-wait",
    rttMs: 1.5,
    rttVarianceMs: 0.5,
    totalRetransmits: 6,
    sinceDataReceivedMs: 250,
  });
  deepEqual(sys.calls, [["getsockopt", FD, 6, 32, undefined, [124]]] satisfies Call[]);
});

test("windows: WSAIoctl(SIO_TCP_INFO) with version 0 into a TCP_INFO_v0 of 88 bytes: its state and RttUs", () => {
  const sys = recording(kernel(struct([[0, 4, 4], [20, 4, 800], [28, 4, 1460]]), 88));
  deepEqual(readTcpInfo(sys, platformFor("windows"), FD), { ...NOTHING, state: "established", rttMs: 0.8 });
  deepEqual(sys.calls, [["ioctl", FD, 0xd8000027, 88, undefined, [0, 0, 0, 0]]] satisfies Call[]);
});

test("windows before 1703 (and Wine): WSAEOPNOTSUPP says this Windows has no SIO_TCP_INFO", () => {
  const sys = { ioctl: () => -10045 } as unknown as Syscalls;
  throws(() => readTcpInfo(sys, platformFor("windows"), FD), {
    code: "EOPNOTSUPP",
    message: `EOPNOTSUPP: this Windows has no SIO_TCP_INFO (WSAIoctl SIO_TCP_INFO fd ${FD})`,
  });
});

/** What `ss -ti` prints for the connection from `port`: its rtt and rttvar, in milliseconds. */
function ssRtt(port: number): [number, number] {
  const out = execFileSync("ss", ["-tinH", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  const match = /\brtt:([\d.]+)\/([\d.]+)/.exec(out);
  if (!match) throw new Error(`ss shows no rtt for port ${port}: ${out}`);
  return [Number(match[1]), Number(match[2])];
}

test("a live loopback connection: established, its rtt what ss -ti prints, nothing unacknowledged when idle", async () => {
  using pair = await openPair("127.0.0.1");
  pair.send(new Uint8Array(100));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const info = getTcpInfo(pair.client);
  const [rtt, rttVariance] = ssRtt(pair.clientPort);
  equal(info.state, "established");
  ok(info.rttMs! > 0, `rtt ${info.rttMs}`);
  // ss prints tcpi_rtt / 1000 with %g: three decimals at most here.
  ok(Math.abs(info.rttMs! - rtt) < 0.0015, `getTcpInfo ${info.rttMs} ms, ss ${rtt} ms`);
  ok(Math.abs(info.rttVarianceMs! - rttVariance) < 0.0015, `getTcpInfo ${info.rttVarianceMs} ms, ss ${rttVariance}`);
  equal(info.unackedSegments, 0);
  equal(info.keepaliveProbes, 0);
  ok(info.sinceDataSentMs! >= 90 && info.sinceDataSentMs! < 5000, `since data sent ${info.sinceDataSentMs}`);
});

test("a listener reports listen; a closed target gets the errors getKeepalive gives", async () => {
  const pair = await openPair("127.0.0.1");
  equal(getTcpInfo(pair.listener).state, "listen");
  equal(getTcpInfo(pair.accepted).state, "established");
  pair.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const target of [pair.client, pair.listener]) {
    let expected: unknown;
    try {
      getKeepalive(target);
    } catch (error) {
      expected = error;
    }
    ok(expected instanceof Error, "getKeepalive refused the closed target");
    throws(() => getTcpInfo(target), { name: expected.name, code: (expected as { code?: string }).code });
  }
});

test("a listener with connections waiting: its accept queue, as ss shows it, and no connection's fields", async () => {
  // python3 listens and is connected to 3 times, and accepts none of them.
  const script = `import socket, sys
listener = socket.create_server(("127.0.0.1", 0), backlog=8)
clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
print(listener.fileno(), listener.getsockname()[1], flush=True)
sys.stdin.readline()`;
  using python = spawn("/usr/bin/python3", ["-c", script]);
  const [line] = await once(createInterface({ input: python.stdout }), "line");
  const [fd, port] = String(line).split(" ").map(Number);
  const own = takenFd(python.pid!, fd);
  try {
    const info = getTcpInfo(own);
    deepEqual(info, { ...NOTHING, state: "listen", acceptQueue: 3 });
    const ss = execFileSync("ss", ["-ltnH", `( sport = :${port} )`], { encoding: "utf8" }).trim().split(/\s+/);
    equal(Number(ss[1]), 3, `ss's Recv-Q: ${ss}`);
  } finally {
    syscalls().close(own);
  }
});

test("a socket never connected is closed, with no times since: never the kernel's count from boot", () => {
  const sys = syscalls();
  const fd = sys.socket(2, 1);
  try {
    const info = getTcpInfo(fd);
    equal(info.state, "closed");
    deepEqual([info.sinceDataSentMs, info.sinceDataReceivedMs, info.sinceAckReceivedMs], [
      undefined,
      undefined,
      undefined,
    ]);
  } finally {
    sys.close(fd);
  }
});
