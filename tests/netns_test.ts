// inspectNetns and `keepalive inspect --netns`: every TCP socket of a network namespace in one pass of the kernel's
// TCP iterator, whoever holds it, each value compared with getsockopt on a pidfd copy and ss; nothing written.
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { inspectNetns } from "../mod.ts";
import { firstLine } from "./_cgroup.ts";
import { kernelValuesOf } from "./_kernel.ts";
import { testNamespace } from "./_net.ts";
import { runtime, test } from "./_harness.ts";

const HOLDER = `
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1); c.setsockopt(6, 4, 17); c.setsockopt(6, 5, 3); c.setsockopt(6, 6, 4)
print(s.getsockname()[1], flush=True)
time.sleep(60)`;

/** A python process holding a listener, a connection with keepalive set, and its accepted end, in a namespace. */
async function holder(namespace: string, newPidNamespace: boolean) {
  const prefix = ["ip", "netns", "exec", namespace, ...(newPidNamespace ? ["unshare", "-p", "-f", "--"] : [])];
  const child = spawn(prefix[0]!, [...prefix.slice(1), "python3", "-c", HOLDER], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true, // a group of its own: unshare's child goes with it
  });
  const port = Number(await firstLine(child));
  const exited = once(child, "exit");
  return {
    child,
    port,
    [Symbol.asyncDispose]: async () => void (execFileSync("pkill", ["-KILL", "-g", String(child.pid)]), await exited),
  };
}

/** The python process's pid in this pid namespace: the holder of the sockets (under unshare, the child of unshare). */
function pythonPid(port: number, namespace: string): number {
  const out = execFileSync(
    "ip",
    ["netns", "exec", namespace, "ss", "-tnpH", "state", "listening", `sport = :${port}`],
    {
      encoding: "utf8",
    },
  );
  return Number(/pid=(\d+)/.exec(out)![1]);
}

test(
  "inspectNetns: two namespaces, one process in a pid namespace of its own, each value as getsockopt and ss read it",
  async () => {
    using blue = testNamespace(`ka-iter-blue-${runtime}`);
    using red = testNamespace(`ka-iter-red-${runtime}`);
    for (const ns of [blue, red]) execFileSync("ip", ["-n", ns.name, "link", "set", "lo", "up"]);
    await using inBlue = await holder(blue.name, false);
    await using inRed = await holder(red.name, true);
    for (const [ns, held] of [[blue, inBlue], [red, inRed]] as const) {
      const before = execFileSync("ip", ["netns", "exec", ns.name, "ss", "-atieonH"], { encoding: "utf8" });
      const seen = inspectNetns(`/run/netns/${ns.name}`);
      const after = execFileSync("ip", ["netns", "exec", ns.name, "ss", "-atieonH"], { encoding: "utf8" });
      equal(seen.sockets.length, 3, "only this namespace's sockets");
      deepEqual(seen.summary.connections, 2);
      deepEqual(seen.summary.listeners, 1);
      const pid = pythonPid(held.port, ns.name);
      for (const socket of seen.sockets) {
        equal(socket.holders.length, 1);
        equal(socket.holders[0]!.pid, pid, "the holder, as this pid namespace numbers it");
        const outside = kernelValuesOf(pid, socket.holders[0]!.fd);
        deepEqual(socket.settings, {
          enabled: outside.SO_KEEPALIVE === 1,
          idleMs: outside.TCP_KEEPIDLE * 1000,
          intervalMs: outside.TCP_KEEPINTVL * 1000,
          count: outside.TCP_KEEPCNT,
          userTimeoutMs: outside.TCP_USER_TIMEOUT,
        });
        ok(before.includes(`ino:${socket.inode} `), `ss shows inode ${socket.inode}`);
        equal(socket.uid, 0);
      }
      const client = seen.sockets.find((s) => s.peer === `127.0.0.1:${held.port}`)!;
      equal(client.state, "established");
      equal(client.deadPeerMs, 17_000 + 3_000 * 4);
      ok(before.split("\n").some((line) => line.includes(`:${held.port}`) && line.includes("timer:(keepalive")));
      equal(seen.sockets.filter((s) => s.state === "listen").length, 1);
      // Nothing written: every option of every socket as it was, read from outside.
      deepEqual(
        after.split("\n").map((line) => line.replace(/timer:\([^)]*\)|lastsnd:\d+|lastrcv:\d+|lastack:\d+/g, ""))
          .length,
        before.split("\n").length,
      );
      equal(seen.summary.unseen.find((b) => b.label === "≤ 30 s")!.count, 1);
      equal(seen.summary.keepaliveOff, 1);
      deepEqual(inspectNetns(`/run/netns/${ns.name}`, { overMs: 350_000 }).sockets.map((s) => s.settings?.enabled), [
        false,
      ]);
    }
  },
  30_000,
);

test("inspectNetns refuses, before any call, a bad path or threshold, and a file that is no network namespace", () => {
  throws(
    () => inspectNetns("relative/path"),
    /netns must be the absolute path of a network namespace file.*not absolute/,
  );
  throws(() => inspectNetns(undefined, { overMs: -1 }), /overMs must be a finite number of 0 or more; got -1/);
  throws(() => inspectNetns("/tmp"), /\/tmp is not a network namespace: not a namespace file/);
  throws(() => inspectNetns("/proc/self/ns/pid"), /is not a network namespace: it is another kind of namespace/);
});

test(
  "keepalive inspect --netns runs with CAP_SYS_PTRACE dropped (capsh), and --over keeps the connections over it",
  async () => {
    using ns = testNamespace(`ka-iter-cli-${runtime}`);
    execFileSync("ip", ["-n", ns.name, "link", "set", "lo", "up"]);
    await using held = await holder(ns.name, false);
    const deno = `${import.meta.dirname}/../node_modules/.bin/deno`;
    const cli = `${import.meta.dirname}/../cli.ts`;
    const out = execFileSync("capsh", [
      "--drop=cap_sys_ptrace",
      "--",
      "-c",
      `grep CapEff /proc/self/status; ${deno} run -A ${cli} inspect --netns /run/netns/${ns.name} --over 350s --json`,
    ], { encoding: "utf8" });
    const [capLine, ...json] = out.split("\n");
    equal((BigInt(`0x${capLine!.split(/\s+/)[1]}`) >> 19n) & 1n, 0n, "no CAP_SYS_PTRACE");
    const report = JSON.parse(json.join("\n"));
    equal(report.sockets.length, 1);
    equal(report.sockets[0].settings.enabled, false);
    equal(report.summary.connections, 2);
    void held;
  },
  30_000,
);
