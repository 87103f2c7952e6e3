// inspectNetns and `keepalive inspect --netns`: every TCP socket of a network namespace in one pass of the kernel's
// TCP iterator, whoever holds it (a process in a pid namespace of its own, one a socket was passed to, none), each
// value compared with ss and getsockopt on a pidfd copy; nothing written.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { statSync } from "node:fs";
import { createInterface } from "node:readline";
import { inspectNetns } from "../mod.ts";
import { AS_NOBODY, CGROUP_ROOT, firstLine, PYTHON, startIn, testCgroup } from "./_cgroup.ts";
import { type KernelValues, kernelValuesOf } from "./_kernel.ts";
import { testNamespace } from "./_net.ts";
import { keepalive } from "./_cli.ts";
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

/**
 * A process that makes a connection to `port`, with keepalive on and an idle of 600 s, passes it to a process of
 * its own (SCM_RIGHTS) and exits; the receiver forks, so that two processes hold it, and says both pids and the
 * descriptor they hold it by.
 */
const PASSER = `
import os, socket, sys, time
a, b = socket.socketpair()
if os.fork() == 0:
    a.close()
    _, fds, _, _ = socket.recv_fds(b, 1, 1)
    child = os.fork()
    if child:
        print(os.getpid(), child, fds[0], flush=True)
    time.sleep(60)
    os._exit(0)
b.close()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1); s.setsockopt(6, 4, 600)
socket.send_fds(a, [b"x"], [s.fileno()])
os._exit(0)`;

/** ss's states, as the module names them. */
const SS_STATES: Record<string, string> = {
  ESTAB: "established",
  LISTEN: "listen",
  "SYN-SENT": "syn-sent",
  "SYN-RECV": "syn-received",
  "FIN-WAIT-1": "fin-wait-1",
  "FIN-WAIT-2": "fin-wait-2",
  "TIME-WAIT": "time-wait",
  "CLOSE-WAIT": "close-wait",
  "LAST-ACK": "last-ack",
  CLOSING: "closing",
  UNCONN: "closed",
};

/** A TCP socket as `ss -taoeH` shows it. */
interface SsSocket {
  state: string;
  timer: string | undefined;
  uid: number;
  inode: number;
  /** The cgroup's id (where ss cannot name it: `unreachable:HEX`) or its path below the cgroup2 mount. */
  cgroup: { id: number } | { path: string } | undefined;
}

