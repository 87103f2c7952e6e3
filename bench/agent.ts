// deno run -A bench/agent.ts (as root, after `npm run build:binary`): the node agent as the DaemonSet runs it, the
// single binary, at 10,000 TCP connections and 200 cgroups of the bench's own (the agent's --cgroup-root one of
// them, 20 of its pods holding 250 loopback pairs each, in python3 processes). Its CPU and resident memory while idle
// (over two minutes, half a minute after its start, scraped every 15 s as Prometheus would), and while 100 cgroups
// appear and go in a minute; the delay from a
// cgroup's mkdir to its program, median and worst; the binary's size and start-up. One run; figures beside targets:
// under 0.5% of a core idle, under 64 MB resident, worst delay under 1 s.
import { inspectCgroup } from "../mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BINARY = `${ROOT}build/keepalive`;
const PYTHON = "/usr/bin/python3";
const TICKS_PER_S = 100; // USER_HZ, as /proc/PID/stat counts
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;

const cgroup2 = Deno.readTextFileSync("/proc/mounts").split("\n").map((line) => line.split(" "))
  .find((fields) => fields[2] === "cgroup2")![1]!;
const root = `${cgroup2}/tcp-keepalive-bench-agent-${Deno.pid}`;
const run = (command: string, ...args: string[]) => new Deno.Command(command, { args }).outputSync();

/** CPU seconds a process has used, user and system. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** A line of /proc/PID/status in MB: VmRSS now, VmHWM its peak. */
function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1];
  return Number(kb) / 1024;
}

const holders: Deno.ChildProcess[] = [];
let agent: Deno.ChildProcess | undefined;
try {
  const size = Deno.statSync(BINARY).size;
  const startup: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    run(BINARY, "--version");
    startup.push(performance.now() - started);
  }
  console.log(
    `\nthe single binary (bun build --compile): ${(size / 1e6).toFixed(0)} MB; --version in ${
      median(startup).toFixed(0)
    } ms (median of 5)`,
  );

  // 200 pod cgroups, 20 of them holding 250 loopback pairs each: 10,000 connections.
  Deno.mkdirSync(`${root}/pods`, { recursive: true });
  const many = Deno.readTextFileSync(`${ROOT}tests/fixtures/many_sockets.py`);
  for (let i = 0; i < 200; i++) {
    const pod = `${root}/pods/pod-${String(i).padStart(3, "0")}`;
    Deno.mkdirSync(pod);
    if (i >= 20) continue;
    holders.push(
      new Deno.Command("sh", {
        args: ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$1" -c "$2" 250', pod, PYTHON, many],
        stdin: "piped",
        stdout: "piped",
      }).spawn(),
    );
  }
  for (const child of holders) {
    const reader = child.stdout.getReader();
    await reader.read();
    reader.releaseLock();
  }
  const config = `/tmp/tcp-keepalive-bench-agent-${Deno.pid}.json`;
  Deno.writeTextFileSync(
    config,
    JSON.stringify({ policies: [{ cgroup: "pods/*", timeout: "30s", enforce: true }] }),
  );
  const started = performance.now();
  agent = new Deno.Command(BINARY, {
    args: ["agent", "--config", config, "--cgroup-root", root, "--listen", "127.0.0.1:0", "--owner", "bench"],
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  let readyMs = 0;
  void (async () => {
    let text = "";
    for await (const chunk of agent!.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (let end; (end = text.indexOf("\n")) >= 0; text = text.slice(end + 1)) {
        const line = JSON.parse(text.slice(0, end));
        lines.push(line);
        if (line.action === "ready") readyMs = performance.now() - started;
      }
    }
  })();
  while (!readyMs) await sleep(20);
  const port = Number(String(lines.find((line) => line.action === "listening")!.address).split(":").at(-1));
  const attached = lines.filter((line) => line.action === "attached");
  const sockets = attached.reduce((sum, line) => sum + Number(line.sockets), 0);
  console.log(
    `start: ${attached.length} cgroups attached and ${sockets} sockets already there set, ready after ${
      readyMs.toFixed(0)
    } ms (first pass; no target)`,
  );
  const scrape = async () => {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/\ntcp_keepalive_connections\{cgroup="\/pods\/pod-000",keepalive="on"\} (\d+)/.exec(body)?.[1]);
  };
  console.log(`  pod-000's connections with keepalive on, as /metrics says: ${await scrape()} (of 500)`);

  // Idle: two minutes, scraped every 15 s, after half a minute for the start's garbage and compilation to settle.
  const pid = agent.pid;
  await sleep(30_000);
  let cpu = cpuSeconds(pid);
  let at = performance.now();
  for (let i = 0; i < 8; i++) {
    await sleep(15_000);
    await scrape();
  }
  const idlePercent = (cpuSeconds(pid) - cpu) / ((performance.now() - at) / 1000) * 100;
  const idleRss = memoryMb(pid, "VmRSS");

  // Churn: a cgroup made every 600 ms, each removed 3 s later; how long each waits for its program.
  const delays: number[] = [];
  cpu = cpuSeconds(pid);
  at = performance.now();
  const made: string[] = [];
  for (let i = 0; i < 100; i++) {
    const path = `${root}/pods/churn-${i}`;
    Deno.mkdirSync(path);
    const born = performance.now();
    made.push(path);
    while (!inspectCgroup(path).programs.some((program) => program.kind === "sock_ops")) {
      if (performance.now() - born > 5000) throw new Error(`${path} had no program after 5 s`);
      await sleep(2);
    }
    delays.push(performance.now() - born);
    if (made.length > 5) Deno.removeSync(made.shift()!);
    await sleep(Math.max(0, at + 600 * (i + 1) - performance.now()));
  }
  for (const path of made) Deno.removeSync(path);
  const churnPercent = (cpuSeconds(pid) - cpu) / ((performance.now() - at) / 1000) * 100;
  const peak = memoryMb(pid, "VmHWM");

  console.log(`\nthe agent, 10,000 connections and 200 cgroups (targets: idle < 0.5% of a core, < 64 MB, worst < 1 s)`);
  console.log(`  CPU idle (a pass a minute, scraped every 15 s)        ${idlePercent.toFixed(2)}% of a core`);
  console.log(`  CPU while 100 cgroups appear and go in a minute        ${churnPercent.toFixed(2)}% of a core`);
  console.log(
    `  resident memory idle, and its peak through the churn   ${idleRss.toFixed(0)} MB, ${peak.toFixed(0)} MB`,
  );
  console.log(
    `  a cgroup's mkdir to its program, median / worst        ${median(delays).toFixed(0)} / ${
      Math.max(...delays).toFixed(0)
    } ms`,
  );
} finally {
  if (agent) {
    agent.kill("SIGTERM");
    await agent.status;
  }
  for (const child of holders) child.kill("SIGKILL");
  await Promise.all(holders.map((child) => child.status));
  // The cgroups, deepest first, once their processes are gone.
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      for (const entry of Deno.readDirSync(`${root}/pods`)) {
        if (entry.isDirectory) Deno.removeSync(`${root}/pods/${entry.name}`); // a cgroup's files go with it
      }
      Deno.removeSync(`${root}/pods`);
      Deno.removeSync(root);
      break;
    } catch {
      await sleep(100);
    }
  }
}
