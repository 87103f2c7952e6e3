/**
 * A cgroup v2 directory: opened only once it is one (and said plainly when
 * it cannot be read), locked while this module changes its programs, its
 * ancestors up to the root, the directories and processes below it, and
 * whether this kernel's `bpf_setsockopt` takes the keepalive options at all.
 *
 * @module
 */
import { type BpfContext, kernelAtLeast, readWhole } from "../bpf/mod.ts";
import { cText } from "../options/mod.ts";
import { errnoName, KeepaliveError } from "../socket/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";

/** The inode of the cgroup2 root, which is the root cgroup's id. */
const ROOT_INODE = 1;

/** A small file's text (`/proc`, `cgroup.procs`); `-errno` if it cannot be read. */
export function readText(c: BpfContext, path: string): string | number {
  const bytes = readWhole(c, path);
  // Decoded whole: a character's bytes may span two reads.
  return typeof bytes === "number" ? bytes : cText(bytes);
}

/** Where cgroup v2 is mounted (the `cgroup2` line of `/proc/self/mounts`); `undefined` if it is not. */
export function cgroup2Mount(c: BpfContext): string | undefined {
  const mounts = readText(c, "/proc/self/mounts");
  return typeof mounts === "string"
    ? mounts.split("\n").map((line) => line.split(" ")).find((fields) => fields[2] === "cgroup2")?.[1]
    : undefined;
}

/** Where cgroup v2 is mounted, for an error that points there. */
function whereCgroup2(c: BpfContext): string {
  const mount = cgroup2Mount(c);
  return mount ? `cgroup v2 is mounted at ${mount}` : "this machine has no cgroup v2 mounted";
}

/**
 * Opens a cgroup v2 directory.
 *
 * @returns Its descriptor, which the caller closes.
 * @throws {TypeError} Naming the path, if it is not a cgroup v2 directory (a file, `/proc`, a v1 hierarchy), or is
 *   not there.
 * @throws {KeepaliveError} If it may not be opened (`EACCES`): it may well be one.
 */
export function openCgroup(c: BpfContext, path: string): number {
  const { calls, platform, bpf } = c;
  const fd = calls.openDirectory(path);
  if (fd < 0) {
    const code = errnoName(platform, -fd);
    if (code === "EACCES" || code === "EPERM") {
      throw new KeepaliveError(`cannot open ${path}: not allowed to read it (its permissions, or a security module)`, {
        code,
        errno: -fd,
        syscall: "open",
      });
    }
    const why = code === "ENOENT" ? "there is no such directory" : code === "ENOTDIR" ? "it is not a directory" : code;
    throw new TypeError(`${path} is not a cgroup v2 directory: ${why}; ${whereCgroup2(c)}`);
  }
  const type = calls.filesystemType(fd);
  if (type !== bpf.CGROUP2_SUPER_MAGIC) {
    c.sys.close(fd);
    const known = Object.values(bpf.filesystems).find(([magic]) => magic === type)?.[1];
    const what = type < 0 ? errnoName(platform, -type) : `${known ?? "unknown"} (0x${type.toString(16)})`;
    throw new TypeError(
      `${path} is not a cgroup v2 directory: its filesystem is ${what}, not cgroup2; ${whereCgroup2(c)}`,
    );
  }
  return fd;
}

/**
 * Whether an open cgroup v2 directory is the hierarchy's root: every process of the host is in it or below.
 *
 * @param cgroup Its descriptor.
 */
export function isRoot({ calls }: BpfContext, cgroup: number): boolean {
  return calls.inode(cgroup) === ROOT_INODE;
}

/**
 * Holds the cgroup's lock until its descriptor is closed, so that two calls of this module never change its
 * programs at once (each would see none of the other's, and attach its own beside it).
 *
 * @throws {KeepaliveError} If the lock cannot be taken.
 */
export function lockCgroup({ calls, platform }: BpfContext, cgroup: number, path: string): void {
  const result = calls.lock(cgroup);
  if (result < 0) {
    throw new KeepaliveError(`cannot lock ${path}`, {
      code: errnoName(platform, -result),
      errno: -result,
      syscall: "flock",
    });
  }
}