/** Every TCP socket of a network namespace as ss shows it, by `local peer` (`*` for a listener's peer). */
function ssSockets(namespace: string): Map<string, SsSocket> {
  // ss's complaint that it finds no cgroup2 mount (this host mounts it elsewhere) is not its output.
  const out = execFileSync("ss", ["-N", namespace, "-tanoeH"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const found = new Map<string, SsSocket>();
  for (const line of out.split("\n").filter((line) => /^\S/.test(line))) {
    const [state, , , local, peer] = line.split(/\s+/);
    const cgroup = /cgroup:(\S+)/.exec(line)?.[1];
    const unreachable = /^unreachable:([0-9a-f]+)$/.exec(cgroup ?? "");
    found.set(`${local} ${peer!.endsWith(":*") ? "*" : peer}`, {
      state: SS_STATES[state!]!,
      timer: /timer:\((\w+),/.exec(line)?.[1],
      uid: Number(/uid:(\d+)/.exec(line)?.[1] ?? 0),
      inode: Number(/ino:(\d+)/.exec(line)![1]),
      cgroup: cgroup === undefined ? undefined : unreachable ? { id: parseInt(unreachable[1]!, 16) } : { path: cgroup },
    });
  }
  return found;
}

test(
  "inspectNetns: two namespaces, a pid namespace, a socket passed on by a process gone; each value as ss and getsockopt read it",
  async () => {
    using blue = testNamespace(`ka-iter-blue-${runtime}`);
    using red = testNamespace(`ka-iter-red-${runtime}`);
    await using inBlue = await holder(blue.name, false);
    await using inRed = await holder(red.name, true);
    // In blue, a connection to the holder's listener, made in a cgroup of the test's own by a process of nobody's
    // that passed it on and exited; the holder never accepts its other end, which no process holds.
    await using passers = testCgroup(`ka-iter-passers-${runtime}`);
    const passer = startIn(passers.path, [
      ...AS_NOBODY,
      PYTHON,
      "-c",
      PASSER,
      String(inBlue.port),
    ], blue.name);
    const exited = passer.exitCode === null ? once(passer, "exit") : undefined;
    // The receiver's line, whenever the passer exits: the receiver holds the pipe too.
    const [line] = await once(createInterface({ input: passer.stdout! }), "line");
    const [receiver, forked, passedFd] = String(line).split(" ").map(Number) as [number, number, number];
    await exited;
    for (const [ns, held, count] of [[blue, inBlue, 5], [red, inRed, 3]] as const) {
      const pid = pythonPid(held.port, ns.name);
      const ss = ssSockets(ns.name);
      const seen = inspectNetns(`/run/netns/${ns.name}`);
      equal(seen.sockets.length, count, "only this namespace's sockets");
      equal(ss.size, count, "as many as ss shows");
      const before = new Map<number, KernelValues>();
      for (const socket of seen.sockets) {
        const shown = ss.get(`${socket.local} ${socket.peer ?? "*"}`);
        ok(shown, `ss shows ${socket.local} ${socket.peer}`);
        equal(socket.state, shown.state, "the state ss shows");
        equal(socket.inode, shown.inode, "the inode ss shows");
        equal(socket.uid, shown.uid, "the owner ss shows");
        const cgroupId = statSync(socket.cgroup!).ino;
        deepEqual(
          shown.cgroup,
          "id" in (shown.cgroup ?? {}) ? { id: cgroupId } : { path: socket.cgroup!.slice(CGROUP_ROOT.length) || "/" },
          "the cgroup ss shows",
        );
        equal(
          shown.timer === "keepalive",
          socket.state === "established" && socket.settings?.enabled === true,
          `a keepalive timer where ss shows one: ${socket.local} ${socket.peer}`,
        );
        if (socket.inode === 0) {
          deepEqual(socket.holders, [], "a connection no process holds (never accepted): no holder");
          continue;
        }
        const byPid = (a: { pid: number }, b: { pid: number }) => a.pid - b.pid;
        const expected = socket.uid === 0
          ? [{ pid, fd: socket.holders[0]?.fd }]
          : [{ pid: receiver, fd: passedFd }, { pid: forked, fd: passedFd }].toSorted(byPid);
        deepEqual(socket.holders.toSorted(byPid), expected, "its holders, as this pid namespace numbers them");
        const outside = kernelValuesOf(expected[0]!.pid, expected[0]!.fd!);
        before.set(socket.inode, outside);
        deepEqual(socket.settings, {
          enabled: outside.SO_KEEPALIVE === 1,
          idleMs: outside.TCP_KEEPIDLE * 1000,
          intervalMs: outside.TCP_KEEPINTVL * 1000,
          count: outside.TCP_KEEPCNT,
          userTimeoutMs: outside.TCP_USER_TIMEOUT,
        });
      }
      const client = seen.sockets.find((s) => s.peer === `127.0.0.1:${held.port}` && s.uid === 0)!;
      equal(client.state, "established");
      equal(client.deadPeerMs, 17_000 + 3_000 * 4);
      equal(seen.sockets.filter((s) => s.state === "listen").length, 1);
      equal(seen.summary.listeners, 1);
      equal(seen.summary.connections, count - 1);
      equal(seen.summary.unseen.find((b) => b.label === "≤ 30 s")!.count, 1);
      const over = inspectNetns(`/run/netns/${ns.name}`, { overMs: 350_000 }).sockets;
      if (ns === blue) {
        const passed = seen.sockets.find((s) => s.uid === 65534)!;
        equal(passed.cgroup, passers.path, "made in the passer's cgroup");
        equal(passed.deadPeerMs, (600 + 75 * 9) * 1000);
        equal(seen.summary.keepaliveOff, 2);
        equal(seen.summary.unseen.find((b) => b.label === "≤ 2 h")!.count, 1);
        deepEqual(over.map((s) => s.deadPeerMs).sort(), [1_275_000, undefined, undefined]);
      } else {
        equal(seen.summary.keepaliveOff, 1);
        deepEqual(over.map((s) => s.settings?.enabled), [false]);
      }
      // Nothing written: every option of every socket a process holds as it was, read from outside.
      for (const socket of seen.sockets.filter((s) => s.inode !== 0)) {
        const { pid: holderPid, fd } = socket.holders[0]!;
        deepEqual(kernelValuesOf(holderPid, fd), before.get(socket.inode), `${socket.local} ${socket.peer}`);
      }
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

test(
  "keepalive inspect --netns: the summary first, then a row a socket with its holder; --json the API's sockets",
  async () => {
    using ns = testNamespace(`ka-iter-text-${runtime}`);
    await using held = await holder(ns.name, false);
    const path = `/run/netns/${ns.name}`;
    const pid = pythonPid(held.port, ns.name);
    const text = await keepalive(["inspect", "--netns", path]);
    equal(text.code, 0, text.stderr);
    const lines = text.stdout.split("\n");
    match(
      lines[0]!,
      new RegExp(
        `^network namespace ${path} \\(inode \\d+\\): 3 TCP sockets, 1 listening, 2 connections, 1 with keepalive off$`,
      ),
    );
    match(text.stdout, /\n {2}≤ 30 s +1 +#{40}\n/);
    match(text.stdout, /\n {2}never \(keepalive off\) +1 +#{40}\n/);
    const header = lines.findIndex((line) => /^local +peer +state +keepalive/.test(line));
    ok(header > lines.findIndex((line) => line === "3 sockets"), "the rows after the summary");
    const rows = lines.slice(header + 1).filter(Boolean);
    equal(rows.length, 3);
    for (const row of rows) match(row, new RegExp(` ${pid}/\\d+$`), "each row ends with its holder");
    match(rows.find((row) => row.includes("listen "))!, /^127\.0\.0\.1:\d+ +\(listening\) +listen +off/);
    const json = await keepalive(["inspect", "--netns", path, "--json"]);
    equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    const api = inspectNetns(path);
    const asJson = (value: unknown) => JSON.parse(JSON.stringify(value, (_key, v) => v === undefined ? null : v));
    const byInode = (a: { inode: number }, b: { inode: number }) => a.inode - b.inode;
    deepEqual(report.sockets.toSorted(byInode), asJson(api.sockets).toSorted(byInode));
    deepEqual(report.summary, asJson(api.summary));
    deepEqual([report.netns, report.inode], [api.netns, api.inode]);
  },
  30_000,
);
