// cgroup/: keepalive for every connection of a cgroup v2 directory, set by the kernel. As root on the real kernel:
// clients in other languages (python3, curl, Deno, Bun, Node) and a server started inside the cgroup, read back from
// outside through pidfd_getfd; a dead peer found in seconds while a control outside waits; nested cgroups, the
// nearest policy holding; --enforce against an application's own setsockopt and fetch, TCP only; owners; detach;
// inspect writing nothing, with the policy that holds for each socket and its drift; another's programs, exclusive
// or of the same name; several applies at once; paths outside ASCII; and each refusal.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { createInterface } from "node:readline";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { applyToCgroup } from "../cgroup/_apply.ts";
import { bpfContext, loadProgram } from "../bpf/mod.ts";
import { specOf } from "../cgroup/_attach.ts";
import { currentTemplate, programLines } from "../cgroup/_program.ts";
import { syscalls } from "../ffi/mod.ts";
import { clearCgroupKeepalive, inspectCgroup, setCgroupKeepalive } from "../mod.ts";
import { platformFor } from "../platforms/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import {
  AS_NOBODY,
  built32,
  CGROUP_ROOT,
  firstLine,
  holdingServer,
  makeCgroup,
  PYTHON,
  pythonClient,
  removeCgroup,
  RUNTIMES,
  startIn,
  tcpSockets,
  testCgroup,
  valuesTo,
} from "./_cgroup.ts";
import { attachForeign, setsIdle } from "./_bpf.ts";
import { FIXTURES, keepalive } from "./_cli.ts";
import { type KernelValues, kernelValuesOf } from "./_kernel.ts";
import { runtime, test, testUnder } from "./_harness.ts";
import { testNamespace } from "./_net.ts";

