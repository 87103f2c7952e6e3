/**
 * `keepalive inspect --pid PID | --cgroup PATH`: read-only. Every TCP socket,
 * with its keepalive settings, how soon a dead peer would be found and how
 * long ago the peer was last heard; for a cgroup, also the programs that run
 * for its connections.
 *
 * @module
 */
import { type CgroupSocket, inspectCgroup, type InspectedSocket, inspectProcess } from "../mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf, cgroupOf, oneTarget, pidOf } from "./_flags.ts";
import { asUsage, formatDuration, printJson, SETTINGS_HEADER, settingsCells, table } from "./_format.ts";

const HEADER = ["pid", "fd", "local", "peer", "state", ...SETTINGS_HEADER.slice(1), "peer last heard"];

function rows(pid: number, sockets: readonly InspectedSocket[]): string[][] {
  return sockets.map(({ fd, local, peer, state, settings, sinceHeardMs }, i) => [
    i === 0 ? String(pid) : "",
    String(fd),
    local,
    peer ?? "(listening)",
    state,
    ...settingsCells(settings).slice(0, 5),
    settings.enabled ? settingsCells(settings)[5] : "never (keepalive off)",
    sinceHeardMs === undefined ? "-" : `${formatDuration(sinceHeardMs)} ago`,
  ]);
}

/** A cgroup's sockets, with the policy that holds for each and where it holds something else. */
function cgroupRows(path: string, pid: number, sockets: readonly CgroupSocket[]): string[][] {
  const policyOf = (policy: string | undefined) =>
    policy === undefined
      ? "none"
      : policy === path
      ? "this cgroup's"
      : policy.startsWith(`${path}/`)
      ? policy.slice(path.length + 1)
      : policy;
  return rows(pid, sockets).map((row, i) => {
    const { policy, drift } = sockets[i]!; // a row for each socket
    return [...row, policyOf(policy), drift.length ? drift.join(", ") : "-"];
  });
}

/**
 * Inspects a process, and prints.
 *
 * @param pid The process.
 * @param json Whether to print JSON.
 * @returns The exit code: 0.
 */
export function inspectPid(pid: number, json: boolean): number {
  const sockets = inspectProcess(pid);
  if (json) {
    printJson({ pid, sockets });
    return 0;
  }
  console.log(sockets.length === 0 ? `process ${pid} has no TCP socket` : table([HEADER, ...rows(pid, sockets)]));
  return 0;
}

/**
 * Inspects a cgroup, and prints.
 *
 * @param path The cgroup v2 directory.
 * @param json Whether to print JSON.
 * @returns The exit code: 0.
 */
export function inspectPath(path: string, json: boolean): number {
  const seen = inspectCgroup(path);
  if (json) {
    printJson(seen);
    return 0;
  }
  if (seen.programs.length === 0) console.log(`${path}: no program runs for its connections`);
  for (const { id, name, cgroup, kind, owner, settings, holds } of seen.programs) {
    const what = settings
      ? `sets ${Object.entries(settings).map(([field, value]) => `${field} ${value}`).join(", ")}`
      : holds
      ? `holds ${holds.join(", ")} over the applications' own setsockopt`
      : "not this module's";
    const whose = kind === undefined ? "" : owner ? ` of ${owner}` : " of no owner (0.7 or 0.8)";
    console.log(`${cgroup}: program ${id} ${name}${kind ? ` (${kind})` : ""}${whose}: ${what}`);
  }
  const sockets = seen.processes.flatMap(({ pid, sockets }) => cgroupRows(path, pid, sockets));
  console.log(`\n${seen.processes.length} process${seen.processes.length === 1 ? "" : "es"} there`);
  if (sockets.length > 0) console.log(`\n${table([[...HEADER, "policy", "drift"], ...sockets])}`);
  for (const { pid, error } of seen.processes) if (error) console.error(`keepalive: process ${pid}: ${error}`);
  return 0;
}

/** `keepalive inspect`. */
export const inspectCommand: Command<{ pid: "string"; cgroup: "string" }> = {
  name: "inspect",
  summary: "inspect --pid PID | --cgroup PATH   read-only: every TCP socket, its keepalive, its peer last heard",
  usage: `usage: keepalive inspect --pid PID | --cgroup PATH [--json]

Reads, and writes nothing: every TCP socket of the process (or of every process
in the cgroup and below), with its keepalive settings, how soon an idle dead
peer would be found, and how long ago the peer was last heard (TCP_INFO); for a
cgroup, also the programs that run for its connections, whose this module's
are and what they set, and for each socket the policy that holds for it and
the fields it holds otherwise (drift).

examples:
  keepalive inspect --pid 4242
  keepalive inspect --cgroup /sys/fs/cgroup/system.slice/api.service --json`,
  flags: { pid: "string", cgroup: "string" },
  run({ values, args, json, terms, platform }) {
    argumentsOf("inspect", args, []);
    const { flag, text } = oneTarget("inspect", values);
    return flag === "cgroup"
      ? asUsage(() => inspectPath(cgroupOf(text, terms), json))
      : inspectPid(pidOf(text, terms, platform), json);
  },
};
