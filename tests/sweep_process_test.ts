// sweep/_process.ts through `keepalive apply --pid`: another process, in another language, that knows nothing of this
// module (python3), configured from outside through pidfd_getfd, in a network namespace of the test's own whose
// loopback is then taken down; a second python3 process, left alone, is the control.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { ssKeepaliveTimer } from "./_ss.ts";
import { FIXTURES, keepalive } from "./_cli.ts";
import { PYTHON } from "./_cgroup.ts";
import { test } from "./_harness.ts";
import { applyToProcess } from "../sweep/mod.ts";
import { linux } from "../platforms/_linux.ts";

// Given as its source, not its path: a clone may sit in a directory only its owner can read.
const IDLE_CLIENT = readFileSync(`${FIXTURES}idle_client.py`, "utf8");

/** A python3 process holding an idle loopback connection, started through `prefix` if given, and its lines. */
function idleClient(prefix: string[] = []) {
  const [file, ...args] = [...prefix, PYTHON, "-c", IDLE_CLIENT];
  const child: ChildProcessWithoutNullStreams = spawn(file, args);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => ((await lines.next()).value as string).split(" ");
  return { child, next };
}

test("apply --pid: a python3 process's idle connection gets the timer, and its recv fails with ETIMEDOUT", async () => {
  const namespace = `tcp-keepalive-${process.pid}-apply`;
  execFileSync("ip", ["netns", "add", namespace]);
  const configured = idleClient(["ip", "netns", "exec", namespace]);
  const control = idleClient(["ip", "netns", "exec", namespace]);
  try {
    execFileSync("ip", ["netns", "exec", namespace, "ip", "link", "set", "lo", "up"]);
    const [, pid, port] = await configured.next();
    const [, , controlPort] = await control.next();
    const run = await keepalive([
      "apply",
      "--pid",
      pid,
      ...["--idle", "1s", "--interval", "1s", "--count", "2", "--user-timeout", "3s", "--json"],
    ]);
    equal(run.code, 0, run.stderr);
    const { sockets } = JSON.parse(run.stdout);
    // The listener, the client and the accepted side: every TCP socket of the process.
    deepEqual(sockets.map((socket: { peer: string | null }) => socket.peer === null).sort(), [false, false, true]);
    const client = sockets.find((socket: { local: string }) => socket.local === `127.0.0.1:${port}`);
    equal(client.before.enabled, false);
    deepEqual(client.after, { enabled: true, idleMs: 1000, intervalMs: 1000, count: 2, userTimeoutMs: 3000 });

    const ss = execFileSync("ip", ["netns", "exec", namespace, "ss", "-tonH", "state", "established"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).split("\n");
    match(ss.find((line) => line.includes(`127.0.0.1:${port} `))!, /timer:\(keepalive,/);
    ok(!/timer:\(keepalive,/.test(ss.find((line) => line.includes(`127.0.0.1:${controlPort} `))!));

    execFileSync("ip", ["netns", "exec", namespace, "ip", "link", "set", "lo", "down"]);
    configured.child.stdin.write("cut\n");
    control.child.stdin.write("cut\n");
    const [outcome, elapsedMs] = await configured.next();
    equal(outcome, "ETIMEDOUT");
    ok(Number(elapsedMs) <= 5000, `${elapsedMs} ms`);
    equal(control.child.exitCode, null, "the control's recv is still pending");
    console.log(`apply --pid: python3's recv failed after ${elapsedMs} ms; the control still pending`);
  } finally {
    configured.child.kill();
    control.child.kill();
    execFileSync("ip", ["netns", "del", namespace]);
  }
}, 20_000);

test("apply --pid without the rights: said plainly, nothing changed", async () => {
  // Another user's process, and the command line as root without any capability (so without CAP_SYS_PTRACE): it
  // can still read its own files wherever the clone is.
  const python = idleClient(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
  try {
    const [, pid, port] = await python.next();
    const noCapabilities = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];
    const run = await keepalive(["apply", "--pid", pid, "--idle", "1s"], noCapabilities);
    equal(run.code, 1, run.stdout);
    // The kernel refuses the listing of /proc/PID/fd (EACCES) before pidfd_getfd could say EPERM.
    match(run.stderr, /EACCES: not allowed to take process \d+'s sockets: that needs the rights of ptrace/);
    equal(ssKeepaliveTimer(Number(port)), undefined);
  } finally {
    python.child.kill();
  }
}, 20_000);

test("apply --pid of no process: ESRCH, said plainly", async () => {
  const pidMax = Number(execFileSync("cat", ["/proc/sys/kernel/pid_max"], { encoding: "utf8" }));
  const run = await keepalive(["apply", "--pid", String(pidMax + 1), "--idle", "1s"]);
  equal(run.code, 1);
  match(run.stderr, new RegExp(`ESRCH: no process ${pidMax + 1}`));
});

test("apply --pid with a bad pid: a usage error before any call, naming --pid and the range", async () => {
  for (const pid of ["0", String(2 ** 32 + process.pid)]) {
    const run = await keepalive(["apply", "--pid", pid, "--idle", "1s"]);
    equal(run.code, 2);
    match(
      run.stderr,
      new RegExp(`^keepalive: --pid must be an integer from 1 to 2147483647 \\(a process id\\); got ${pid}`),
    );
  }
});

test("setProcessKeepalive() refuses a pid past 32 bits before any call: never wrapped round to another process", () => {
  const never = () => {
    throw new Error("the binding was opened");
  };
  throws(() => applyToProcess(never, linux, 2 ** 32 + process.pid, { idleMs: 1000 }), {
    name: "RangeError",
    message: `pid must be an integer from 1 to 2147483647 (a process id); got ${2 ** 32 + process.pid}`,
  });
});

/** A python3 process with `count` loopback connections to itself, and a thread; its pid, thread id and TCP fds. */
async function manySockets(count: number) {
  const child = spawn(PYTHON, ["-c", readFileSync(`${FIXTURES}many_sockets.py`, "utf8"), String(count)]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const [, pid, thread, fds] = ((await lines.next()).value as string).split(" ");
  return { child, pid, thread, fds: fds.split(",").map(Number).sort((a, b) => a - b) };
}

test(
  "apply --pid lists and configures every TCP socket of the process, whatever descriptor the listing has",
  async () => {
    // 301 sockets at descriptors 3 to 303: every number the lister's own directory descriptor could have is one.
    const python = await manySockets(150);
    try {
      const run = await keepalive(["apply", "--pid", python.pid, "--idle", "7s", "--count", "3", "--json"]);
      equal(run.code, 0, run.stderr);
      const { sockets } = JSON.parse(run.stdout);
      deepEqual(sockets.map((socket: { fd: number }) => socket.fd), python.fds);
      ok(
        sockets.every((socket: { after: { idleMs: number; count: number } }) =>
          socket.after.idleMs === 7000 && socket.after.count === 3
        ),
      );
    } finally {
      python.child.kill();
    }
  },
  30_000,
);

test("apply --pid of a thread's id: told it is a thread, not a process, with the errno's name", async () => {
  const python = await manySockets(1);
  try {
    const run = await keepalive(["apply", "--pid", python.thread, "--idle", "7s"]);
    equal(run.code, 1);
    match(
      run.stderr,
      new RegExp(`^keepalive: ENOENT: ${python.thread} is a thread, not a process: give the id of its process`),
    );
  } finally {
    python.child.kill();
  }
}, 15_000);

test("every errno that pidfd_open, pidfd_getfd, open, getdents64, socket and close can give has its name", () => {
  const names = new Set(Object.values(linux.errnoNames));
  const documented = [
    ...["EPERM", "ENOENT", "ESRCH", "EINVAL", "EMFILE", "ENFILE", "ENODEV", "ENOMEM", "ENOSYS"], // pidfd_open(2)
    ...["EBADF"], // pidfd_getfd(2), beside the above
    ...["EACCES", "EFAULT", "EINTR", "ELOOP", "ENAMETOOLONG", "ENOTDIR"], // open(2), getdents64(2)
    ...["EIO"], // close(2)
    ...["EAFNOSUPPORT", "ENOBUFS", "EPROTONOSUPPORT"], // socket(2)
  ];
  deepEqual(documented.filter((name) => !names.has(name)), []);
});
