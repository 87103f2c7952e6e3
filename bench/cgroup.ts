// deno run -A bench/cgroup.ts (as root): what the cgroup programs cost. This process moves into a cgroup of its own,
// so that both ends of each loopback connection are in it, and makes connections as bare as libc allows (socket,
// connect, accept4, close both), in rounds with the program attached and without, alternating, all in one run.
// Target: the rate with it at least 0.9x the rate without. Then --enforce: what its setsockopt program adds to each
// setsockopt a process of the cgroup makes, of an option the policy holds and of one it does not, this version's
// beside 0.8.0's (which wrote the policy's value over the application's), in rounds alternating with none.
import process from "node:process";
import { clearCgroupKeepalive, setCgroupKeepalive } from "../mod.ts";
import { bpfContext, loadProgram } from "../bpf/mod.ts";
import { attachProgram, detachProgram, specOf } from "../cgroup/_attach.ts";
import { programLines, templates } from "../cgroup/_program.ts";
import { syscalls } from "../ffi/mod.ts";
import { planWrites } from "../options/mod.ts";
import { platformFor } from "../platforms/mod.ts";

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
}).symbols;
const [AF_INET, SOCK_STREAM] = [2, 1];
const ROUNDS = 20;
const PER_ROUND = 2500;

const root = Deno.readTextFileSync("/proc/self/mounts").split("\n").map((line) => line.split(" "))
  .find((fields) => fields[2] === "cgroup2")![1];
const cgroup = `${root}/tcp-keepalive-bench-${process.pid}`;
Deno.mkdirSync(cgroup);
const home = Deno.readTextFileSync("/proc/self/cgroup").split("\n").find((line) => line.startsWith("0::"))!.slice(3);

// A listener on 127.0.0.1, port chosen by the kernel: sockaddr_in { family, port, addr }.
const address = new Uint8Array(16);
address.set([AF_INET, 0, 0, 0, 127, 0, 0, 1]);
const listener = libc.socket(AF_INET, SOCK_STREAM, 0);
libc.bind(listener, address, 16);
libc.listen(listener, 4096);
libc.getsockname(listener, address, new Uint32Array([16]));

/** Connections a second: `n` made, accepted and closed. */
function rate(n: number): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const client = libc.socket(AF_INET, SOCK_STREAM, 0);
    if (libc.connect(client, address, 16) !== 0) throw new Error("connect failed");
    const accepted = libc.accept4(listener, null, null, 0);
    libc.close(accepted); // the server's end first: TIME_WAIT there, not on the clients' ephemeral ports
    libc.close(client);
  }
  return n / ((performance.now() - start) / 1000);
}

/** The idle time both ends of a new connection hold, in seconds: the program's work shows, or it did not run. */
function idleOfBothEnds(): number[] {
  const client = libc.socket(AF_INET, SOCK_STREAM, 0);
  libc.connect(client, address, 16);
  const accepted = libc.accept4(listener, null, null, 0);
  const idle = [client, accepted].map((fd) => {
    const value = new Int32Array(1);
    libc.getsockopt(fd, 6, 4, value, new Uint32Array([4])); // TCP_KEEPIDLE
    return value[0];
  });
  libc.close(client);
  libc.close(accepted);
  return idle;
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
try {
  Deno.writeTextFileSync(`${cgroup}/cgroup.procs`, String(process.pid));
  rate(PER_ROUND); // warm up
  const without: number[] = [];
  const withProgram: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    without.push(rate(PER_ROUND));
    setCgroupKeepalive(cgroup, { timeoutMs: 30_000 });
    if (idleOfBothEnds().some((idle) => idle !== 10)) throw new Error("the program did not set the connections");
    withProgram.push(rate(PER_ROUND));
    clearCgroupKeepalive(cgroup);
    // The client's end only: the listener, a socket of this process, was set by the call too, and passes it on.
    if (idleOfBothEnds()[0] !== 7200) throw new Error("the program was not taken off");
  }
  const [off, on] = [median(without), median(withProgram)];
  console.log(`\nconnections through the cgroup program (target: >= 0.9x the rate without)`);
  console.log(`  without the program   ${Math.round(off)} connections/s`);
  console.log(`  with it                ${Math.round(on)} connections/s  ${(on / off).toFixed(2)}x`);
  console.log(`  ${(1e6 / on - 1e6 / off).toFixed(1)} µs a connection, both ends in the cgroup`);

  // --enforce: a process of the cgroup's own setsockopt, timed bare, with 0.8.0's program and with this version's.
  const linux = platformFor("linux");
  const c = bpfContext(syscalls(), linux);
  const writes = planWrites({ timeoutMs: 30_000 }, linux);
  const [current, old] = ["0.9", "0.7"].map((since) =>
    templates(linux.bpf!).find((template) => template.kind === "setsockopt" && template.since === since)!
  );
  const directory = c.calls.openDirectory(cgroup);
  const loaded = [current, old].map((template) =>
    loadProgram(c, specOf(c, "setsockopt"), programLines(template, { owner: "bench", writes }))
  );
  const fd = libc.socket(AF_INET, SOCK_STREAM, 0);
  const value = new Int32Array([60]);
  /** Nanoseconds a setsockopt of `option` takes, over `n` calls. */
  const perCall = (option: number, n = 20_000) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) libc.setsockopt(fd, 6, option, value, 4);
    return (performance.now() - start) * 1e6 / n;
  };
  const [TCP_KEEPIDLE, TCP_NODELAY] = [4, 1];
  const times: Record<string, number[]> = {};
  const time = (name: string, option: number) => (times[name] ??= []).push(perCall(option));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, program] of [["none", -1], ["0.8.0", loaded[1]], ["0.9.0", loaded[0]]] as const) {
      if (program >= 0) attachProgram(c, directory, program, "setsockopt");
      time(`${label} held`, TCP_KEEPIDLE);
      time(`${label} other`, TCP_NODELAY);
      if (program >= 0) detachProgram(c, directory, program, "setsockopt");
    }
  }
  console.log(`\nan application's own setsockopt in a cgroup with --enforce (no target: said in the README's Cost)`);
  for (const option of ["held", "other"]) {
    const bare = median(times[`none ${option}`]);
    const what = option === "held" ? "TCP_KEEPIDLE, which the policy holds" : "TCP_NODELAY, which it does not";
    console.log(`  ${what}: bare ${bare.toFixed(0)} ns`);
    for (const version of ["0.8.0", "0.9.0"]) {
      const with_ = median(times[`${version} ${option}`]);
      const extra = Math.round(with_ - bare);
      console.log(
        `    with ${version}'s program ${with_.toFixed(0)} ns: ${extra >= 0 ? "+" : "-"}${Math.abs(extra)} ns, ${
          (with_ / bare).toFixed(2)
        }x`,
      );
    }
  }
  libc.close(fd);
  for (const program of loaded) c.sys.close(program);
  c.sys.close(directory);
} finally {
  Deno.writeTextFileSync(`${root}${home}/cgroup.procs`, String(process.pid));
  libc.close(listener);
  Deno.removeSync(cgroup);
}
