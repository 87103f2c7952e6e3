// agent/ and `keepalive agent`, as root on the real kernel, in cgroups of the tests' own (the agent's --cgroup-root
// one of them): each cgroup its policy, the most specific one, nested ones too, read from outside; a cgroup made
// later covered within a second; a program taken off by hand put back within a period; under enforce, a socket that
// drifted (another program's write, or a 32-bit process's own where this kernel runs one) put back within a period;
// SIGTERM taking off the agent's own programs and nothing else; a bad config refused, naming the entry; the metrics
// as promtool checks them, as inspect --netns counts the same sockets, and as a real Prometheus scrapes them; and
// Kubernetes simulated with the manifest's ConfigMap and command: pods in network namespaces of their own, a rolling
// update.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { clearCgroupKeepalive, inspectCgroup, inspectNetns, parseAgentConfig, setCgroupKeepalive } from "../mod.ts";
import { syscalls } from "../ffi/mod.ts";
import { agentOver, configFile, runAgent } from "./_agent.ts";
import { attachForeign, setsIdle } from "./_bpf.ts";
import { parseAllDocuments } from "yaml";
import {
  built32,
  firstLine,
  holdingServer,
  PYTHON,
  pythonClient,
  startIn,
  tcpSockets,
  testCgroup,
  valuesTo,
} from "./_cgroup.ts";
import { kernelValuesOf } from "./_kernel.ts";
import { FIXTURES, keepalive } from "./_cli.ts";
import { runtime, test, testUnder } from "./_harness.ts";
import { testNamespace } from "./_net.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let unique = 0;
const name = (what: string) => `tcp-keepalive-${process.pid}-${runtime}-agent-${what}-${unique++}`;
/** What the kernel holds for a policy, as getsockopt reads it: on, idle, interval, count, user timeout. */
const held = (idle: number, interval: number, count: number) => ({
  SO_KEEPALIVE: 1,
  TCP_KEEPIDLE: idle,
  TCP_KEEPINTVL: interval,
  TCP_KEEPCNT: count,
  TCP_USER_TIMEOUT: 0,
});
/** This module's programs attached to the cgroup itself, by kind and owner. */
const ours = (path: string) =>
  inspectCgroup(path).programs.filter((program) => program.kind && program.cgroup === path)
    .map(({ id, kind, owner }) => ({ id, kind, owner }));

/** Waits until `done` says so, up to `timeoutMs`: how long it took. */
async function until(done: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!done()) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - started;
}

