// A real dead peer: each case runs in a network namespace of its own, whose
// loopback the child takes down once the connection is set up (needs root and
// iproute2, as in CI).
import { equal, ok } from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runtime, test } from "./_harness.ts";

const CHILD = fileURLToPath(new URL("./_mod_dead_peer_child.ts", import.meta.url));

async function cutPeer(mode: string, waitMs: number): Promise<{ outcome: string; elapsedMs: number }> {
  const namespace = `tcp-keepalive-${process.pid}-${mode}`;
  execFileSync("ip", ["netns", "add", namespace]);
  try {
    const run = runtime === "deno" ? ["run", "-A", CHILD] : [CHILD];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        "ip",
        ["netns", "exec", namespace, process.execPath, ...run, mode, String(waitMs)],
        (error, out, err) => error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      )
    );
    return JSON.parse(stdout.trim().split("\n").at(-1)!);
  } finally {
    execFileSync("ip", ["netns", "del", namespace]);
  }
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
