// The kernel's keepalive timer of a connection, as iproute2's `ss` shows it: the tests' reader from outside
// the module, beside getsockopt and getTcpInfo.
import { execFileSync } from "node:child_process";

/**
 * Parses ss's timer durations: `872ms`, `8.872ms` (8.872 s), `14sec`,
 * `1min14sec`, `66min` (`print_ms_timer` in iproute2's ss.c).
 *
 * @param text The duration as ss prints it.
 * @returns Milliseconds.
 * @throws {Error} If it is not in one of those forms.
 */
export function parseSsDuration(text: string): number {
  const match = /^(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?$/.exec(text);
  if (!match || text === "") throw new Error(`not an ss duration: ${text}`);
  const [, minutes = "0", seconds = "0", ms = "0"] = match;
  return (Number(minutes) * 60 + Number(seconds)) * 1000 + Number(ms);
}

/** A keepalive timer: when the next probe is due, and how many went unanswered. */
export interface KeepaliveTimer {
  remainingMs: number;
  probes: number;
}

/**
 * The keepalive timer of the established connection from local port `port`
 * (and to `peerPort`, if given).
 *
 * @param port The local port.
 * @param peerPort The remote port, to pick one of several connections.
 * @returns The timer; `undefined` if the connection has none (keepalive off, or another timer running).
 * @throws {Error} If ss cannot run or shows no such connection.
 */
export function ssKeepaliveTimer(port: number, peerPort?: number): KeepaliveTimer | undefined {
  const filter = peerPort === undefined ? `( sport = :${port} )` : `( sport = :${port} and dport = :${peerPort} )`;
  // ss's own complaints (inside a network namespace: "Failed to find cgroup2 mount") are not the watch's output.
  const out = execFileSync("ss", ["-tonie", "state", "established", filter], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  if (out.trim().split("\n").length < 2) throw new Error(`ss shows no connection ${filter}`);
  const keepalive = [...out.matchAll(/timer:\((\w+),([^,]+),(\d+)\)/g)].find((timer) => timer[1] === "keepalive");
  return keepalive && { remainingMs: parseSsDuration(keepalive[2]), probes: Number(keepalive[3]) };
}
