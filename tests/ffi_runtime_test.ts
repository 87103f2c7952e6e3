// ffi/: the runtime bindings against the real C library: a libc that lacks what
// the descriptor walk needs, Deno's permissions, and loading without a
// top-level await (require(), Workers).
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openLibrary } from "../ffi/_bind.ts";
import { syscalls } from "../ffi/mod.ts";
import { allListed } from "../syscalls/mod.ts";
import { bunRuntime } from "../ffi/_runtime_bun.ts";
import { denoRuntime } from "../ffi/_runtime_deno.ts";
import { nodeRuntime } from "../ffi/_runtime_node.ts";
import { linuxLibc } from "../ffi/_library_linux.ts";
import { fdOf } from "./_kernel.ts";
import { openPair } from "./_net.ts";
import { test, testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Linux's libc as an old glibc or a new musl is to a wrapper they lack: one walk symbol absent. */
const OLD_LIBC = {
  ...linuxLibc,
  walkSymbols: { ...linuxLibc.walkSymbols, getdents64_absent: { parameters: ["i32"], result: "i32" } },
} as const;

for (const [name, ffi] of [["deno", denoRuntime], ["bun", bunRuntime], ["node", nodeRuntime]] as const) {
  testUnder(
    name,
    "a libc that lacks a walk symbol still sets options; the walk then fails, naming what it needs",
    async () => {
      using pair = await openPair("127.0.0.1");
      const fd = fdOf(pair.client);
      const sys = openLibrary(OLD_LIBC, ffi, "x86_64");
      equal(sys.setsockoptInt(fd, 6, 6, 3), 0);
      equal(sys.getsockoptInt(fd, 6, 6), 3);
      throws(() => sys.listing(), {
        message: /^cannot list descriptors: libc\.so\.6 lacks one of open, syscall, getdents64_absent, /,
      });
    },
  );
}

/** Runs a script under Deno with `flags`; its exit status and output. */
function denoRun(flags: string[], script: string): { status: number | null; out: string } {
  const { status, stdout, stderr } = spawnSync(
    process.execPath,
    ["run", "--no-prompt", "--allow-net", ...flags, "--ext=ts", "-"],
    { cwd: ROOT, input: script, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
  );
  return { status, out: stdout + stderr };
}

const SET_ON_A_LISTENER = `
import { setKeepalive } from "./mod.ts";
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
try {
  console.log(JSON.stringify(setKeepalive(listener, { count: 3 })));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, message: error.message }));
}
`;

/** The C library this process has loaded, by its absolute path. */
function loadedLibc(): string {
  const maps = readFileSync("/proc/self/maps", "utf8");
  return realpathSync(/\s(\/\S*\/libc\.so\.6)$/m.exec(maps)![1]);
}

testUnder("deno", "without --allow-ffi, Deno's NotCapable comes through unchanged, once", () => {
  const { out } = denoRun([], SET_ON_A_LISTENER);
  const report = JSON.parse(out.trim().split("\n").at(-1)!);
  equal(report.name, "NotCapable");
  match(report.message, /^Requires ffi access to "libc\.so\.6"/);
});

testUnder("deno", "--allow-ffi scoped to the C library's absolute path is enough", () => {
  // The path the C library is loaded from, and the one docs/socket.md names for Debian and Ubuntu, where this runs.
  match(readFileSync(`${ROOT}docs/socket.md`, "utf8"), /--allow-ffi=\/lib\/x86_64-linux-gnu\/libc\.so\.6/);
  for (const path of [loadedLibc(), "/lib/x86_64-linux-gnu/libc.so.6"]) {
    const { out } = denoRun([`--allow-ffi=${path}`], SET_ON_A_LISTENER);
    equal(JSON.parse(out.trim().split("\n").at(-1)!).count, 3, `${path}: ${out}`);
  }
});

testUnder("bun", "the module loads through require(), which a top-level await would refuse", () => {
  const { status, stdout, stderr } = spawnSync(process.execPath, [
    "-e",
    `const { planKeepalive, setKeepalive } = require(${JSON.stringify(`${ROOT}mod.ts`)});
     console.log(typeof setKeepalive, planKeepalive(30_000).idleMs);`,
  ], { encoding: "utf8" });
  equal(status, 0, stderr);
  equal(stdout.trim(), "function 10000");
});

testUnder("bun", "a Worker that imports the module gets a message posted right after new Worker()", async () => {
  const worker = new Worker(new URL("./_worker_child.ts", import.meta.url).href);
  try {
    const reply = new Promise((resolve) => worker.addEventListener("message", (event) => resolve(event.data)));
    worker.postMessage(30_000);
    equal(await Promise.race([reply, new Promise((resolve) => setTimeout(resolve, 4000, "no reply"))]), 10_000);
  } finally {
    worker.terminate();
  }
});

testUnder("deno", "no module of the library has a top-level await", () => {
  const { status, stdout } = spawnSync(process.execPath, ["info", "--json", "mod.ts"], { cwd: ROOT, encoding: "utf8" });
  equal(status, 0);
  const files: string[] = JSON.parse(stdout).modules.map((module: { local: string }) => module.local);
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    equal(/^\S.*\bawait\b/m.test(source.replace(/^ \*.*$/gm, "")), false, `${file} awaits at its top level`);
  }
});

test("the descriptor walk lists what /proc/self/fd lists, across several getdents64 batches", () => {
  const files = Array.from({ length: 3000 }, () => openSync("/dev/null", "r"));
  try {
    const listed = allListed(syscalls().listing());
    const proc = readdirSync("/proc/self/fd").map(Number);
    deepEqual(listed.filter((fd) => !proc.includes(fd)), []);
    ok(proc.filter((fd) => !listed.includes(fd)).length <= 1, "only readdir's own descriptor is missing");
    ok(files.every((fd) => listed.includes(fd)));
    deepEqual(listed, [...listed].sort((a, b) => a - b));
  } finally {
    files.forEach((fd) => closeSync(fd));
  }
});

test("a listing comes a getdents64 at a time, and one closed early closes its directory", () => {
  const files = Array.from({ length: 3000 }, () => openSync("/dev/null", "r"));
  try {
    const sys = syscalls();
    const open = () => readdirSync("/proc/self/fd").length;
    const before = open();
    const listing = sys.listing();
    const first = listing.next()!;
    ok(first.length > 100 && first.length < 1000, `one chunk: ${first.length} descriptors`);
    equal(open(), before + 1, "the listing holds its directory open between chunks");
    listing.close();
    equal(open(), before);
    equal(listing.next(), undefined);
  } finally {
    files.forEach((fd) => closeSync(fd));
  }
});

test("a buffer reaches C at its own bytes: a subarray at its offset, and each of two buffers in turn", async () => {
  using pair = await openPair("127.0.0.1");
  const fd = fdOf(pair.client);
  const sys = syscalls();
  const whole = new Uint8Array(24);
  const middle = whole.subarray(8, 16);
  const other = new Uint8Array(8);
  // SO_COOKIE: 8 bytes, the same for one socket every time.
  equal(sys.getsockopt(fd, 1, 57, middle), 8);
  equal(sys.getsockopt(fd, 1, 57, other), 8);
  deepEqual([...whole.subarray(0, 8), ...whole.subarray(16)], Array(16).fill(0), "nothing outside the subarray");
  deepEqual([...middle], [...other]);
  ok(other.some((byte) => byte !== 0));
  middle.fill(0);
  equal(sys.getsockopt(fd, 1, 57, middle), 8, "the first buffer again, after the second");
  deepEqual([...middle], [...other]);
});

/** Runs a module under this Node with `flags`; its exit status and output. */
function nodeRun(flags: string[], script: string): { status: number | null; out: string } {
  const { status, stdout, stderr } = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { status, out: stdout + stderr };
}

const NODE_SET_ON_A_SERVER = `
import net from "node:net";
import { setKeepalive } from "./mod.ts";
const server = net.createServer().listen(0, "127.0.0.1", () => {
  try {
    console.log(JSON.stringify(setKeepalive(server, { count: 3 })));
  } catch (error) {
    console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
  }
  server.close();
});
`;

testUnder(
  "node",
  "under Node's permission model, ERR_ACCESS_DENIED comes through unchanged; --allow-ffi is enough",
  () => {
    const denied = nodeRun(["--permission", `--allow-fs-read=${ROOT}*`, "--allow-net"], NODE_SET_ON_A_SERVER);
    const report = JSON.parse(denied.out.trim().split("\n").find((line) => line.startsWith("{"))!);
    equal(report.code, "ERR_ACCESS_DENIED");
    match(report.message, /Use --allow-ffi/);
    const allowed = nodeRun(
      ["--permission", `--allow-fs-read=${ROOT}*`, "--allow-net", "--allow-ffi"],
      NODE_SET_ON_A_SERVER,
    );
    equal(JSON.parse(allowed.out.trim().split("\n").find((line) => line.startsWith("{"))!).count, 3, allowed.out);
  },
);

testUnder("node", "with --no-experimental-ffi, the error says to run without it; planKeepalive still works", () => {
  const { out } = nodeRun(
    ["--no-experimental-ffi"],
    `
    import { planKeepalive } from "./mod.ts";
    console.log(planKeepalive(30_000).idleMs);
  ${NODE_SET_ON_A_SERVER}`,
  );
  match(out, /^10000$/m);
  match(out, /tcp-keepalive needs node:ffi, which --no-experimental-ffi turns off: run Node without it/);
});

testUnder("node", "a Node before 26.1 is told the version it needs; planKeepalive still works", () => {
  const bundle = join(mkdtempSync(join(tmpdir(), "tcp-keepalive-old-node-")), "mod.js");
  execFileSync(`${ROOT}node_modules/.bin/bun`, ["build", `${ROOT}mod.ts`, "--target", "node", "--outfile", bundle]);
  const { stdout } = spawnSync("/usr/bin/node", [
    "--input-type=module",
    "-e",
    `
    import { planKeepalive, setKeepalive } from ${JSON.stringify(bundle)};
    console.log(planKeepalive(30_000).idleMs);
    try { setKeepalive(3, { count: 3 }); } catch (error) { console.log(error.message); }
  `,
  ], { encoding: "utf8" });
  match(stdout, /^10000\ntcp-keepalive needs node:ffi, which Node has from 26\.1 on; this is Node 2[0-5]\./);
});
