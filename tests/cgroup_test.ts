// cgroup/: keepalive for every connection of a cgroup v2 directory, set by the kernel. The programs checked byte by
// byte against an encoding made by hand; then, as root on the real kernel, clients in other languages (python3, curl,
// Deno, Bun, Node) and a server started inside the cgroup, read back from outside through pidfd_getfd; a dead peer
// found in seconds while a control outside waits; --enforce against an application's own setsockopt and fetch;
// detach; inspect writing nothing; the Kubernetes shape (a pods root, pods in their own network namespaces); and
// each refusal.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { createInterface } from "node:readline";
import { readFileSync, writeFileSync } from "node:fs";
import {
  applyToCgroup,
  assemble,
  decodeProgram,
  loadProgram,
  setsockoptProgram,
  sockOpsProgram,
} from "../cgroup/mod.ts";
import { syscalls } from "../ffi/mod.ts";
import { clearCgroupKeepalive, inspectCgroup, setCgroupKeepalive, VERSION } from "../mod.ts";
import { planWrites } from "../options/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import type { Syscalls } from "../socket/mod.ts";
import { firstLine, makeCgroup, removeCgroup, RUNTIMES, startIn, tcpSockets } from "./_cgroup.ts";
import { FIXTURES, keepalive } from "./_cli.ts";
import { type KernelValues, kernelValuesOf } from "./_kernel.ts";
import { runtime, test, testUnder } from "./_harness.ts";

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
const PYTHON = "/usr/bin/python3";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let unique = 0;
const name = (what: string) => `tcp-keepalive-${process.pid}-${runtime}-${what}-${unique++}`;

// The same instructions, encoded by hand from <linux/bpf.h>'s opcodes (struct bpf_insn: u8 code, u8 dst:4 src:4,
// s16 off, s32 imm), for idle 30 s, interval 7 s, count 4, user timeout 25 s.
const SOCK_OPS_HEX = "bf160000000000006161000000000000150102000400000015010100050000000500280000000000" +
  "620afcff01000000bf61000000000000b702000001000000b703000009000000bfa400000000000007040000fcffffffb70500000400" +
  "00008500000031000000620afcff1e000000bf61000000000000b702000006000000b703000004000000bfa400000000000007040000" +
  "fcffffffb7050000040000008500000031000000620afcff07000000bf61000000000000b702000006000000b703000005000000bfa4" +
  "00000000000007040000fcffffffb7050000040000008500000031000000620afcff04000000bf61000000000000b702000006000000" +
  "b703000006000000bfa400000000000007040000fcffffffb7050000040000008500000031000000620afcffa8610000bf6100000000" +
  "0000b702000006000000b703000012000000bfa400000000000007040000fcffffffb7050000040000008500000031000000b7000000" +
  "010000009500000000000000";
const SETSOCKOPT_HEX = "bf1600000000000079620800000000007963100000000000bf2400000000000007040000040000002d34" +
  "160000000000616418000000000061651c000000000055040300060000005505020004000000620200001e0000000500100000000000" +
  "55040300060000005505020005000000620200000700000005000c00000000005504030006000000550502000600000062020000040000" +
  "0005000800000000005504030006000000550502001200000062020000a86100000500040000000000550403000100000055050200" +
  "0900000062020000010000000500000000000000b7000000010000009500000000000000";
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

test("the sock_ops program is its table, byte for byte: keepalive on first, then each option", () => {
  const lines = sockOpsProgram(bpf, planWrites(POLICY, linux));
  equal(hex(assemble(lines)), SOCK_OPS_HEX);
  equal(lines.filter((line) => "code" in line).length, 47);
  ok(lines.every((line) => "label" in line || line.comment.length > 0), "each instruction says what it does");
});

test("the setsockopt program is its table, byte for byte: each option the policy sets written over", () => {
  equal(hex(assemble(setsockoptProgram(bpf, planWrites(POLICY, linux)))), SETSOCKOPT_HEX);
});

test("what a program sets is read back from its instructions", () => {
  const writes = planWrites(POLICY, linux);
  for (
    const [kind, lines] of [["sock_ops", sockOpsProgram(bpf, writes)], [
      "setsockopt",
      setsockoptProgram(bpf, writes),
    ]] as const
  ) {
    const read = decodeProgram(bpf, kind, assemble(lines), linux.socketOptions);
    deepEqual(
      read.map(({ option, value }) => [option.name, value]).sort(),
      writes.map(({ option, value }) => [option.name, value]).sort(),
    );
  }
});

