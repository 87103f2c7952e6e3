// Independent readers of what the kernel holds: getsockopt with the raw Linux
// numbers (not the platform table), and iproute2's `ss`.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { syscalls } from "../ffi/mod.ts";
import type { KeepaliveTarget } from "../mod.ts";
import { linux } from "../platforms/_linux.ts";
import { finderFor } from "../targets/mod.ts";

/** The kernel's values as getsockopt returns them: SO_KEEPALIVE, then seconds, seconds, probes, milliseconds. */
export interface KernelValues {
  SO_KEEPALIVE: number;
  TCP_KEEPIDLE: number;
  TCP_KEEPINTVL: number;
  TCP_KEEPCNT: number;
  TCP_USER_TIMEOUT: number;
}

/** The descriptors of a target, as the module finds them. */
export function fdsOf(target: KeepaliveTarget): readonly number[] {
  return finderFor(target, linux)(syscalls());
}

/** The one descriptor of a target. */
export function fdOf(target: KeepaliveTarget): number {
  const fds = fdsOf(target);
  if (fds.length !== 1) throw new Error(`expected one descriptor, found ${fds.join(", ")}`);
  return fds[0];
}

/** Reads the five options with getsockopt(2), by their Linux numbers, from a descriptor. */
export function kernelValuesAt(fd: number): KernelValues {
  const get = (level: number, option: number) => {
    const value = syscalls().getsockoptInt(fd, level, option);
    if (value < 0) throw new Error(`getsockopt(${fd}, ${level}, ${option}) failed: errno ${-value}`);
    return value;
  };
  return {
    SO_KEEPALIVE: get(1, 9),
    TCP_KEEPIDLE: get(6, 4),
    TCP_KEEPINTVL: get(6, 5),
    TCP_KEEPCNT: get(6, 6),
    TCP_USER_TIMEOUT: get(6, 18),
  };
}

/** Reads the five options of a target's one socket. */
export function kernelValues(target: KeepaliveTarget): KernelValues {
  return kernelValuesAt(fdOf(target));
}

/**
 * A process's descriptors of the sockets with local port `port` in `/proc/net/<table>`, found without the
 * module: `/proc/net` gives each socket's inode, `/proc/PID/fd` links each descriptor to one.
 *
 * @param table `"tcp"`, `"tcp6"`, `"udp"`, `"udp6"`.
 * @param port The local port.
 * @param state The kernel's state in hex (`"0A"` is LISTEN, `"01"` ESTABLISHED), or any.
 * @param pid Another process; this one by default.
 */
export function procFds(table: string, port: number, state?: string, pid: number | "self" = "self"): number[] {
  return fdsOfInodes(
    readFileSync(`/proc/${pid}/net/${table}`, "utf8").trim().split("\n").slice(1).map((line) =>
      line.trim().split(/\s+/)
    )
      .filter(([, local, , st]) => parseInt(local.split(":")[1], 16) === port && (state === undefined || st === state))
      .map((fields) => fields[9]),
    pid,
  );
}

/** This process's own descriptor for descriptor `fd` of process `pid` (pidfd_getfd); the caller closes it. */
export function takenFd(pid: number, fd: number): number {
  const sys = syscalls();
  const pidfd = sys.pidfdOpen(pid, 0);
  if (pidfd < 0) throw new Error(`pidfd_open(${pid}) failed: errno ${-pidfd}`);
  const own = sys.pidfdGetfd(pidfd, fd);
  sys.close(pidfd);
  if (own < 0) throw new Error(`pidfd_getfd(${pid}, ${fd}) failed: errno ${-own}`);
  return own;
}

/** The five options of another process's descriptor, read from outside it. */
export function kernelValuesOf(pid: number, fd: number): KernelValues {
  const own = takenFd(pid, fd);
  try {
    return kernelValuesAt(own);
  } finally {
    syscalls().close(own);
  }
}

/** This process's descriptors of the Unix-domain sockets bound to `path`, through `/proc/net/unix`. */
export function procUnixFds(path: string): number[] {
  return fdsOfInodes(
    readFileSync("/proc/net/unix", "utf8").trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[7] === path).map((fields) => fields[6]),
  );
}

/** The descriptors whose `/proc/PID/fd` link names one of `inodes`. */
function fdsOfInodes(list: string[], pid: number | "self" = "self"): number[] {
  const inodes = new Set(list);
  return readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? "");
    } catch {
      return false; // closed since the listing
    }
  }).sort((a, b) => a - b);
}
