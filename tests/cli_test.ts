import { deepEqual, equal, match, ok } from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { differences, unreadable } from "../cli/_check.ts";
import { ssKeepaliveTimer } from "./_ss.ts";
import { type KeepaliveOs, planKeepalive } from "../mod.ts";
import { type Command, DENO_PERMISSIONS } from "../cli/_command.ts";
import { runtime, test } from "./_harness.ts";
import { testNamespace } from "./_net.ts";
import { ENV, FIXTURES, keepalive as run, RUN, type Run } from "./_cli.ts";

function keepalive(...args: string[]): Promise<Run> {
  return run(args);
}

async function json(...args: string[]) {
  const { code, stdout, stderr } = await keepalive(...args, "--json");
  equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/** A loopback server of the test's own; `accepted` resolves with each connection's server side. */
async function server(host = "127.0.0.1", secure = false) {
  const sockets: net.Socket[] = [];
  let onAccept = (_socket: net.Socket) => {};
  const handle = (socket: net.Socket) => (sockets.push(socket), socket.on("data", () => {}), onAccept(socket));
  const listener = secure
    ? tls.createServer({ cert: readFileSync(`${FIXTURES}cert.pem`), key: readFileSync(`${FIXTURES}key.pem`) }, handle)
    : net.createServer(handle);
  await new Promise<void>((resolve) => listener.listen(0, host, resolve));
  const close = () =>
    new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), listener.close(() => resolve())));
  return {
    port: (listener.address() as net.AddressInfo).port,
    accepted: () => new Promise<net.Socket>((resolve) => onAccept = resolve),
    close,
    [Symbol.asyncDispose]: close,
  };
}

const sysctl = (name: string) => Number(readFileSync(`/proc/sys/net/ipv4/tcp_keepalive_${name}`, "utf8"));
const SYSTEM_DEFAULTS = { idleMs: sysctl("time") * 1000, intervalMs: sysctl("intvl") * 1000, count: sysctl("probes") };

test("keepalive plan 30s --json gives each OS what planKeepalive gives it", async () => {
  const report = await json("plan", "30s");
  equal(report.timeoutMs, 30_000);
  for (const os of ["linux", "darwin", "freebsd", "windows"] as KeepaliveOs[]) {
    const plan = planKeepalive(30_000, { os });
    deepEqual(report[os], {
      ...plan,
      userTimeoutMs: plan.userTimeoutMs ?? null,
      idleDetectMs: 30_000,
      dataDetectMs: plan.userTimeoutMs ?? null,
    }, os);
  }
  equal(report.freebsd.userTimeoutMs, null);
});

test("keepalive plan prints the OSes side by side", async () => {
  const { code, stdout } = await keepalive("plan", "1m", "--count", "5");
  equal(code, 0);
  match(stdout, /^deadline 1 min, 5 probes$/m);
  match(stdout, /^Linux +15 s +9 s +5 +1 min +1 min +1 min$/m);
  match(stdout, /^FreeBSD +15 s +9 s +5 +none +1 min +system retransmission limit$/m);
});

test("keepalive check --json applies, reads back, and reports the system defaults", async () => {
  await using peer = await server();
  const report = await json(
    "check",
    `127.0.0.1:${peer.port}`,
    "--idle",
    "5s",
    "--interval",
    "1500ms",
    "--count",
    "4",
  );
  deepEqual(report.effective, { enabled: true, idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 0 });
  // The connection's info, from the kernel (getTcpInfo).
  equal(report.info.state, "established");
  ok(report.info.rttMs > 0);
  deepEqual(report.requested, { idleMs: 5000, intervalMs: 1500, count: 4 });
  deepEqual(report.defaults, { enabled: false, ...SYSTEM_DEFAULTS, userTimeoutMs: 0 });
  equal(report.holds, true);
}, 15_000);