/**
 * The cgroup's ancestors, nearest first, up to the hierarchy's root, or to the top of the part of it mounted here (a
 * container's bind mount of a cgroup below the root: above it is another filesystem).
 *
 * @param path The cgroup's directory, normalized.
 * @returns Their paths.
 */
export function ancestorsOf(c: BpfContext, path: string): string[] {
  const found: string[] = [];
  for (let at = path; at !== "/";) {
    const fd = c.calls.openDirectory(at);
    if (fd < 0) break;
    const root = isRoot(c, fd);
    c.sys.close(fd);
    if (root) break;
    const parent = at.slice(0, at.lastIndexOf("/")) || "/";
    const up = c.calls.openDirectory(parent);
    const cgroup = up >= 0 && c.calls.filesystemType(up) === c.bpf.CGROUP2_SUPER_MAGIC;
    if (up >= 0) c.sys.close(up);
    if (!cgroup) break;
    found.push(at = parent);
  }
  return found;
}

/** A cgroup directory, its id, and the processes in it (not those below). */
export interface CgroupDirectory {
  readonly path: string;
  /** The cgroup's id: its directory's inode, which a socket made there records. */
  readonly id: bigint;
  readonly pids: readonly number[];
}

/**
 * Each cgroup directory from `path` down, each before those below it, with its id (its directory's inode): a cgroup
 * removed since it was listed is passed by, with what was below it.
 *
 * @param sys The binding.
 * @param path The cgroup's directory.
 * @param visit Told of each cgroup; what it throws ends the walk.
 * @param unnamed Told of a directory whose names below are not all UTF-8 (no path could name them): the cgroups
 *   below it are passed by unless it throws.
 */
export function walkCgroups(
  sys: Syscalls,
  path: string,
  visit: (directory: string, id: bigint) => void,
  unnamed: (directory: string, error: Error) => void,
): void {
  const calls = sys.cgroup();
  const walk = (directory: string) => {
    const fd = calls.openDirectory(directory);
    if (fd < 0) return; // removed since: its processes have gone elsewhere
    let names: string[] | number = [];
    try {
      visit(directory, BigInt(calls.inode(fd)));
      try {
        names = calls.subdirectories(fd);
      } catch (error) {
        unnamed(directory, error as Error);
      }
    } finally {
      sys.close(fd);
    }
    if (typeof names === "number") return;
    for (const name of names) walk(`${directory}/${name}`);
  };
  walk(path);
}

/**
 * The cgroup and every cgroup below it, each before those below it, with its processes (`cgroup.procs`).
 *
 * @param path The cgroup's directory.
 * @returns The directories.
 * @throws {KeepaliveError} If a cgroup's `cgroup.procs` cannot be read, or a name below is not UTF-8.
 */
export function cgroupTree(c: BpfContext, path: string): CgroupDirectory[] {
  const directories: CgroupDirectory[] = [];
  walkCgroups(c.sys, path, (directory, id) => {
    const procs = readText(c, `${directory}/cgroup.procs`);
    if (typeof procs === "number") {
      throw new KeepaliveError(`cannot read ${directory}/cgroup.procs`, {
        code: errnoName(c.platform, -procs),
        errno: -procs,
        syscall: "read",
      });
    }
    directories.push({ path: directory, id, pids: procs.split("\n").filter(Boolean).map(Number) });
  }, (directory, error) => {
    throw new KeepaliveError(`cannot name a cgroup below ${directory}: ${error.message}`, { code: "EILSEQ" });
  });
  return directories;
}

/**
 * Refuses a kernel whose `bpf_setsockopt` does not take the keepalive options: there the program would load, and
 * silently set nothing.
 *
 * @param release `uname -r`, such as `6.18.44-fc-v857`.
 * @throws {Error} Naming the kernel and the one needed.
 */
export function checkKernel({ bpf }: BpfContext, release: string): void {
  const [needMajor, needMinor] = bpf.since;
  if (!kernelAtLeast(release, bpf.since)) {
    throw new Error(
      `cgroup keepalive needs Linux ${needMajor}.${needMinor} or later, whose bpf_setsockopt takes the keepalive options; this is ${release}, where the program would load and set nothing`,
    );
  }
}