test(
  "agent: each cgroup its most specific policy, nested too; one made later within a second; one taken off put back; SIGTERM takes off its own only",
  async () => {
    const server = await holdingServer();
    await using rootDir = testCgroup(name("policies"));
    const root = rootDir.path;
    for (const dir of ["svc.slice/a.service", "svc.slice/b.service/inner", "other.slice"]) {
      mkdirSync(`${root}/${dir}`, { recursive: true });
    }
    const [a, b, inner] = ["svc.slice/a.service", "svc.slice/b.service", "svc.slice/b.service/inner"]
      .map((dir) => `${root}/${dir}`) as [string, string, string];
    // Connections there before the agent, another tool's program on a.service, another owner's on other.slice.
    using inA = pythonClient(a, server.port);
    using inB = pythonClient(b, server.port);
    using inInner = pythonClient(inner, server.port);
    await Promise.all([inA, inB, inInner].map(firstLine));
    const foreign = attachForeign(a);
    setCgroupKeepalive(`${root}/other.slice`, { idleMs: 50_000 }, { owner: "someone-else" });
    const config = {
      policies: [
        { cgroup: "svc.slice/*", idle: "12s", count: 4 },
        { cgroup: "svc.slice/a.service", idle: "11s", interval: "2s", count: 3 },
        { cgroup: "svc.slice/b.service/inner", idle: "13s", count: 5 },
      ],
    };
    try {
      await using agent = await agentOver(root, config, ["--period", "1s", "--owner", "agent-test"]);
      // The sockets already there, and new ones, each with its cgroup's policy: a.service's own over svc.slice/*.
      deepEqual(valuesTo(inA, server.port), held(11, 2, 3));
      deepEqual(valuesTo(inB, server.port), held(12, 75, 4));
      deepEqual(valuesTo(inInner, server.port), held(13, 75, 5), "the nested cgroup's own");
      using laterInA = pythonClient(a, server.port);
      using laterInInner = pythonClient(inner, server.port);
      await Promise.all([laterInA, laterInInner].map(firstLine));
      deepEqual(valuesTo(laterInA, server.port), held(11, 2, 3));
      deepEqual(valuesTo(laterInInner, server.port), held(13, 75, 5));
      for (const [path, policy] of [[a, "svc.slice/a.service"], [b, "svc.slice/*"]]) {
        ok(
          agent.lines.some((line) =>
            line.action === "attached" && line.cgroup === path.slice(root.length) && line.policy === policy
          ),
          `attached to ${path}, logged`,
        );
      }
      // A cgroup made now: its program within a second.
      const c = `${root}/svc.slice/c.service`;
      mkdirSync(c);
      const coveredMs = await until(() => ours(c).length === 1, 1000, "c.service's program");
      console.log(`agent: a cgroup made after start had its program after ${coveredMs.toFixed(0)} ms`);
      using inC = pythonClient(c, server.port);
      await firstLine(inC);
      deepEqual(valuesTo(inC, server.port), held(12, 75, 4));
      // Taken off by hand: back within a period (1 s) and the pass after it.
      const [taken] = ours(a);
      execFileSync("bpftool", ["cgroup", "detach", a, "sock_ops", "id", String(taken!.id)]);
      const from = agent.lines.length;
      const restored = await agent.line(
        (line) => line.action === "restored" && line.cgroup === "/svc.slice/a.service",
        2500,
        from,
      );
      equal(restored.policy, "svc.slice/a.service");
      equal(ours(a).length, 1, "back");
      // SIGTERM: its own programs off within a second; another tool's and another owner's stay.
      const { code, ms } = await agent.stop();
      equal(code, 0, `exit ${code}`);
      ok(ms < 1000, `exited after ${ms.toFixed(0)} ms`);
      for (const path of [a, b, inner, c]) deepEqual(ours(path), [], `nothing of the agent's on ${path}`);
      deepEqual(inspectCgroup(a).programs.filter((p) => p.cgroup === a).map(({ name }) => name), ["someone_else"]);
      deepEqual(ours(`${root}/other.slice`).map(({ owner }) => owner), ["someone-else"]);
      ok(agent.lines.some((line) => line.action === "stopped"), "said so");
    } finally {
      syscalls().close(foreign);
      clearCgroupKeepalive(`${root}/other.slice`, { all: true });
      server.close();
    }
  },
  40_000,
);

test(
  "agent: under enforce, a socket another program set otherwise is put back within a period, counted in the metrics",
  async () => {
    const server = await holdingServer();
    await using rootDir = testCgroup(name("enforce"));
    const root = rootDir.path;
    const x = `${root}/enf.slice/x`;
    mkdirSync(x, { recursive: true });
    const policy = { cgroup: "enf.slice/*", idle: "14s", interval: "3s", count: 4, enforce: true };
    await using agent = await agentOver(root, { policies: [policy] }, ["--period", "1s"]);
    // Another's program, attached after the agent's and so run after it at connect, sets its own idle time: what
    // enforce, which holds the applications' own setsockopt, cannot hold.
    const other = attachForeign(x, { code: setsIdle(60), name: "sets_idle_60" });
    try {
      using client = pythonClient(x, server.port);
      await firstLine(client);
      const from = agent.lines.length;
      await agent.line((line) => line.action === "corrected" && line.cgroup === "/enf.slice/x", 2500, from);
      deepEqual(valuesTo(client, server.port), held(14, 3, 4), "put back, read from outside");
      match(
        (await agent.get("/metrics")).body,
        /\ntcp_keepalive_drift_corrected_total\{policy="enf\.slice\/\*"\} [1-9]/,
      );
      // A 32-bit process's own setsockopt, which no cgroup program sees: put back the same way, where it runs.
      const binary = `/tmp/tcp-keepalive-${process.pid}-${runtime}-own32`;
      if (!built32(binary)) {
        console.log("agent: this kernel runs no 32-bit process (ENOEXEC), so its drift is not seen here");
        return;
      }
      using compat = startIn(x, [binary, String(server.port)]);
      await firstLine(compat);
      await agent.line(
        (line) => line.action === "corrected" && line.cgroup === "/enf.slice/x",
        2500,
        agent.lines.length,
      );
      deepEqual(valuesTo(compat, server.port), held(14, 3, 4));
    } finally {
      syscalls().close(other);
      server.close();
    }
  },
  30_000,
);

