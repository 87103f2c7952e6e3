/**
 * A cgroup v2 directory: opened only once it is one (and said plainly when
 * it cannot be read), locked while this module changes its programs, its
 * ancestors up to the root, the directories and processes below it, and
 * whether this kernel's `bpf_setsockopt` takes the keepalive options at all.
 *
 * @module
 */
import type { Cgroups } from "./_bpf.ts";
import { cText } from "../options/mod.ts";
import { errnoName, KeepaliveError } from "../socket/mod.ts";

const CHUNK_BYTES = 64 * 1024;
/** The inode of the cgroup2 root, which is the root cgroup's id. */
const ROOT_INODE = 1;

/** A small file's text (`/proc`, `cgroup.procs`); `-errno` if it cannot be read. */
function readText({ sys, calls }: Cgroups, path: string): string | number {
  const fd = calls.openFile(path);
  if (fd < 0) return fd;
  try {
    const chunks: Uint8Array[] = [];
    const chunk = new Uint8Array(CHUNK_BYTES);
    for (let n; (n = calls.read(fd, chunk)) !== 0;) {
      if (n < 0) return n;
      chunks.push(chunk.slice(0, n));
    }
    // Decoded whole: a character's bytes may span two reads.
    const bytes = new Uint8Array(chunks.reduce((sum, { length }) => sum + length, 0));
    chunks.reduce((at, part) => (bytes.set(part, at), at + part.length), 0);
    return cText(bytes);
  } finally {
    sys.close(fd);
  }
}

/** Where cgroup v2 is mounted (the `cgroup2` line of `/proc/self/mounts`), for an error that points there. */
function whereCgroup2(c: Cgroups): string {
  const mounts = readText(c, "/proc/self/mounts");
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
 * @throws {KeepaliveError} If it may not be opened (`EACCES`): it may well be one.
 */
export function openCgroup(c: Cgroups, path: string): number {
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
export function isRoot({ calls }: Cgroups, cgroup: number): boolean {
  return calls.inode(cgroup) === ROOT_INODE;
}

/**
 * Holds the cgroup's lock until its descriptor is closed, so that two calls of this module never change its
 * programs at once (each would see none of the other's, and attach its own beside it).
 *
 * @throws {KeepaliveError} If the lock cannot be taken.
 */
export function lockCgroup({ calls, platform }: Cgroups, cgroup: number, path: string): void {
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
 * The cgroup's ancestors, nearest first, up to the hierarchy's root.
 *
 * @param path The cgroup's directory, normalized.
 * @returns Their paths.
 */
export function ancestorsOf(c: Cgroups, path: string): string[] {
  const found: string[] = [];
  for (let at = path; at !== "/";) {
    const fd = c.calls.openDirectory(at);
    if (fd < 0) break;
    const root = isRoot(c, fd);
    c.sys.close(fd);
    if (root) break;
    at = at.slice(0, at.lastIndexOf("/")) || "/";
    found.push(at);
  }
  return found;
}

/** A cgroup directory, and the processes in it (not those below). */
export interface CgroupDirectory {
  readonly path: string;
  readonly pids: readonly number[];
}

/**
 * The cgroup and every cgroup below it, each before those below it, with its processes (`cgroup.procs`).
 *
 * @param path The cgroup's directory.
 * @returns The directories.
 * @throws {KeepaliveError} If a cgroup's directory or `cgroup.procs` cannot be read, or a name below is not UTF-8.
 */
export function cgroupTree(c: Cgroups, path: string): CgroupDirectory[] {
  const { sys, calls, platform } = c;
  const directories: CgroupDirectory[] = [];
  const visit = (directory: string) => {
    const procs = readText(c, `${directory}/cgroup.procs`);
    if (typeof procs === "number") {
      throw new KeepaliveError(`cannot read ${directory}/cgroup.procs`, {
        code: errnoName(platform, -procs),
        errno: -procs,
        syscall: "read",
      });
    }
    directories.push({ path: directory, pids: procs.split("\n").filter(Boolean).map(Number) });
    const fd = calls.openDirectory(directory);
    if (fd < 0) return; // removed since: its processes have gone elsewhere
    let entries;
    try {
      entries = calls.entries(fd);
    } catch (error) {
      throw new KeepaliveError(`cannot name a cgroup below ${directory}: ${(error as Error).message}`, {
        code: "EILSEQ",
      });
    } finally {
      sys.close(fd);
    }
    if (typeof entries === "number") return;
    for (const entry of entries) if (entry.directory) visit(`${directory}/${entry.name}`);
  };
  visit(path);
  return directories;
}

/**
 * Refuses a kernel whose `bpf_setsockopt` does not take the keepalive options: there the program would load, and
 * silently set nothing.
 *
 * @param release `uname -r`, such as `6.18.44-fc-v857`.
 * @throws {Error} Naming the kernel and the one needed.
 */
export function checkKernel({ bpf }: Cgroups, release: string): void {
  const [major = 0, minor = 0] = /^(\d+)\.(\d+)/.exec(release)?.slice(1).map(Number) ?? [];
  const [needMajor, needMinor] = bpf.since;
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new Error(
      `cgroup keepalive needs Linux ${needMajor}.${needMinor} or later, whose bpf_setsockopt takes the keepalive options; this is ${release}, where the program would load and set nothing`,
    );
  }
}