test("keepalive check prints requested, effective and defaults for a bracketed IPv6 peer", async () => {
  await using peer = await server("::1");
  const { code, stdout } = await keepalive("check", `[::1]:${peer.port}`, "--timeout", "30s");
  equal(code, 0);
  match(stdout, new RegExp(`^\\[::1\\]:\\d+ -> \\[::1\\]:${peer.port}$`, "m"));
  match(stdout, /^requested +on +deadline 30 s$/m);
  match(stdout, /^effective +on +10 s +2 s +10 +30 s +30 s$/m);
  match(stdout, /^system default +off +2 h +1 min 15 s +9 +system +2 h 11 min 15 s once on$/m);
  match(stdout, /^the kernel holds what was asked/m);
}, 15_000);

test("keepalive check --tls completes the handshake before it applies", async () => {
  await using peer = await server("127.0.0.1", true);
  const report = await json("check", `localhost:${peer.port}`, "--tls", "--count", "3");
  equal(report.effective.count, 3);
  match(report.connection, new RegExp(`:${peer.port}$`));
}, 15_000);

test("keepalive watch holds the connection with the kernel's timer as asked, until --for", async () => {
  await using peer = await server();
  const accepted = peer.accepted();
  const watching = keepalive("watch", `127.0.0.1:${peer.port}`, "--idle", "3s", "--for", "2500ms", "--json");
  const socket = await accepted;
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The watch's own socket, read from outside its process.
  const timer = ssKeepaliveTimer(socket.remotePort!, peer.port);
  ok(timer && timer.remainingMs > 1000 && timer.remainingMs <= 3000, `ss timer ${JSON.stringify(timer)}`);
  const { code, stdout } = await watching;
  equal(code, 0);
  const report = JSON.parse(stdout);
  equal(report.ended, "for");
  equal(report.settings.idleMs, 3000);
  ok(report.livedMs >= 2500 && report.livedMs < 4000, `${report.livedMs} ms`);
}, 15_000);

test("keepalive watch prints when the next probe is due, every second", async () => {
  await using peer = await server();
  const { code, stdout } = await keepalive("watch", `127.0.0.1:${peer.port}`, "--idle", "5s", "--for", "2200ms");
  equal(code, 0);
  match(
    stdout,
    /^watching 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+: idle 5 s, interval 1 min 15 s, count 9; an idle dead peer/m,
  );
  match(stdout, /^1 s +next probe in [34](\.\d)? s, 0 of 9 unanswered, peer last heard 1(\.\d)? s ago$/m);
  match(stdout, /^lived 2\.\d s; ended: still alive when --for ended$/m);
}, 15_000);

test("keepalive watch needs no iproute2: the kernel's count comes through getTcpInfo", async () => {
  await using peer = await server();
  // Nothing on PATH but the runtime: no ss, no ip.
  const noIproute = ["env", `PATH=${dirname(process.execPath)}`];
  const { code, stdout, stderr } = await run(
    ["watch", `127.0.0.1:${peer.port}`, "--idle", "5s", "--for", "1500ms"],
    noIproute,
  );
  equal(code, 0, stderr);
  match(stdout, /^1 s +next probe in [34](\.\d)? s, 0 of 9 unanswered, peer last heard 1(\.\d)? s ago$/m);
}, 15_000);

/** Runs `keepalive watch` inside a network namespace of its own whose loopback goes down once it has connected. */
async function watchCut(mode: "--json" | "--text"): Promise<{ stdout: string; stderr: string }> {
  using namespace = testNamespace(`tcp-keepalive-watch-${process.pid}-${mode.slice(2)}`);
  const child = fileURLToPath(new URL("./_watch_child.ts", import.meta.url));
  const host = runtime === "deno" ? [process.execPath, "run", "-A", child] : [process.execPath, child];
  return JSON.parse(
    await new Promise<string>((resolve, reject) =>
      execFile(
        "ip",
        ["netns", "exec", namespace.name, ...host, ...RUN, mode],
        (error, out, err) => error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      )
    ),
  );
}

test("keepalive watch reports ETIMEDOUT within the planned deadline when the peer is cut", async () => {
  const report = JSON.parse((await watchCut("--json")).stdout);
  equal(report.ended, "ETIMEDOUT");
  equal(report.reason, "dead peer found by keepalive");
  // Planned: 1 s idle + 2 probes 1 s apart = 3 s after the cut, which came about 0.2 s in.
  ok(report.livedMs >= 2500 && report.livedMs <= 6000, `${report.livedMs} ms`);
}, 30_000);

