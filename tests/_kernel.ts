// Independent readers of what the kernel holds: getsockopt with the raw Linux
// numbers (not the platform table), and iproute2's `ss`.
import { syscalls } from "../ffi/mod.ts";
import type { KeepaliveTarget } from "../mod.ts";
import { linux } from "../platforms/linux.ts";
import { checkTarget } from "../targets.ts";

/** The kernel's raw values: SO_KEEPALIVE, then seconds, seconds, probes, milliseconds. */
export interface Raw {
  SO_KEEPALIVE: number;
  TCP_KEEPIDLE: number;
  TCP_KEEPINTVL: number;
  TCP_KEEPCNT: number;
  TCP_USER_TIMEOUT: number;
}

/** The descriptor of a target, as the module finds it. */
export function fdOf(target: KeepaliveTarget): number {
  return checkTarget(target)(syscalls(), linux);
}

/** Reads the five options with getsockopt(2), by their Linux numbers. */
export function raw(target: KeepaliveTarget): Raw {
  const fd = fdOf(target);
  const get = (level: number, option: number) => {
    const value = syscalls().getsockoptInt(fd, level, option);
    if (value < 0) throw new Error(`getsockopt(${fd}, ${level}, ${option}) failed: errno ${-value}`);
    return value;
  };
  return {
    SO_KEEPALIVE: get(1, 9) === 0 ? 0 : 1,
    TCP_KEEPIDLE: get(6, 4),
    TCP_KEEPINTVL: get(6, 5),
    TCP_KEEPCNT: get(6, 6),
    TCP_USER_TIMEOUT: get(6, 18),
  };
}