/** A binding whose kernel is `release`, and which fails the test if anything reaches bpf(2). */
function kernelOf(release: string): () => Syscalls {
  const real = syscalls();
  return () => ({
    ...real,
    cgroup: () => ({
      ...real.cgroup(),
      kernelRelease: () => release,
      bpf: () => {
        throw new Error("bpf(2) was called");
      },
    }),
  });
}

test("a kernel before 5.9 is refused before any program is loaded: there it would set nothing", () => {
  throws(() => applyToCgroup(kernelOf("5.8.18-generic"), linux, "/sys/fs/cgroup", POLICY), {
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
  const broken = sockOpsProgram(bpf, []).filter((line) => !("code" in line && line.code === 0xb7 && line.dst === 0));
  throws(() => loadProgram(syscalls().cgroup(), linux, "sock_ops", broken), {
    name: "KeepaliveError",
    code: "EACCES",
    message: /^EACCES: the verifier refused the sock_ops program:\n[\s\S]*R0 !read_ok/,
  });
});

/** A server that accepts and holds every connection, in this process (outside every test cgroup). */
async function holdingServer(host = "127.0.0.1") {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => (accepted.push(socket), socket.on("error", () => {})));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    close: () => (accepted.forEach((socket) => socket.destroy()), server.close()),
  };
}

/** A python3 client that connects to `port` and holds on, inside `cgroup`. */
function pythonClient(cgroup: string, port: number, then = ""): ChildProcess {
  return startIn(cgroup, [
    PYTHON,
    "-c",
    `import socket, sys\ns = socket.create_connection(("127.0.0.1", ${port}))\n${then}\nprint("connected", flush=True)\nsys.stdin.readline()`,
  ]);
}

/** The values of the one socket a process holds to `port`, read from outside it. */
function valuesTo(child: ChildProcess, port: number): KernelValues {
  const socket = tcpSockets(child.pid!).find((s) => s.peerPort === port && s.state === "01");
  if (!socket) throw new Error(`process ${child.pid} holds no connection to ${port}`);
  return kernelValuesOf(child.pid!, socket.fd);
}

test("setCgroupKeepalive: new connections there get the policy, existing sockets are set, others are not", async () => {
  const server = await holdingServer();
  const cgroup = makeCgroup(name("api"));
  const before = pythonClient(cgroup, server.port);
  try {
    await firstLine(before);
    deepEqual(valuesTo(before, server.port), DEFAULTS);
    const done = setCgroupKeepalive(cgroup, POLICY);
    deepEqual(done.programs.map(({ kind, replaced }) => [kind, replaced]), [["sock_ops", false]]);
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
    before.kill();
    server.close();
    await removeCgroup(cgroup);
  }
}, 20_000);

