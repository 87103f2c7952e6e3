// Independent readers of what the kernel holds: getsockopt with the raw Linux
// numbers (not the platform table), and iproute2's `ss`.
import { execFileSync } from "node:child_process";
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

/**
 * Parses ss's timer durations: `872ms`, `8.872ms` (8.872 s), `14sec`,
 * `1min14sec`, `66min` (see print_ms_timer in iproute2's ss.c).
 */
export function parseSsDuration(text: string): number {
  const match = /^(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?$/.exec(text);
  if (!match || text === "") throw new Error(`not an ss duration: ${text}`);
  const [, minutes = "0", seconds = "0", ms = "0"] = match;
  return (Number(minutes) * 60 + Number(seconds)) * 1000 + Number(ms);
}

/** The keepalive timer ss shows for the established socket with local port `port`, if any. */
export function ssKeepaliveTimer(port: number): { remainingMs: number; probes: number } | undefined {
  const out = execFileSync("ss", ["-tonie", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  const timers = [...out.matchAll(/timer:\((\w+),([^,]+),(\d+)\)/g)];
  if (out.trim().split("\n").length < 2) throw new Error(`ss shows no socket on port ${port}:\n${out}`);
  const keepalive = timers.find((timer) => timer[1] === "keepalive");
  return keepalive && { remainingMs: parseSsDuration(keepalive[2]), probes: Number(keepalive[3]) };
}