const linux = platformFor("linux");
const bpf = linux.bpf!;
const POLICY = { idleMs: 30_000, intervalMs: 7000, count: 4, userTimeoutMs: 25_000 };
const HELD: KernelValues = {
  SO_KEEPALIVE: 1,
  TCP_KEEPIDLE: 30,
  TCP_KEEPINTVL: 7,
  TCP_KEEPCNT: 4,
  TCP_USER_TIMEOUT: 25_000,
};
const DEFAULTS: KernelValues = {
  SO_KEEPALIVE: 0,
  TCP_KEEPIDLE: 7200,
  TCP_KEEPINTVL: 75,
  TCP_KEEPCNT: 9,
  TCP_USER_TIMEOUT: 0,
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let unique = 0;
const name = (what: string) => `tcp-keepalive-${process.pid}-${runtime}-${what}-${unique++}`;
/** Our programs at a cgroup, as inspect reads them: kind and owner. */
const ours = (path: string) =>
  inspectCgroup(path).programs.filter((program) => program.kind !== undefined && program.cgroup === path);

/** A binding whose kernel is `release`, and which fails the test if anything reaches bpf(2). */
function kernelOf(release: string): () => Syscalls {
  const real = syscalls();
  return () => ({
    ...real,
    cgroup: () => ({
      ...real.cgroup(),
      kernel: () => ({ release, hostname: "test" }),
      bpf: () => {
        throw new Error("bpf(2) was called");
      },
    }),
  });
}

test("a kernel before 5.9 is refused before any program is loaded: there it would set nothing", () => {
  throws(() => applyToCgroup(kernelOf("5.8.18-generic"), linux, CGROUP_ROOT, POLICY), {
    message:
      /^cgroup keepalive needs Linux 5\.9 or later, .*; this is 5\.8\.18-generic, where the program would load and set nothing$/,
  });
});

test("cgroup keepalive on another OS is refused, saying Linux only", () => {
  throws(() => applyToCgroup(kernelOf("6.0"), platformFor("darwin"), "/x", POLICY), {
    message: "cgroup keepalive is Linux only (cgroup BPF); this is macOS",
  });
});

test("bad options and settings are refused before any call", () => {
  const never = () => {
    throw new Error("the binding was opened");
  };
  throws(() => applyToCgroup(never, linux, "/x", { count: 200 }), { name: "RangeError", message: /^count must be/ });
  throws(() => applyToCgroup(never, linux, "/x", POLICY, { Enforce: true } as never), {
    name: "TypeError",
    message: /unknown option "Enforce" \(did you mean enforce\?\)/,
  });
});

test("a program the verifier refuses is said with the verifier's log", () => {
  // Without its owner's name (one of 0.8's) and without r0 = 1: r0 is read at exit, never written.
  const broken = programLines(currentTemplate(bpf, "sock_ops"), { owner: "", writes: [] })
    .filter((line) => !("code" in line && line.code === 0xb7 && line.dst === 0));
  throws(() => loadProgram(bpfContext(syscalls(), linux), specOf(bpfContext(syscalls(), linux), "sock_ops"), broken), {
    name: "KeepaliveError",
    code: "EACCES",
    message: /^EACCES: the verifier refused the sock_ops program:\n[\s\S]*R0 !read_ok/,
  });
});

test("setCgroupKeepalive: new connections there get the policy, existing sockets are set, others are not", async () => {
  const server = await holdingServer();
  await using cgroupDir = testCgroup(name("api"));
  const cgroup = cgroupDir.path;
  using before = pythonClient(cgroup, server.port);
  try {
    await firstLine(before);
    deepEqual(valuesTo(before, server.port), DEFAULTS);
    const done = setCgroupKeepalive(cgroup, POLICY);
    deepEqual(done.programs.map(({ kind, replaced }) => [kind, replaced]), [["sock_ops", undefined]]);
    // The socket that was already there, set through pidfd_getfd in the same call, and said so.
    const [existing] = done.processes;
    equal(existing.pid, before.pid);
    equal(existing.sockets.length, 1);
    deepEqual(valuesTo(before, server.port), HELD);
    const after = pythonClient(cgroup, server.port);
    try {
      await firstLine(after);
      deepEqual(valuesTo(after, server.port), HELD, "a connection made there afterwards, by the kernel");
      // This process is in no test cgroup: the ends it accepted hold the defaults.
      const accepted = tcpSockets(process.pid).filter((s) => s.localPort === server.port && s.state === "01");
      equal(accepted.length, 2);
      for (const { fd } of accepted) deepEqual(kernelValuesOf(process.pid, fd), DEFAULTS);
    } finally {
      after.kill();
    }
  } finally {
    server.close();
  }
}, 20_000);

test(
  "apply again: this module's program is replaced in place, never stacked; clear takes it off, others' stay",
  async () => {
    await using cgroupDir = testCgroup(name("replace"));
    const cgroup = cgroupDir.path;
    const server = await holdingServer();
    const foreign = attachForeign(cgroup);
    try {
      equal(setCgroupKeepalive(cgroup, POLICY).programs[0].replaced, undefined);
      const again = setCgroupKeepalive(cgroup, { ...POLICY, count: 6 }, { enforce: true });
      const host = execFileSync("uname", ["-n"], { encoding: "utf8" }).trim();
      deepEqual(again.programs.map(({ kind, owner, replaced }) => [kind, owner, replaced]), [
        ["sock_ops", host, host],
        ["setsockopt", host, undefined],
      ]);
      deepEqual(ours(cgroup).map(({ kind, settings, holds }) => [kind, settings?.count, holds?.length]), [
        ["sock_ops", 6, undefined],
        ["setsockopt", undefined, 5],
      ]);
      // Without --enforce, the setsockopt program goes: the policy is exactly what was asked.
      deepEqual(setCgroupKeepalive(cgroup, POLICY).programs.map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(ours(cgroup).map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(clearCgroupKeepalive(cgroup).map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(inspectCgroup(cgroup).programs.map(({ name }) => name), ["someone_else"], "another's program stays");
      using client = pythonClient(cgroup, server.port);
      await firstLine(client);
      deepEqual(valuesTo(client, server.port), DEFAULTS, "detached: new connections get the defaults");
    } finally {
      syscalls().close(foreign);
      server.close();
    }
  },
  20_000,
);

/** A script that connects to `port` with node:net and holds on: the same text under Deno, Bun and Node. */
const holdScript = (port: number) =>
  `import net from "node:net"; const s = net.connect(${port}, "127.0.0.1", () => console.log("connected")); ` +
  `s.on("error", () => {}); setInterval(() => {}, 1000);`;

testUnder("deno", "every connection made in the cgroup and below, by python3, curl, Deno, Bun and Node", async () => {
  const server = await holdingServer();
  await using cgroupDir = testCgroup(name("languages"));
  const cgroup = cgroupDir.path;
  const child = makeCgroup("child", cgroup);
  const script = `${makeScript(holdScript(server.port))}`;
  const clients: [string, ChildProcess][] = [
    ["python3", pythonClient(cgroup, server.port)],
    ["python3 in a child cgroup", pythonClient(child, server.port)],
    ["curl", startIn(cgroup, ["sh", "-c", `echo connected; exec curl -s http://127.0.0.1:${server.port}/`])],
    ["deno", startIn(cgroup, [...RUNTIMES.deno, script])],
    ["bun", startIn(cgroup, [...RUNTIMES.bun, script])],
    ["node", startIn(cgroup, [...RUNTIMES.node, script])],
  ];
  try {
    setCgroupKeepalive(cgroup, POLICY);
    await Promise.all(clients.map(([, client]) => firstLine(client)));
    await sleep(300); // curl has connected
    for (const [what, client] of clients) {
      const socket = tcpSockets(client.pid!).find((s) => s.peerPort === server.port);
      ok(socket, `${what} holds a connection`);
      deepEqual(kernelValuesOf(client.pid!, socket.fd), HELD, what);
    }
  } finally {
    clients.forEach(([, client]) => client.kill("SIGKILL"));
    server.close();
  }
}, 60_000);

/** A script file in a temporary directory, for a runtime to run. */
function makeScript(text: string): string {
  const path = `/tmp/tcp-keepalive-${process.pid}-${unique++}.mjs`;
  writeFileSync(path, text);
  return path;
}

testUnder("deno", "a server in the cgroup: what it accepts is set at accept, the client outside is not", async () => {
  await using cgroupDir = testCgroup(name("server"));
  const cgroup = cgroupDir.path;
  using server = startIn(cgroup, [
    PYTHON,
    "-c",
    'import socket, sys\nl = socket.create_server(("127.0.0.1", 0))\nprint(l.getsockname()[1], flush=True)\n' +
    'a, _ = l.accept()\nprint("accepted", flush=True)\nsys.stdin.readline()',
  ]);
  setCgroupKeepalive(cgroup, POLICY);
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  const port = Number((await lines.next()).value);
  const client = net.connect(port, "127.0.0.1");
  await once(client, "connect");
  await lines.next(); // accepted
  const accepted = tcpSockets(server.pid!).find((s) => s.localPort === port && s.state === "01")!;
  deepEqual(kernelValuesOf(server.pid!, accepted.fd), HELD);
  const mine = tcpSockets(process.pid).find((s) => s.localPort === client.localPort)!;
  deepEqual(kernelValuesOf(process.pid, mine.fd), DEFAULTS, "the client, outside the cgroup");
  client.destroy();
}, 20_000);

testUnder(
  "deno",
  "a dead peer is found by a connection of the cgroup within idle + interval x count + 1 s",
  async () => {
    using scope = testNamespace(name("dead"));
    const namespace = scope.name;
    await using cgroupDir = testCgroup(namespace);
    const cgroup = cgroupDir.path;
    const idleClient = readFileSync(`${FIXTURES}idle_client.py`, "utf8");
    setCgroupKeepalive(cgroup, { idleMs: 1000, intervalMs: 1000, count: 2 });
    const inside = startIn(cgroup, [PYTHON, "-c", idleClient], namespace);
    // The control: the same client in the same namespace, in this process's cgroup, where no program is.
    const control = spawn("ip", ["netns", "exec", namespace, PYTHON, "-c", idleClient]);
    const lines = (child: ChildProcess) => createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const [insideLines, controlLines] = [lines(inside), lines(control)];
    await insideLines.next();
    await controlLines.next();
    execFileSync("ip", ["netns", "exec", namespace, "ip", "link", "set", "lo", "down"]);
    inside.stdin!.write("cut\n");
    control.stdin!.write("cut\n");
    const [outcome, elapsedMs] = ((await insideLines.next()).value as string).split(" ");
    equal(outcome, "ETIMEDOUT");
    ok(Number(elapsedMs) <= 4000, `${elapsedMs} ms`);
    equal(control.exitCode, null, "the control, outside the cgroup, still waits");
    console.log(`cgroup: the dead peer found after ${elapsedMs} ms; the control still waiting`);
    control.kill();
  },
  30_000,
);

/** A server whose responses send one chunk and then hold, for fetch to wait on. */
async function streamingServer() {
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.write("first\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.closeAllConnections() };
}

const fetchScript = (port: number) =>
  `const response = await fetch("http://127.0.0.1:${port}/"); const reader = response.body.getReader(); ` +
  `await reader.read(); console.log("connected"); setInterval(() => {}, 1000);`;

testUnder("deno", "--enforce: an application's own setsockopt succeeds, and the policy holds; fetch too", async () => {
  const server = await holdingServer();
  const web = await streamingServer();
  const plain = makeCgroup(name("plain"));
  const enforced = makeCgroup(name("enforced"));
  // python3 asks for TCP_KEEPIDLE 60 itself, after connecting, and says what its call returned.
  const ownIdle = "r = s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)";
  const script = makeScript(fetchScript(web.port));
  const started: ChildProcess[] = [];
  const start = (cgroup: string, command: string[]) => (started.push(startIn(cgroup, command)), started.at(-1)!);
  try {
    setCgroupKeepalive(plain, POLICY);
    setCgroupKeepalive(enforced, POLICY, { enforce: true });
    const results: Record<string, KernelValues> = {};
    for (const [label, cgroup] of [["plain", plain], ["enforced", enforced]] as const) {
      const python = start(cgroup, [
        PYTHON,
        "-c",
        `import socket, sys\ns = socket.create_connection(("127.0.0.1", ${server.port}))\n${ownIdle}\nprint("connected", r, flush=True)\nsys.stdin.readline()`,
      ]);
      equal(await firstLine(python), "connected None", "its setsockopt succeeded");
      results[`python3 ${label}`] = valuesTo(python, server.port);
      for (const runtime of ["node", "bun"] as const) {
        const client = start(cgroup, [...RUNTIMES[runtime], script]);
        await firstLine(client);
        results[`${runtime} fetch ${label}`] = valuesTo(client, web.port);
      }
    }
    // Without --enforce the last writer wins: python3's 60 s; undici's and Bun's fetch's 60 s, 1 s x 10.
    deepEqual(results["python3 plain"], { ...HELD, TCP_KEEPIDLE: 60 });
    deepEqual(results["node fetch plain"], { ...HELD, TCP_KEEPIDLE: 60, TCP_KEEPINTVL: 1, TCP_KEEPCNT: 10 });
    deepEqual(results["bun fetch plain"], { ...HELD, TCP_KEEPIDLE: 60, TCP_KEEPINTVL: 1, TCP_KEEPCNT: 10 });
    for (const label of ["python3", "node fetch", "bun fetch"]) deepEqual(results[`${label} enforced`], HELD, label);
  } finally {
    started.forEach((child) => child.kill("SIGKILL"));
    server.close();
    web.close();
    await removeCgroup(plain);
    await removeCgroup(enforced);
  }
}, 60_000);

testUnder("deno", "inspect reads a cgroup and its processes' sockets, and writes nothing", async () => {
  const server = await holdingServer();
  await using cgroupDir = testCgroup(name("inspect"));
  const cgroup = cgroupDir.path;
  setCgroupKeepalive(cgroup, POLICY);
  // One socket the program set, and one the application then set otherwise.
  const set = pythonClient(cgroup, server.port);
  const own = pythonClient(cgroup, server.port, "s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)");
  try {
    await Promise.all([firstLine(set), firstLine(own)]);
    const read = () => [valuesTo(set, server.port), valuesTo(own, server.port)];
    const before = read();
    deepEqual(before, [HELD, { ...HELD, SO_KEEPALIVE: 0 }]);
    const run = await keepalive(["inspect", "--cgroup", cgroup, "--json"]);
    equal(run.code, 0, run.stderr);
    const seen = JSON.parse(run.stdout);
    deepEqual(read(), before, "inspect wrote nothing");
    deepEqual(seen.programs.map(({ kind, settings }: { kind: string; settings: unknown }) => [kind, settings]), [
      ["sock_ops", { enabled: true, ...POLICY }],
    ]);
    const sockets = seen.processes.flatMap((p: { sockets: unknown[] }) => p.sockets);
    equal(sockets.length, 2);
    for (const socket of sockets) {
      ok(socket.sinceHeardMs >= 0 && socket.sinceHeardMs < 5000, `peer last heard ${socket.sinceHeardMs} ms ago`);
      equal(socket.deadPeerMs, socket.settings.enabled ? 30_000 + 7000 * 4 : null);
      equal(socket.policy, cgroup, "the policy that holds for it");
      // The application turned keepalive off itself: the one field it holds otherwise than the policy.
      deepEqual(socket.drift, socket.settings.enabled ? [] : ["enabled"]);
    }
    const text = await keepalive(["inspect", "--cgroup", cgroup]);
    match(text.stdout, /policy\s+drift/);
    match(text.stdout, /this cgroup's\s+enabled/);
    match(text.stdout, /this cgroup's\s+-/);
    const byPid = await keepalive(["inspect", "--pid", String(set.pid)]);
    equal(byPid.code, 0, byPid.stderr);
    match(byPid.stdout, /established\s+on\s+30 s\s+7 s\s+4\s+25 s\s+58 s\s+[\d.]+ s ago/);
    deepEqual(read(), before, "inspect --pid wrote nothing");
  } finally {
    set.kill();
    own.kill();
    server.close();
  }
}, 30_000);

const refusals: [string, string[], number, RegExp][] = [
  [
    "a file",
    ["apply", "--cgroup", "/etc/hostname", "--idle", "5s"],
    2,
    /^keepalive: \/etc\/hostname is not a cgroup v2 directory: it is not a directory; cgroup v2 is mounted at /,
  ],
  [
    "/proc",
    ["apply", "--cgroup", "/proc", "--idle", "5s"],
    2,
    /^keepalive: \/proc is not a cgroup v2 directory: its filesystem is proc \(0x9fa0\), not cgroup2/,
  ],
  [
    "no such directory",
    ["detach", "--cgroup", "/sys/fs/cgroup/no-such-cgroup"],
    2,
    /is not a cgroup v2 directory: there is no such directory/,
  ],
  [
    "--enforce without --cgroup",
    ["apply", "--pid", "1", "--idle", "5s", "--enforce"],
    2,
    /^keepalive: --enforce goes with --cgroup/,
  ],
  [
    "both --pid and --cgroup",
    ["inspect", "--pid", "1", "--cgroup", "/sys/fs/cgroup"],
    2,
    /^keepalive: inspect takes --pid PID, --cgroup PATH or --netns \[PATH\], one of them/,
  ],
  [
    "bad options, before any call",
    ["apply", "--cgroup", "/proc", "--count", "200"],
    2,
    /^keepalive: --count must be an integer from 1 to 127/,
  ],
  [
    "a flag given twice",
    ["apply", "--cgroup", "/sys/fs/cgroup/a", "--cgroup", "/sys/fs/cgroup/b", "--idle", "5s"],
    2,
    /^keepalive: --cgroup is given twice \(\/sys\/fs\/cgroup\/a, \/sys\/fs\/cgroup\/b\); give it once/,
  ],
  [
    "an owner's name too long",
    ["apply", "--cgroup", "/sys/fs/cgroup/a", "--idle", "5s", "--owner", "ü".repeat(33)],
    2,
    /^keepalive: --owner must be a name of 1 to 64 bytes of UTF-8; got ü{33}: it is 66 bytes/,
  ],
  [
    "--owner and --all",
    ["detach", "--cgroup", "/sys/fs/cgroup/a", "--owner", "x", "--all"],
    2,
    /^keepalive: detach takes --owner NAME or --all, not both/,
  ],
  ["--owner without --cgroup", ["apply", "--pid", "1", "--owner", "x"], 2, /^keepalive: --owner goes with --cgroup/],
];
for (const [what, args, exit, message] of refusals) {
  testUnder("deno", `keepalive ${args[0]} with ${what}: exit ${exit}, said plainly`, async () => {
    const run = await keepalive(args);
    equal(run.code, exit, run.stderr);
    match(run.stderr, message);
  }, 15_000);
}

testUnder("deno", "a cgroup v1 hierarchy is refused, naming it", async () => {
  const v1 = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" ")).find((f) =>
    f[2] === "cgroup"
  );
  ok(v1, "this machine mounts a cgroup v1 hierarchy");
  const run = await keepalive(["apply", "--cgroup", v1[1], "--idle", "5s"]);
  equal(run.code, 2);
  match(run.stderr, /is not a cgroup v2 directory: its filesystem is cgroup v1 \(0x27e0eb\), not cgroup2/);
}, 15_000);

testUnder("deno", "without CAP_BPF and CAP_NET_ADMIN: the capabilities named, nothing attached", async () => {
  await using cgroupDir = testCgroup(name("rights"));
  const cgroup = cgroupDir.path;
  const noCapabilities = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];
  const run = await keepalive(["apply", "--cgroup", cgroup, "--idle", "5s"], noCapabilities);
  equal(run.code, 1, run.stdout);
  match(
    run.stderr,
    /^keepalive: EPERM: the TCP iterator needs CAP_BPF and CAP_PERFMON \(or CAP_SYS_ADMIN\); this process lacks CAP_BPF and CAP_PERFMON; nothing was loaded/,
  );
  deepEqual(inspectCgroup(cgroup).programs, []);
}, 15_000);

testUnder("deno", "with --json, an error is JSON too, on stdout, with the same exit code", async () => {
  const usage = await keepalive(["detach", "--cgroup", "/sys/fs/cgroup/no-such-cgroup", "--json"]);
  equal(usage.code, 2);
  const { error } = JSON.parse(usage.stdout);
  equal(error.code, "ERR_USAGE");
  match(error.message, /no-such-cgroup is not a cgroup v2 directory: there is no such directory/);
  equal(usage.stderr, "");
  const twice = await keepalive(["plan", "30s", "--count", "3", "--count", "4", "--json"]);
  deepEqual([twice.code, JSON.parse(twice.stdout).error.code], [2, "ERR_USAGE"]);
  const unknown = await keepalive(["plan", "30s", "--frobnicate", "--json"]);
  deepEqual([unknown.code, JSON.parse(unknown.stdout).error.code], [2, "ERR_PARSE_ARGS_UNKNOWN_OPTION"]);
}, 30_000);

test(
  "a cgroup path outside ASCII names that directory, in UTF-8, and no other; one with a NUL is refused",
  async () => {
    await using baseDir = testCgroup(name("utf8"));
    const base = baseDir.path;
    // What 0.8.0 opened instead: each character's low byte (中 is 0x4e2d, 丯 0x4e2f, a "/").
    const lowBytes = makeCgroup("x-a-b", base);
    const uni = makeCgroup("uni", base);
    const accented = makeCgroup("x-ünï", base);
    try {
      throws(() => setCgroupKeepalive(`${base}/x-a中b`, POLICY), {
        name: "TypeError",
        message: /x-a中b is not a cgroup v2 directory: there is no such directory/,
      });
      throws(() => setCgroupKeepalive(`${uni}/child丯..`, POLICY), {
        name: "TypeError",
        message: /uni\/child丯\.\. is not a cgroup v2 directory: there is no such directory/,
      });
      deepEqual([ours(lowBytes), ours(uni)], [[], []], "nothing attached where the low bytes lead");
      const done = setCgroupKeepalive(accented, POLICY);
      equal(done.path, accented);
      deepEqual(ours(accented).map(({ kind }) => kind), ["sock_ops"]);
      // bpftool, from outside, finds the program at the same directory.
      match(
        execFileSync("bpftool", ["cgroup", "show", accented], { encoding: "utf8" }),
        /sock_ops\s+multi\s+tcp_keepalive/,
      );
      const never = () => {
        throw new Error("the binding was opened");
      };
      throws(() => applyToCgroup(never, linux, `${base}/x\u0000y`, POLICY), {
        name: "TypeError",
        message: /^path must be the absolute path of a cgroup v2 directory.*: it holds a NUL character at \d+/,
      });
      throws(() => applyToCgroup(never, linux, `${base}/x\ud800y`, POLICY), { message: /a lone surrogate/ });
      throws(() => applyToCgroup(never, linux, "relative/path", POLICY), { message: /: it is not absolute$/ });
    } finally {
      clearCgroupKeepalive(accented, { all: true });
    }
  },
  20_000,
);

testUnder(
  "deno",
  "nested cgroups: a connection gets the nearest policy, a child's over its parent's, with --enforce too",
  async () => {
    const server = await holdingServer();
    await using parentDir = testCgroup(name("nest"));
    const parent = parentDir.path;
    const child = makeCgroup("child", parent);
    try {
      for (const enforce of [false, true]) {
        setCgroupKeepalive(parent, { idleMs: 31_000, count: 3 }, { enforce });
        setCgroupKeepalive(child, { idleMs: 32_000, count: 7 }, { enforce });
        // With --enforce, the application's own setsockopt in the child changes nothing either.
        const own = enforce ? "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)" : "";
        const inChild = pythonClient(child, server.port, own);
        const inParent = pythonClient(parent, server.port);
        try {
          await Promise.all([firstLine(inChild), firstLine(inParent)]);
          const [c, p] = [valuesTo(inChild, server.port), valuesTo(inParent, server.port)];
          deepEqual([c.TCP_KEEPIDLE, c.TCP_KEEPCNT], [32, 7], `the child's own policy (enforce ${enforce})`);
          deepEqual([p.TCP_KEEPIDLE, p.TCP_KEEPCNT], [31, 3], `the parent's (enforce ${enforce})`);
          const seen = inspectCgroup(parent);
          const policyOf = (pid: number) =>
            seen.processes.find((process) => process.pid === pid)!.sockets.find((socket) =>
              socket.peer?.endsWith(`:${server.port}`)
            )!.policy;
          deepEqual([policyOf(inChild.pid!), policyOf(inParent.pid!)], [child, parent]);
          // Applying the parent's again leaves the sockets of the child to the child's policy.
          const again = setCgroupKeepalive(parent, { idleMs: 33_000, count: 3 }, { enforce });
          deepEqual(again.nested, [child]);
          deepEqual(again.processes.map(({ pid }) => pid), [inParent.pid]);
          deepEqual([valuesTo(inChild, server.port).TCP_KEEPIDLE, valuesTo(inParent, server.port).TCP_KEEPIDLE], [
            32,
            33,
          ]);
        } finally {
          inChild.kill();
          inParent.kill();
        }
      }
    } finally {
      server.close();
    }
  },
  30_000,
);

testUnder(
  "deno",
  "another's program attached exclusively, here or above: named, with what to do; nothing attached",
  async () => {
    for (
      const [flags, how] of [[0, "exclusively \\(without BPF_F_ALLOW_MULTI, bpftool's default\\)"], [
        bpf.BPF_F_ALLOW_OVERRIDE,
        "with override \\(BPF_F_ALLOW_OVERRIDE\\)",
      ]] as const
    ) {
      await using parentDir = testCgroup(name("exclusive"));
      const parent = parentDir.path;
      const child = makeCgroup("child", parent);
      const foreign = attachForeign(parent, { flags, name: "exclusive_one" });
      try {
        const run = await keepalive(["apply", "--cgroup", child, "--idle", "5s"]);
        equal(run.code, 1, run.stdout);
        match(
          run.stderr,
          new RegExp(
            `^keepalive: EPERM: cannot attach to ${child}: sock_ops program \\d+ exclusive_one is attached to ${parent} ${how}`,
          ),
        );
        match(
          run.stderr,
          /nothing was attached\. To run both, attach it again with multi \(bpftool cgroup detach .* multi\)/,
        );
        deepEqual(ours(child), []);
      } finally {
        syscalls().close(foreign);
      }
    }
  },
  30_000,
);

testUnder(
  "deno",
  "several applies at once on one cgroup: never two of this module's programs there, 20 rounds",
  async () => {
    await using cgroupDir = testCgroup(name("race"));
    const cgroup = cgroupDir.path;
    for (let round = 0; round < 20; round++) {
      const runs = await Promise.all(
        [0, 1, 2, 3].map((i) => keepalive(["apply", "--cgroup", cgroup, "--idle", `${10 + i}s`, "--owner", `o${i}`])),
      );
      for (const run of runs) equal(run.code, 0, run.stderr);
      const programs = ours(cgroup);
      equal(programs.length, 1, `round ${round}: ${JSON.stringify(programs)}`);
      // The last to take the lock holds: the one whose program is there.
      ok(/^o[0-3]$/.test(programs[0].owner!));
      clearCgroupKeepalive(cgroup, { all: true });
    }
  },
  180_000,
);

testUnder(
  "deno",
  "another's program named tcp_keepalive is not taken for this module's: it stays, shown as another's",
  async () => {
    await using cgroupDir = testCgroup(name("namesake"));
    const cgroup = cgroupDir.path;
    const namesake = attachForeign(cgroup, { name: "tcp_keepalive" });
    try {
      equal(setCgroupKeepalive(cgroup, POLICY).programs[0].replaced, undefined, "nothing of this module's was there");
      deepEqual(inspectCgroup(cgroup).programs.map(({ name, kind }) => [name, kind]), [
        ["tcp_keepalive", undefined],
        ["tcp_keepalive", "sock_ops"],
      ]);
      match((await keepalive(["inspect", "--cgroup", cgroup])).stdout, /program \d+ tcp_keepalive: not this module's/);
      deepEqual(clearCgroupKeepalive(cgroup, { all: true }).map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(inspectCgroup(cgroup).programs.map(({ name, kind }) => [name, kind]), [["tcp_keepalive", undefined]]);
    } finally {
      syscalls().close(namesake);
    }
  },
  20_000,
);

testUnder(
  "deno",
  "drift: a socket that holds other values than its policy is marked, whatever changed them",
  async () => {
    const server = await holdingServer();
    await using cgroupDir = testCgroup(name("drift"));
    const cgroup = cgroupDir.path;
    setCgroupKeepalive(cgroup, POLICY, { enforce: true });
    // Another's program, run after this module's for the same connection, sets its own idle time.
    const other = attachForeign(cgroup, { code: setsIdle(60), name: "sets_idle_60" });
    using client = pythonClient(cgroup, server.port);
    try {
      await firstLine(client);
      deepEqual(valuesTo(client, server.port), { ...HELD, TCP_KEEPIDLE: 60 });
      const [socket] = inspectCgroup(cgroup).processes.flatMap(({ sockets }) => sockets);
      deepEqual([socket.policy, socket.drift], [cgroup, ["idleMs"]]);
      match((await keepalive(["inspect", "--cgroup", cgroup])).stdout, /this cgroup's\s+idleMs/);
    } finally {
      syscalls().close(other);
      server.close();
    }
  },
  20_000,
);

testUnder(
  "deno",
  "a 32-bit process's own setsockopt escapes --enforce where the kernel runs one: shown as drift",
  async () => {
    const binary = `/tmp/tcp-keepalive-${process.pid}-own32`;
    if (!built32(binary)) {
      console.log("cgroup: this kernel runs no 32-bit process (ENOEXEC), so the compat escape is not seen here");
      return;
    }
    const server = await holdingServer();
    await using cgroupDir = testCgroup(name("compat"));
    const cgroup = cgroupDir.path;
    setCgroupKeepalive(cgroup, POLICY, { enforce: true });
    using client = startIn(cgroup, [binary, String(server.port)]);
    try {
      await firstLine(client);
      deepEqual(valuesTo(client, server.port), { ...HELD, SO_KEEPALIVE: 0, TCP_KEEPIDLE: 60 });
      const [socket] = inspectCgroup(cgroup).processes.flatMap(({ sockets }) => sockets);
      deepEqual(socket.drift, ["enabled", "idleMs"]);
    } finally {
      server.close();
    }
  },
  20_000,
);

testUnder(
  "deno",
  "--enforce holds TCP sockets only: a UDP or Unix socket's own SO_KEEPALIVE is as it was set",
  async () => {
    await using cgroupDir = testCgroup(name("tcp-only"));
    const cgroup = cgroupDir.path;
    setCgroupKeepalive(cgroup, POLICY, { enforce: true });
    const child = startIn(cgroup, [
      PYTHON,
      "-c",
      "import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nx = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n" +
      "for s in (u, x): s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)\n" +
      "print(u.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), x.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), flush=True)",
    ]);
    equal(await firstLine(child), "1 1");
  },
  20_000,
);

testUnder(
  "deno",
  "owners: apply replaces this module's program whoever's it is; detach takes off its owner's alone",
  async () => {
    await using cgroupDir = testCgroup(name("owners"));
    const cgroup = cgroupDir.path;
    equal((await keepalive(["apply", "--cgroup", cgroup, "--idle", "10s", "--owner", "pod-a"])).code, 0);
    const b = await keepalive(["apply", "--cgroup", cgroup, "--idle", "11s", "--owner", "pod-b"]);
    match(b.stdout, /sock_ops program \d+ of pod-b attached in place of pod-a's/);
    const a = await keepalive(["detach", "--cgroup", cgroup, "--owner", "pod-a", "--json"]);
    deepEqual(
      JSON.parse(a.stdout).programs.map((
        { owner, detached }: { owner: string; detached: boolean },
      ) => [owner, detached]),
      [
        ["pod-b", false],
      ],
    );
    deepEqual(ours(cgroup).map(({ owner, settings }) => [owner, settings?.idleMs]), [["pod-b", 11_000]]);
    const all = await keepalive(["detach", "--cgroup", cgroup, "--all"]);
    match(all.stdout, /sock_ops program \d+ of pod-b taken off/);
    deepEqual(ours(cgroup), []);
  },
  30_000,
);

testUnder("deno", "the hierarchy's root is refused without --root, naming why; nothing is attached there", async () => {
  const before = inspectCgroup(CGROUP_ROOT).programs.map(({ id }) => id);
  const run = await keepalive(["apply", "--cgroup", CGROUP_ROOT, "--idle", "5s"]);
  equal(run.code, 2, run.stdout);
  match(
    run.stderr,
    /is the root of the cgroup hierarchy: every process of the host is in it or below, this one's too; pass root: true \(--root\)/,
  );
  deepEqual(inspectCgroup(CGROUP_ROOT).programs.map(({ id }) => id), before);
}, 15_000);

testUnder(
  "deno",
  "a cgroup this process may not read is said to be unreadable (EACCES), not to be no cgroup",
  async () => {
    await using cgroupDir = testCgroup(name("unreadable"));
    const cgroup = cgroupDir.path;
    chmodSync(cgroup, 0o000);
    try {
      const noCapabilities = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];
      const run = await keepalive(["inspect", "--cgroup", cgroup], noCapabilities);
      equal(run.code, 1, run.stdout);
      match(run.stderr, new RegExp(`^keepalive: EACCES: cannot open ${cgroup}: not allowed to read it`));
    } finally {
      chmodSync(cgroup, 0o755);
    }
  },
  15_000,
);

testUnder(
  "deno",
  "without CAP_SYS_PTRACE over the processes there: their sockets set through the TCP iterator, read from outside",
  async () => {
    const server = await holdingServer();
    await using cgroupDir = testCgroup(name("ptrace"));
    const cgroup = cgroupDir.path;
    // A process of another user, in the cgroup.
    using client = startIn(cgroup, [
      ...AS_NOBODY,
      PYTHON,
      "-c",
      `import socket, sys\ns = socket.create_connection(("127.0.0.1", ${server.port}))\nprint("connected", flush=True)\nsys.stdin.readline()`,
    ]);
    try {
      await firstLine(client);
      // Root, with what attaching takes and without CAP_SYS_PTRACE.
      const caps = "-all,+bpf,+net_admin,+sys_admin,+perfmon,+dac_override";
      const withoutPtrace = ["setpriv", `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`, "--"];
      const run = await keepalive(["apply", "--cgroup", cgroup, "--idle", "5s"], withoutPtrace);
      equal(run.code, 0, run.stderr);
      const [socket] = tcpSockets(client.pid!).filter((s) => s.peerPort === server.port);
      equal(kernelValuesOf(client.pid!, socket!.fd).TCP_KEEPIDLE, 5, "set, read from outside");
      equal(kernelValuesOf(client.pid!, socket!.fd).SO_KEEPALIVE, 1);
    } finally {
      server.close();
    }
  },
  20_000,
);