test(
  "apply again: this module's program is replaced in place, never stacked; clear takes it off, others' stay",
  async () => {
    const cgroup = makeCgroup(name("replace"));
    const server = await holdingServer();
    const foreign = attachForeign(cgroup);
    try {
      equal(setCgroupKeepalive(cgroup, POLICY).programs[0].replaced, false);
      const again = setCgroupKeepalive(cgroup, { ...POLICY, count: 6 }, { enforce: true });
      deepEqual(again.programs.map(({ kind, replaced }) => [kind, replaced]), [["sock_ops", true], [
        "setsockopt",
        false,
      ]]);
      const ours = () => inspectCgroup(cgroup).programs.filter((program) => program.kind !== undefined);
      deepEqual(ours().map(({ kind, settings }) => [kind, settings?.count]), [["sock_ops", 6], ["setsockopt", 6]]);
      // Without --enforce, the setsockopt program goes: the policy is exactly what was asked.
      deepEqual(setCgroupKeepalive(cgroup, POLICY).programs.map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(ours().map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(clearCgroupKeepalive(cgroup).map(({ kind }) => kind), ["sock_ops"]);
      deepEqual(inspectCgroup(cgroup).programs.map(({ name }) => name), ["someone_else"], "another's program stays");
      const client = pythonClient(cgroup, server.port);
      try {
        await firstLine(client);
        deepEqual(valuesTo(client, server.port), DEFAULTS, "detached: new connections get the defaults");
      } finally {
        client.kill();
      }
    } finally {
      syscalls().close(foreign);
      server.close();
      await removeCgroup(cgroup);
    }
  },
  20_000,
);

/** Someone else's sock_ops program (it only returns 1), attached to the cgroup beside ours; its descriptor. */
function attachForeign(cgroup: string): number {
  const calls = syscalls().cgroup();
  const code = new Uint8Array(new ArrayBuffer(16));
  code.set([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]); // r0 = 1; exit
  const license = new Uint8Array(new ArrayBuffer(8));
  license.set(new TextEncoder().encode("GPL"));
  const load = new Uint8Array(new ArrayBuffer(128));
  const view = new DataView(load.buffer);
  view.setUint32(0, bpf.programTypes.BPF_PROG_TYPE_SOCK_OPS, true);
  view.setUint32(4, 2, true);
  view.setBigUint64(8, calls.addressOf(code), true);
  view.setBigUint64(16, calls.addressOf(license), true);
  load.set(new TextEncoder().encode("someone_else"), 48);
  const program = calls.bpf(bpf.commands.BPF_PROG_LOAD, load);
  ok(program >= 0, `loaded: ${program}`);
  const directory = calls.openDirectory(cgroup);
  const attach = new Uint8Array(new ArrayBuffer(128));
  const at = new DataView(attach.buffer);
  at.setUint32(0, directory, true);
  at.setUint32(4, program, true);
  at.setUint32(8, bpf.attachTypes.BPF_CGROUP_SOCK_OPS, true);
  at.setUint32(12, bpf.BPF_F_ALLOW_MULTI, true);
  equal(calls.bpf(bpf.commands.BPF_PROG_ATTACH, attach), 0);
  syscalls().close(directory);
  return program;
}

/** A script that connects to `port` with node:net and holds on: the same text under Deno, Bun and Node. */
const holdScript = (port: number) =>
  `import net from "node:net"; const s = net.connect(${port}, "127.0.0.1", () => console.log("connected")); ` +
  `s.on("error", () => {}); setInterval(() => {}, 1000);`;

testUnder("deno", "every connection made in the cgroup and below, by python3, curl, Deno, Bun and Node", async () => {
  const server = await holdingServer();
  const cgroup = makeCgroup(name("languages"));
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
    await removeCgroup(cgroup);
  }
}, 60_000);

/** A script file in a temporary directory, for a runtime to run. */
function makeScript(text: string): string {
  const path = `/tmp/tcp-keepalive-${process.pid}-${unique++}.mjs`;
  writeFileSync(path, text);
  return path;
}

testUnder("deno", "a server in the cgroup: what it accepts is set at accept, the client outside is not", async () => {
  const cgroup = makeCgroup(name("server"));
  const server = startIn(cgroup, [
    PYTHON,
    "-c",
    'import socket, sys\nl = socket.create_server(("127.0.0.1", 0))\nprint(l.getsockname()[1], flush=True)\n' +
    'a, _ = l.accept()\nprint("accepted", flush=True)\nsys.stdin.readline()',
  ]);
  try {
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
  } finally {
    server.kill();
    await removeCgroup(cgroup);
  }
}, 20_000);

testUnder(
  "deno",
  "a dead peer is found by a connection of the cgroup within idle + interval x count + 1 s",
  async () => {
    const namespace = name("dead");
    execFileSync("ip", ["netns", "add", namespace]);
    const cgroup = makeCgroup(namespace);
    const idleClient = readFileSync(`${FIXTURES}idle_client.py`, "utf8");
    try {
      execFileSync("ip", ["netns", "exec", namespace, "ip", "link", "set", "lo", "up"]);
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
    } finally {
      await removeCgroup(cgroup);
      execFileSync("ip", ["netns", "del", namespace]);
    }
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
  const cgroup = makeCgroup(name("inspect"));
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
    }
    const byPid = await keepalive(["inspect", "--pid", String(set.pid)]);
    equal(byPid.code, 0, byPid.stderr);
    match(byPid.stdout, /established\s+on\s+30 s\s+7 s\s+4\s+25 s\s+58 s\s+[\d.]+ s ago/);
    deepEqual(read(), before, "inspect --pid wrote nothing");
  } finally {
    set.kill();
    own.kill();
    server.close();
    await removeCgroup(cgroup);
  }
}, 30_000);