test("agent: a bad config exits 2 naming the file, the entry and the field; so do bad flags", async () => {
  const cases: [unknown, RegExp][] = [
    [
      { policies: [{ cgroup: "a.slice", timeout: "30s" }, { cgroup: "b.slice/*", idle: "10s", count: 300 }] },
      /^keepalive: \S+agent\.json: policies\[1\] \(b\.slice\/\*\): "count" must be an integer from 1 to 127.*; got 300/,
    ],
    [
      { policies: [{ cgroup: "a.slice", idel: "10s" }] },
      /policies\[0\] \(a\.slice\): "idel" is not a field here; did you mean "idle"\?/,
    ],
    [{ default: { timeout: "5" } }, /default: "timeout" must be a duration with a unit/],
    ["{ not json", /agent\.json: not JSON/],
  ];
  for (const [config, message] of cases) {
    const run = await keepalive(["agent", "--config", configFile(config), "--listen", "127.0.0.1:0"]);
    equal(run.code, 2, run.stderr);
    match(run.stderr, message);
  }
  const missing = await keepalive(["agent", "--config", "/no/such/agent.json"]);
  equal(missing.code, 2);
  match(missing.stderr, /^keepalive: \/no\/such\/agent\.json: cannot be read \(ENOENT\)/);
  const flag = await keepalive(["agent", "--config", configFile({ default: { timeout: "30s" } }), "--listen", "9977"]);
  equal(flag.code, 2);
  match(flag.stderr, /--listen takes HOST:PORT/);
});

/** A port free now, for a server that cannot be told to take port 0 and say which. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

testUnder(
  "deno",
  "agent: /metrics passes promtool, counts a cgroup's connections as inspect --netns does, and Prometheus scrapes it",
  async () => {
    await using rootDir = testCgroup(name("metrics"));
    const root = rootDir.path;
    const m = `${root}/m.slice`;
    mkdirSync(m);
    using ns = testNamespace(name("metrics"));
    // A listener, a connection with keepalive 17 s + 3 s x 4 and its accepted end (off), in m.slice and the namespace.
    const holder = startIn(m, [
      PYTHON,
      "-c",
      `import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1); c.setsockopt(6, 4, 17); c.setsockopt(6, 5, 3); c.setsockopt(6, 6, 4)
print("ready", flush=True); sys.stdin.readline()`,
    ], ns.name);
    await firstLine(holder);
    try {
      // A policy for no cgroup there: the agent changes nothing of these sockets, and reports them.
      const config = { policies: [{ cgroup: "nothing.slice", timeout: "30s" }] };
      await using agent = await agentOver(root, config, ["--over", "350s"]);
      const { status, body } = await agent.get("/metrics");
      equal(status, 200);
      const promtool = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
      equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
      const sample = (metric: string) => Number(new RegExp(`\\n${metric} (\\d+)\\n`).exec(body)?.[1]);
      const seen = inspectNetns(`/run/netns/${ns.name}`).summary.byCgroup.find((group) => group.cgroup === m)!;
      equal(
        sample('tcp_keepalive_connections\\{cgroup="/m\\.slice",keepalive="on"\\}'),
        seen.connections - seen.keepaliveOff,
      );
      equal(sample('tcp_keepalive_connections\\{cgroup="/m\\.slice",keepalive="off"\\}'), seen.keepaliveOff);
      const over = seen.unseen.filter(({ upToMs, label }) => label === "never" || upToMs === null || upToMs > 350_000);
      equal(
        sample('tcp_keepalive_connections_over_threshold\\{cgroup="/m\\.slice"\\}'),
        over.reduce((n, b) => n + b.count, 0),
      );
      deepEqual([seen.connections, seen.keepaliveOff], [2, 1]);
      equal((await agent.get("/healthz")).status, 200);
      equal((await agent.get("/readyz")).status, 200);
      // A real Prometheus, scraping it each second: its query API returns the series.
      const port = await freePort();
      const dir = mkdtempSync("/tmp/tcp-keepalive-prometheus-");
      writeFileSync(
        `${dir}/prometheus.yml`,
        `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: tcp-keepalive\n    static_configs: [{ targets: ["127.0.0.1:${agent.port}"] }]\n`,
      );
      const prometheus = spawn("prometheus", [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
      ], { stdio: "ignore" });
      try {
        const query = encodeURIComponent('tcp_keepalive_connections{cgroup="/m.slice",keepalive="off"}');
        let result: { value: [number, string] }[] = [];
        for (const started = performance.now(); performance.now() - started < 20_000; await sleep(250)) {
          try {
            const answer = await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`)).json();
            result = answer.data.result;
            if (result.length) break;
          } catch { /* not up yet */ }
        }
        equal(result[0]?.value[1], "1", "Prometheus holds the series the agent exports");
      } finally {
        prometheus.kill("SIGKILL");
      }
    } finally {
      holder.kill("SIGKILL");
    }
  },
  60_000,
);