test("keepalive watch inside a network namespace prints the timer and nothing of ss's own", async () => {
  const { stdout, stderr } = await watchCut("--text");
  // Probes going unanswered, counted by the kernel (getTcpInfo), with no ss: inside any namespace.
  match(stdout, /^\d(\.\d)? s +next probe (in [\d.]+ s|due now), [12] of 2 unanswered, peer last heard [\d.]+ s ago$/m);
  match(stdout, /ended: ETIMEDOUT: dead peer found by keepalive$/m);
  equal(stderr, "");
}, 30_000);

test("keepalive demo --json configures both ends and finds a cut peer in seconds", async () => {
  const report = await json("demo");
  const planned = { enabled: true, ...planKeepalive(30_000) };
  deepEqual(report.client, planned);
  deepEqual(report.server, planned);
  deepEqual(report.defaults, { enabled: false, ...SYSTEM_DEFAULTS, userTimeoutMs: 0 });
  equal(report.deadPeer.ended, "ETIMEDOUT");
  ok(report.deadPeer.livedMs >= 2000 && report.deadPeer.livedMs <= 6000, `${report.deadPeer.livedMs} ms`);
  equal(report.deadPeer.withDefaultsMs, 7_875_000);
}, 30_000);

test("keepalive demo prints the table and the cut peer", async () => {
  const { code, stdout } = await keepalive("demo", "--timeout", "1m");
  equal(code, 0);
  match(stdout, /^client +on +20 s +4 s +10 +1 min +1 min$/m);
  match(stdout, /^server +on +20 s +4 s +10 +1 min +1 min$/m);
  match(stdout, /^system default +off +2 h/m);
  match(
    stdout,
    /found dead after [2-5](\.\d)? s \(ETIMEDOUT\); with the system defaults it would take 2 h 11 min 15 s$/m,
  );
}, 30_000);

/** Every command the files of cli/ export: each is a `Command` of its own file. */
async function commandsOfFiles(): Promise<Command[]> {
  const dir = fileURLToPath(new URL("../cli/", import.meta.url));
  const modules = await Promise.all(
    readdirSync(dir).filter((name) => name.endsWith(".ts")).map((name) => import(`../cli/${name}`)),
  );
  return modules.flatMap((module) =>
    Object.values(module).filter((value): value is Command =>
      typeof value === "object" && value !== null && "usage" in value && "run" in value && "flags" in value
    )
  );
}