/** The command lines of deploy/kubernetes.yaml: the version it pins, and what apply and detach are given. */
function manifest(): { version: string; apply: string[]; detach: string[] } {
  const text = readFileSync(new URL("../deploy/kubernetes.yaml", import.meta.url), "utf8");
  const [, version, apply] = /npx --yes tcp-keepalive@(\S+) apply --cgroup "\$PODS_CGROUP" (.*)$/m.exec(text)!;
  const [, detach] = /npx --yes tcp-keepalive@\S+ detach --cgroup "\$PODS_CGROUP"(.*)'/m.exec(text)!;
  return { version, apply: apply.split(" "), detach: detach.split(" ").filter(Boolean) };
}

testUnder(
  "deno",
  "Kubernetes, simulated with deploy/kubernetes.yaml's commands: every pod is set, later ones too",
  async () => {
    const { version, apply, detach } = manifest();
    equal(version, VERSION, "the manifest pins this version");
    const pods = makeCgroup(name("kubepods"));
    const namespaces: string[] = [];
    const started: ChildProcess[] = [];
    /** A pod: its own cgroup under the root and its own network namespace, with a python3 client and server in it. */
    const pod = async (label: string) => {
      const namespace = `${pods.split("/").at(-1)}-${label}`;
      execFileSync("ip", ["netns", "add", namespace]);
      namespaces.push(namespace);
      execFileSync("ip", ["netns", "exec", namespace, "ip", "link", "set", "lo", "up"]);
      const idleClient = readFileSync(`${FIXTURES}idle_client.py`, "utf8");
      const child = startIn(makeCgroup(label, pods), [PYTHON, "-c", idleClient], namespace);
      started.push(child);
      await firstLine(child);
      return child;
    };
    const connections = (child: ChildProcess) =>
      tcpSockets(child.pid!).filter((s) => s.state === "01").map(({ fd }) => kernelValuesOf(child.pid!, fd));
    // What the manifest's policy gives: 30 s, planned.
    const held = { SO_KEEPALIVE: 1, TCP_KEEPIDLE: 10, TCP_KEEPINTVL: 2, TCP_KEEPCNT: 10, TCP_USER_TIMEOUT: 30_000 };
    try {
      const early = [await pod("pod-a"), await pod("pod-b")];
      const run = await keepalive(["apply", "--cgroup", pods, ...apply, "--json"]);
      equal(run.code, 0, run.stderr);
      const done = JSON.parse(run.stdout);
      deepEqual(done.programs.map((p: { kind: string }) => p.kind), ["sock_ops", "setsockopt"]);
      deepEqual(done.processes.map((p: { sockets: unknown[] }) => p.sockets.length), [3, 3], "both pods' sockets, now");
      const late = await pod("pod-c");
      for (const child of [...early, late]) deepEqual(connections(child), [held, held], `pod process ${child.pid}`);
      const off = await keepalive(["detach", "--cgroup", pods, ...detach]);
      equal(off.code, 0, off.stderr);
      match(off.stdout, /sock_ops program \d+ taken off/);
      deepEqual(connections(await pod("pod-d")), [DEFAULTS, DEFAULTS], "a pod made after detach");
    } finally {
      started.forEach((child) => child.kill("SIGKILL"));
      await removeCgroup(pods);
      namespaces.forEach((namespace) => execFileSync("ip", ["netns", "del", namespace]));
    }
  },
  60_000,
);

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
    /^keepalive: inspect takes --pid PID or --cgroup PATH, one of them/,
  ],
  [
    "bad options, before any call",
    ["apply", "--cgroup", "/proc", "--count", "200"],
    2,
    /^keepalive: --count must be an integer from 1 to 127/,
  ],
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
  const cgroup = makeCgroup(name("rights"));
  try {
    const noCapabilities = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];
    const run = await keepalive(["apply", "--cgroup", cgroup, "--idle", "5s"], noCapabilities);
    equal(run.code, 1, run.stdout);
    match(run.stderr, /^keepalive: EPERM: loading sock_ops: that needs CAP_BPF and CAP_NET_ADMIN \(or CAP_SYS_ADMIN\)/);
    deepEqual(inspectCgroup(cgroup).programs, []);
  } finally {
    await removeCgroup(cgroup);
  }
}, 15_000);