test("the config's parse refuses a pattern that is not below the mount, and two policies for one cgroup", () => {
  for (
    const [config, message] of [
      [
        '{"policies": [{"cgroup": "a/../b", "timeout": "30s"}]}',
        /"cgroup" must be a path below the cgroup2 mount.*empty, \. or \.\./,
      ],
      ['{"policies": [{"cgroup": "a/b*", "timeout": "30s"}]}', /\* stands for a whole component/],
      [
        '{"policies": [{"cgroup": "a", "timeout": "30s"}, {"cgroup": "a", "idle": "5s"}]}',
        /policies\[1\] \(a\): the same cgroup as policies\[0\]/,
      ],
      ['{"policies": [{"cgroup": "a"}]}', /policies\[0\] \(a\): give "timeout", or some of/],
    ] as const
  ) {
    let said = "";
    try {
      parseAgentConfig(config, "x.json");
    } catch (error) {
      said = String(error);
    }
    match(said, message);
  }
});

test(
  "Kubernetes, simulated with deploy/kubernetes.yaml's ConfigMap and command: every pod in its own network namespace, later ones too, through a rolling update",
  async () => {
    const manifest = parseAllDocuments(readFileSync(new URL("../deploy/kubernetes.yaml", import.meta.url), "utf8"))
      .map((document) => document.toJS());
    const configMap = manifest.find((object) => object.kind === "ConfigMap");
    const [container] = manifest.find((object) => object.kind === "DaemonSet").spec.template.spec.containers;
    await using node = testCgroup(name("node")); // the node's cgroup hierarchy, which the pod mounts
    const pods = `${node.path}/kubepods.slice`;
    mkdirSync(pods);
    const config = configFile(configMap.data["agent.json"]);
    // The DaemonSet's command as a pod named `pod` runs it, but where the test puts the hierarchy and the port.
    const agentOf = (pod: string) => {
      const args: string[] = container.command.slice(2).map((arg: string) => arg === "$(POD_NAME)" ? pod : arg);
      const at = (flag: string) => args.indexOf(flag) + 1;
      args[at("--config")] = config;
      args[at("--cgroup-root")] = node.path;
      args[at("--listen")] = "127.0.0.1:0";
      return runAgent(args);
    };
    const namespaces: { [Symbol.dispose](): void }[] = [];
    const started: ChildProcess[] = [];
    /** A pod: its own cgroup under kubepods.slice and its own network namespace, with a python3 client and server. */
    const pod = async (label: string) => {
      const ns = testNamespace(name(label));
      namespaces.push(ns);
      mkdirSync(`${pods}/${label}`);
      const child = startIn(
        `${pods}/${label}`,
        [PYTHON, "-c", readFileSync(`${FIXTURES}idle_client.py`, "utf8")],
        ns.name,
      );
      started.push(child);
      await firstLine(child);
      return child;
    };
    const connections = (child: ChildProcess) =>
      tcpSockets(child.pid!).filter((s) => s.state === "01").map(({ fd }) => kernelValuesOf(child.pid!, fd));
    // The ConfigMap's policy: 30 s, planned.
    const policy = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 10, TCP_KEEPINTVL: 2, TCP_KEEPCNT: 10, TCP_USER_TIMEOUT: 30_000 };
    try {
      const early = [await pod("pod-a"), await pod("pod-b")];
      const old = await agentOf("tcp-keepalive-7xk2p");
      const attached = old.lines.find((line) => line.action === "attached" && line.cgroup === "/kubepods.slice")!;
      deepEqual([attached.sockets, attached.reach], [6, "iterator"], "both pods' sockets, in their namespaces");
      const late = await pod("pod-c");
      for (const child of [...early, late]) deepEqual(connections(child), [policy, policy], `pod process ${child.pid}`);
      // A rolling update, one agent a node at a time: the old pod's agent goes, the new one comes.
      equal((await old.stop()).code, 0);
      deepEqual(connections(late), [policy, policy], "what was set stays set");
      await using renewed = await agentOf("tcp-keepalive-9qm4z");
      deepEqual(connections(await pod("pod-d")), [policy, policy], "a pod made after the update");
      equal((await renewed.stop()).code, 0);
      const DEFAULTS = { SO_KEEPALIVE: 0, TCP_KEEPIDLE: 7200, TCP_KEEPINTVL: 75, TCP_KEEPCNT: 9, TCP_USER_TIMEOUT: 0 };
      deepEqual(connections(await pod("pod-e")), [DEFAULTS, DEFAULTS], "a pod made after the DaemonSet is gone");
    } finally {
      started.forEach((child) => child.kill("SIGKILL"));
      namespaces.forEach((ns) => ns[Symbol.dispose]());
    }
  },
  60_000,
);