test("every command a file of cli/ exports is in the table: listed in the help, its usage under --help", async () => {
  const commands = await commandsOfFiles();
  equal(commands.length >= 8, true, `${commands.length} commands found`);
  const help = (await keepalive("--help")).stdout;
  for (const { name, summary, usage } of commands) {
    const own = await keepalive(name, "--help");
    equal(own.code, 0, `${name}: ${own.stderr}`);
    equal(own.stdout.trimEnd(), usage, `keepalive ${name} --help`);
    if (summary) { for (const line of summary.split("\n")) ok(help.includes(line.trim()), `the help lists ${name}`); }
    else ok(!help.includes(`  ${name} `), `${name} is not listed`);
  }
  const listed = commands.filter(({ summary }) => summary).map(({ name }) => name);
  const named = /commands are (.*) \(see/.exec((await keepalive("frobnicate")).stderr)?.[1]?.split(", ");
  deepEqual(named?.toSorted(), listed.toSorted());
}, 60_000);

for (const command of ["", "plan", "check", "watch", "demo"]) {
  test(`keepalive ${command} --help shows usage and examples`, async () => {
    const { code, stdout } = await keepalive(...(command ? [command] : []), "--help");
    equal(code, 0);
    match(stdout, new RegExp(`^usage: keepalive ${command || "<command>"}`));
    match(stdout, /example/);
  }, 15_000);
}

const refusals: [string[], number, RegExp][] = [
  [
    ["plan", "30"],
    2,
    /^keepalive: the deadline takes a duration such as 1500ms, 10s, 2m or 1h; got "30" \(a unit is needed: 30s or 30ms\)/,
  ],
  [["check", "127.0.0.1:80", "--idle", "5"], 2, /^keepalive: --idle takes a duration .*got "5" \(a unit is needed/],
  [["check", "127.0.0.1:80", "--idle", "5 s"], 2, /^keepalive: --idle takes a duration such as/],
  [["demo", "--bogus"], 2, /^keepalive: Unknown option '--bogus'/],
  [["plan", "30s", "--tls"], 2, /^keepalive: plan does not take --tls/],
  [["frobnicate"], 2, /^keepalive: unknown command "frobnicate"; commands are plan, check, watch, demo, apply/],
  [["check"], 2, /^keepalive: check takes <host:port>; got none/],
  [["check", "127.0.0.1"], 2, /^keepalive: expected host:port, such as example\.com:443/],
  [["check", "127.0.0.1:70000"], 2, /^keepalive: port must be 1 to 65535; got 70000/],
  [["check", "[::1:80"], 2, /^keepalive: expected host:port/],
  [["check", "127.0.0.1:1"], 1, /^keepalive: connection refused by 127\.0\.0\.1:1$/],
  [["check", "no-such-host.invalid:80"], 1, /^keepalive: cannot resolve no-such-host\.invalid$/],
  [["check", "127.0.0.1:80", "--count", "2.5"], 2, /^keepalive: --count takes a whole number; got "2\.5"/],
  // The flags' own units, never the API's milliseconds; checked before anything connects (port 1 would refuse).
  [
    ["demo", "--timeout", "5s"],
    2,
    /^keepalive: --timeout must be a duration of at least 11s \(10 probes 1 s apart after 1 s idle\); got 5s \(see/,
  ],
  [
    ["check", "127.0.0.1:1", "--timeout", "5s"],
    2,
    /^keepalive: --timeout must be a duration of at least 11s .*; got 5s/,
  ],
  [
    ["check", "127.0.0.1:1", "--idle", "40000s"],
    2,
    /^keepalive: --idle must be a duration from 1ms to 32767s \(Linux TCP_KEEPIDLE takes 1\.\.32767 s, .*\); got 40000s/,
  ],
  [["check", "127.0.0.1:1", "--timeout", "30s", "--idle", "5s"], 2, /^keepalive: --timeout plans --idle; give one/],
  [["apply", "--pid", "1", "--count", "0"], 2, /^keepalive: --count must be an integer from 1 to 127 .*; got 0/],
  [["plan", "5s"], 2, /^keepalive: the deadline must be a duration of at least 11s .*; got 5s/],
  [["plan", "30s", "--count", "0"], 2, /^keepalive: --count must be an integer of at least 1; got 0/],
  [
    ["plan", "300s", "--count", "200"],
    2,
    /^keepalive: --count \(planned from the deadline 300s\) must be an integer from 1 to 127/,
  ],
  [[], 2, /^usage: keepalive <command>/],
];
for (const [args, exit, message] of refusals) {
  test(`keepalive ${args.join(" ")} exits ${exit} with one line, no stack`, async () => {
    const { code, stdout, stderr } = await keepalive(...args);
    equal(code, exit, stderr);
    match((exit === 2 && args.length === 0 ? stdout : stderr).trimEnd(), message);
    equal(stderr.trim().split("\n").length <= 1, true, stderr);
    equal(/\n\s+at /.test(stderr), false, stderr);
  }, 15_000);
}

test("keepalive check --count 200 on a live connection names the limit and exits 2", async () => {
  await using peer = await server();
  const { code, stderr } = await keepalive("check", `127.0.0.1:${peer.port}`, "--count", "200");
  equal(code, 2);
  match(stderr, /^keepalive: --count must be an integer from 1 to 127 \(Linux TCP_KEEPCNT takes 1\.\.127\); got 200/);
}, 15_000);

test("differences() names each field the kernel does not hold", () => {
  const applied = { enabled: true, idleMs: 5000, intervalMs: 2000, count: 4, userTimeoutMs: 0 };
  deepEqual(differences(applied, applied), []);
  deepEqual(differences(applied, { ...applied, idleMs: 7_200_000 }), [
    "idleMs: applied 5000, the kernel holds 7200000",
  ]);
});

test("differences() does not count what the OS cannot read back (Windows before 1709); unreadable() names it", () => {
  const applied = { enabled: true, idleMs: 5000, intervalMs: 2000, count: 10, userTimeoutMs: undefined };
  const held = { ...applied, idleMs: undefined, intervalMs: undefined };
  deepEqual(differences(applied, held), []);
  deepEqual(unreadable(applied, held), ["idleMs", "intervalMs"]);
  deepEqual(unreadable(applied, applied), []);
});

test("keepalive check --tls against a server that never answers the handshake gives up after 10 s", async () => {
  const silent = net.createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = silent.address() as net.AddressInfo;
  try {
    const started = performance.now();
    const { code, stderr } = await keepalive("check", `127.0.0.1:${port}`, "--tls", "--count", "3");
    const tookMs = performance.now() - started;
    equal(code, 1);
    equal(stderr.trim(), `keepalive: no TLS handshake with 127.0.0.1:${port} within 10 s`);
    ok(tookMs >= 10_000 && tookMs < 14_000, `${tookMs} ms`);
  } finally {
    silent.close();
  }
}, 20_000);

/** Runs the command line, sends it SIGINT after `afterMs`, and reports how it exited and what it printed. */
async function interrupted(args: string[], afterMs: number): Promise<{ code: number | null; stdout: string }> {
  if (runtime === "deno") {
    // Deno's node:child_process reports a child that handled SIGINT as killed by it: ask Deno itself.
    const child = new Deno.Command(RUN[0], { args: [...RUN.slice(1), ...args], stdout: "piped", env: ENV }).spawn();
    setTimeout(() => child.kill("SIGINT"), afterMs);
    const { code, stdout } = await child.output();
    return { code, stdout: new TextDecoder().decode(stdout) };
  }
  const child = spawn(RUN[0], [...RUN.slice(1), ...args], { env: ENV });
  let stdout = "";
  child.stdout.on("data", (chunk) => stdout += chunk);
  setTimeout(() => child.kill("SIGINT"), afterMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stdout };
}

test("Ctrl-C in keepalive watch prints the summary and exits 130", async () => {
  await using peer = await server();
  const { code, stdout } = await interrupted(["watch", `127.0.0.1:${peer.port}`, "--idle", "5s"], 2500);
  equal(code, 130);
  match(stdout, /^watching 127\.0\.0\.1:/m);
  // Between 1 and 3 s: formatDuration writes 2.0 s as "2 s".
  match(stdout, /^lived [12](\.\d)? s; ended: still alive when interrupted$/m);
}, 15_000);

test("the npm bin started by a Node before 26.1 (the machine's own), without Bun on PATH, says what it needs", () => {
  const result = spawnSync("/usr/bin/env", [
    "node",
    fileURLToPath(new URL("../bin/keepalive.js", import.meta.url)),
    "--version",
  ], {
    encoding: "utf8",
    env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
  });
  equal(result.status, 1, result.stderr);
  match(
    result.stderr,
    /^keepalive: needs Node 26\.1 or later \(node:ffi; this is Node 2[0-5]\.\d+\.\d+\) or Bun on PATH$/m,
  );
});

for (
  const [how, end, reason] of [
    ["EOF", (socket: net.Socket) => socket.end(), "closed by the peer"],
    ["ECONNRESET", (socket: net.Socket) => socket.resetAndDestroy(), "reset by the peer or a middlebox"],
  ] as const
) {
  test(`keepalive watch says ${how} when the peer ${how === "EOF" ? "closes" : "resets"} the connection`, async () => {
    await using peer = await server();
    const accepted = peer.accepted();
    const watching = keepalive("watch", `127.0.0.1:${peer.port}`, "--for", "10s", "--json");
    const socket = await accepted;
    await new Promise((resolve) => setTimeout(resolve, 300)); // the watch has applied its settings
    end(socket);
    const { code, stdout } = await watching;
    equal(code, 0);
    const report = JSON.parse(stdout);
    equal(report.ended, how);
    equal(report.reason, reason);
    ok(report.livedMs < 5000, `${report.livedMs} ms`);
  }, 15_000);
}

test("the keepalive task grants the command line exactly the permissions it asks for when it runs itself", () => {
  const task: string = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8")).tasks.keepalive;
  equal(task, `env deno run ${DENO_PERMISSIONS.join(" ")} cli.ts`);
});
