/**
 * A cgroup v2 directory: opened only once it is one, the processes in it and
 * below, and whether this kernel's `bpf_setsockopt` takes the keepalive
 * options at all.
 *
 * @module
 */
import { cText, errnoName, KeepaliveError, type Syscalls } from "../socket/mod.ts";
import type { Platform } from "../platforms/mod.ts";

const CHUNK_BYTES = 64 * 1024;

/** A small file's text (`/proc`, `cgroup.procs`); `-errno` if it cannot be read. */
function readText(sys: Syscalls, path: string): string | number {
  const calls = sys.cgroup();
  const fd = calls.openFile(path);
  if (fd < 0) return fd;
  try {
    let text = "";
    const chunk = new Uint8Array(CHUNK_BYTES);
    for (let n; (n = calls.read(fd, chunk)) !== 0;) {
      if (n < 0) return n;
      text += cText(chunk.subarray(0, n));
    }
    return text;
  } finally {
    sys.close(fd);
  }
}

/** Where cgroup v2 is mounted (the `cgroup2` line of `/proc/self/mounts`), for an error that points there. */
function whereCgroup2(sys: Syscalls): string {
  const mounts = readText(sys, "/proc/self/mounts");
  const mount = typeof mounts === "string"
    ? mounts.split("\n").map((line) => line.split(" ")).find((fields) => fields[2] === "cgroup2")?.[1]
    : undefined;
  return mount ? `cgroup v2 is mounted at ${mount}` : "this machine has no cgroup v2 mounted";
}

/**
 * Opens a cgroup v2 directory.
 *
 * @returns Its descriptor, which the caller closes.
 * @throws {TypeError} Naming the path, if it is not a cgroup v2 directory (a file, `/proc`, a v1 hierarchy), or is
 *   not there.
 */
export function openCgroup(sys: Syscalls, platform: Platform, path: string): number {
  const calls = sys.cgroup();
  const fd = calls.openDirectory(path);
  if (fd < 0) {
    const code = errnoName(platform, -fd);
    const why = code === "ENOENT" ? "there is no such directory" : code === "ENOTDIR" ? "it is not a directory" : code;
    throw new TypeError(`${path} is not a cgroup v2 directory: ${why}; ${whereCgroup2(sys)}`);
  }
  const type = calls.filesystemType(fd);
  if (type !== platform.bpf!.CGROUP2_SUPER_MAGIC) {
    sys.close(fd);
    const known = Object.values(platform.bpf!.filesystems).find(([magic]) => magic === type)?.[1];
    const what = type < 0 ? errnoName(platform, -type) : `${known ?? "unknown"} (0x${type.toString(16)})`;
    throw new TypeError(
      `${path} is not a cgroup v2 directory: its filesystem is ${what}, not cgroup2; ${whereCgroup2(sys)}`,
    );
  }
  return fd;
}

/**
 * Every process in the cgroup and in the cgroups below it, from their `cgroup.procs`.
 *
 * @param path The cgroup's directory.
 * @returns The process ids, each once.
 * @throws {KeepaliveError} If a cgroup's directory or `cgroup.procs` cannot be read.
 */
export function processesIn(sys: Syscalls, platform: Platform, path: string): number[] {
  const pids: number[] = [];
  const visit = (directory: string) => {
    const procs = readText(sys, `${directory}/cgroup.procs`);
    if (typeof procs === "number") {
      throw new KeepaliveError(`cannot read ${directory}/cgroup.procs`, {
        code: errnoName(platform, -procs),
        errno: -procs,
        syscall: "read",
      });
    }
    pids.push(...procs.split("\n").filter(Boolean).map(Number));
    const fd = sys.cgroup().openDirectory(directory);
    if (fd < 0) return; // removed since: its processes have gone elsewhere
    let entries;
    try {
      entries = sys.cgroup().entries(fd);
    } finally {
      sys.close(fd);
    }
    if (typeof entries === "number") return;
    for (const entry of entries) if (entry.directory) visit(`${directory}/${entry.name}`);
  };
  visit(path.replace(/\/+$/, ""));
  return [...new Set(pids)];
}

/**
 * Refuses a kernel whose `bpf_setsockopt` does not take the keepalive options: there the program would load, and
 * silently set nothing.
 *
 * @param release `uname -r`, such as `6.18.44-fc-v857`.
 * @throws {Error} Naming the kernel and the one needed.
 */
export function checkKernel(platform: Platform, release: string): void {
  const [major, minor] = /^(\d+)\.(\d+)/.exec(release)?.slice(1).map(Number) ?? [0, 0];
  const [needMajor, needMinor] = platform.bpf!.since;
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new Error(
      `cgroup keepalive needs Linux ${needMajor}.${needMinor} or later, whose bpf_setsockopt takes the keepalive options; this is ${release}, where the program would load and set nothing`,
    );
  }
}
