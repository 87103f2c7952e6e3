// A real dead peer: each case runs in a network namespace of its own, whose
// loopback the child takes down once the connection is set up (needs root and
// iproute2, as in CI).
import { deepEqual, equal, ok } from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TcpInfo } from "../mod.ts";
import { runtime, test } from "./_harness.ts";
import { testNamespace } from "./_net.ts";

const CHILD = fileURLToPath(new URL("./_mod_dead_peer_child.ts", import.meta.url));

async function cutPeer(
  mode: string,
  waitMs: number,
): Promise<{ outcome: string; elapsedMs: number; samples: TcpInfo[] }> {
  using namespace = testNamespace(`tcp-keepalive-${process.pid}-${mode}`);
  const run = runtime === "deno" ? ["run", "-A", CHILD] : [CHILD];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      "ip",
      ["netns", "exec", namespace.name, process.execPath, ...run, mode, String(waitMs)],
      (error, out, err) => error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    )
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

test("idle 1 s, interval 1 s, count 2: a pending read fails with ETIMEDOUT in 2 to 6 s", async () => {
  const { outcome, elapsedMs } = await cutPeer("tuned", 8000);
  equal(outcome, "ETIMEDOUT");
  ok(elapsedMs >= 2000 && elapsedMs <= 6000, `${elapsedMs} ms`);
}, 20_000);

test("the runtime's own setKeepAlive(true): the same read is still pending after 6 s", async () => {
  const { outcome, elapsedMs } = await cutPeer("runtime", 6000);
  equal(outcome, "pending");
  ok(elapsedMs >= 6000, `${elapsedMs} ms`);
}, 20_000);

test("userTimeoutMs 2000 with unacknowledged data: the connection fails in about 2 s", async () => {
  const { outcome, elapsedMs } = await cutPeer("user-timeout", 8000);
  equal(outcome, "ETIMEDOUT");
  ok(elapsedMs >= 1500 && elapsedMs <= 4000, `${elapsedMs} ms`);
}, 20_000);

/** Whether `values` never go down. */
const climbing = (values: number[]) => values.every((value, i) => i === 0 || value >= values[i - 1]);

test(
  "getTcpInfo, polled every 200 ms on an idle dead peer: probes climb 0, 1, 2, 3, the peer unheard longer, then ETIMEDOUT",
  async () => {
    const { outcome, elapsedMs, samples } = await cutPeer("info-probes", 10_000);
    equal(outcome, "ETIMEDOUT");
    const probes = samples.map((info) => info.keepaliveProbes!);
    deepEqual([...new Set(probes)], [0, 1, 2, 3], `probes ${probes.join(" ")}`);
    ok(climbing(probes));
    const unheard = samples.map((info) => info.sinceDataReceivedMs!);
    ok(climbing(unheard) && unheard.at(-1)! >= 3000, `since data received ${unheard.join(" ")}`);
    ok(samples.every((info) => info.state === "established"));
    console.log(`getTcpInfo: probes ${probes.join(" ")}; ETIMEDOUT after ${elapsedMs} ms`);
  },
  20_000,
);

test(
  "getTcpInfo with unacknowledged data after the cut: segments unacknowledged, retransmits climbing, until the user timeout",
  async () => {
    const { outcome, elapsedMs, samples } = await cutPeer("info-unacked", 10_000);
    equal(outcome, "ETIMEDOUT");
    ok(elapsedMs >= 2500 && elapsedMs <= 5000, `${elapsedMs} ms`);
    // A poll can come between the kernel dropping the connection and the runtime saying so: that sample is closed.
    const live = samples.filter((info) => info.state === "established");
    ok(samples.slice(live.length).every((info) => info.state === "closed"), JSON.stringify(samples));
    ok(live.length >= 10 && live.every((info) => info.unackedSegments! > 0), JSON.stringify(samples));
    const retransmits = samples.map((info) => info.totalRetransmits!);
    ok(climbing(retransmits) && retransmits.at(-1)! > retransmits[0], `retransmits ${retransmits.join(" ")}`);
    console.log(`getTcpInfo: retransmits ${retransmits.join(" ")}; ETIMEDOUT after ${elapsedMs} ms`);
  },
  20_000,
);
