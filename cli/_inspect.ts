/**
 * `keepalive inspect --pid PID | --cgroup PATH | --netns [PATH]`: read-only.
 * Every TCP socket, with its keepalive settings, how soon a dead peer would
 * be found and how long ago the peer was last heard; for a cgroup, also the
 * programs that run for its connections; for a network namespace, a summary
 * first: how long idle dead peers would go unseen, by cgroup.
 *
 * @module
 */
import {
  type CgroupSocket,
  inspectCgroup,
  type InspectedSocket,
  inspectProcess,
  type NetnsSocket,
  scanNetns,
  type UnseenBucket,
} from "../mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf, cgroupOf, netnsOf, oneTarget, pidOf } from "./_flags.ts";
import {
  asUsage,
  formatDuration,
  parseDurationFlag,
  printJson,
  SETTINGS_HEADER,
  settingsCells,
  stdoutLines,
  table,
  UsageError,
} from "./_format.ts";

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
  if (seen.fallback) console.error(`keepalive: ${seen.fallback}`);
  const sockets = seen.processes.flatMap(({ pid, sockets }) => cgroupRows(path, pid, sockets));
  console.log(`\n${seen.processes.length} process${seen.processes.length === 1 ? "" : "es"} there`);
  if (sockets.length > 0) console.log(`\n${table([[...HEADER, "policy", "drift"], ...sockets])}`);
  for (const { pid, error } of seen.processes) if (error) console.error(`keepalive: process ${pid}: ${error}`);
  return 0;
}

/** A bucket's counts as a bar, for a person to compare at a glance. */
function bar(count: number, most: number): string {
  return most === 0 ? "" : "#".repeat(Math.ceil(count / most * 40));
}

/** The buckets' labels as columns, `never` said in full. */
const bucketLabel = ({ label }: UnseenBucket) => label === "never" ? "never (keepalive off)" : label;

const NETNS_HEADER = ["local", "peer", "state", ...SETTINGS_HEADER.slice(1), "uid", "cgroup", "pid/fd"];

/** A namespace's settings as cells, each distinct one written once: 100,000 sockets hold a few settings between them. */
function settingsCellsOnce(): (settings: NetnsSocket["settings"]) => readonly string[] {
  const written = new Map<string, readonly string[]>();
  return (settings) => {
    if (!settings) return ["-", "-", "-", "-", "-", "-"];
    const { enabled, idleMs, intervalMs, count, userTimeoutMs } = settings;
    const key = `${enabled} ${idleMs} ${intervalMs} ${count} ${userTimeoutMs}`;
    let cells = written.get(key);
    if (!cells) {
      const all = settingsCells(settings);
      written.set(key, cells = [...all.slice(0, 5), enabled ? all[5] : "never (keepalive off)"]);
    }
    return cells;
  };
}

/** A socket of a namespace as a row. */
function netnsCells(socket: NetnsSocket, settings: readonly string[]): string[] {
  return [
    socket.local,
    socket.peer ?? "(listening)",
    socket.state,
    ...settings,
    String(socket.uid),
    socket.cgroup ?? "-",
    socket.holders.map(({ pid, fd }) => `${pid}/${fd}`).join(" ") || "-",
  ];
}

/**
 * A socket as JSON: the API's fields in its order, null where a value is unknown, as printJson writes them; written
 * out, since JSON.stringify of an object a socket took half the time of the whole command at 100,000.
 */
function socketJson(socket: NetnsSocket): string {
  const { local, peer, state, settings, deadPeerMs, uid, cgroup, inode, holders } = socket;
  const held = holders.map(({ pid, fd }) => `{"pid":${pid},"fd":${fd}}`).join(",");
  const options = settings
    ? `{"enabled":${settings.enabled},"idleMs":${settings.idleMs ?? null},"intervalMs":${
      settings.intervalMs ?? null
    },"count":${settings.count ?? null},"userTimeoutMs":${settings.userTimeoutMs ?? null}}`
    : "null";
  // Addresses and states are ASCII without quotes; a cgroup's path may hold any character.
  return `{"local":"${local}","peer":${
    peer === undefined ? "null" : `"${peer}"`
  },"state":"${state}","settings":${options},"deadPeerMs":${deadPeerMs ?? null},"uid":${uid},"cgroup":${
    cgroup === undefined ? "null" : JSON.stringify(cgroup)
  },"inode":${inode},"holders":[${held}]}`;
}

/**
 * `--json`, streamed: each socket a line as it comes from the kernel, none kept, and the summary after them.
 *
 * @param path The namespace file; this process's own if absent.
 * @param overMs `--over`, in milliseconds.
 */
function netnsJson(path: string | undefined, overMs: number | undefined): void {
  const out = stdoutLines();
  let first = true;
  const scanned = scanNetns(path, (socket) => {
    if (first) out.line(`{\n  "sockets": [`);
    const json = socketJson(socket);
    out.line(first ? `    ${json}` : `   ,${json}`);
    first = false;
  }, overMs === undefined ? {} : { overMs });
  if (first) out.line(`{\n  "sockets": [`);
  out.line(`  ],`);
  const rest = JSON.stringify({ netns: scanned.netns, inode: scanned.inode, summary: scanned.summary }, null, 2);
  out.line(`  ${rest.slice(rest.indexOf("{") + 1).trimStart()}`);
  out.flush();
}

/**
 * Inspects a network namespace, and prints: the summary, then the sockets (with `--over`, the connections over it).
 * The rows are kept as text while the kernel's pass streams, since the summary comes first: a line a socket.
 *
 * @param path The namespace file; this process's own if absent.
 * @param overMs `--over`, in milliseconds.
 * @param json Whether to print JSON.
 * @returns The exit code: 0.
 */
export function inspectNamespace(path: string | undefined, overMs: number | undefined, json: boolean): number {
  if (json) {
    netnsJson(path, overMs);
    return 0;
  }
  const widths = NETNS_HEADER.map((cell) => cell.length);
  const rows: string[] = [];
  const cellsOf = settingsCellsOnce();
  const seen = scanNetns(path, (socket) => {
    const cells = netnsCells(socket, cellsOf(socket.settings));
    for (let i = 0; i < cells.length; i++) widths[i] = Math.max(widths[i]!, cells[i]!.length);
    rows.push(cells.join("\t")); // no cell holds a tab
  }, overMs === undefined ? {} : { overMs });
  const { summary } = seen;
  const out = stdoutLines();
  out.line(
    `network namespace ${seen.netns} (inode ${seen.inode}): ${summary.sockets} TCP sockets, ${summary.listeners} listening, ${summary.connections} connections, ${summary.keepaliveOff} with keepalive off`,
  );
  const most = Math.max(...summary.unseen.map(({ count }) => count));
  out.line(
    `\n${
      table([
        ["an idle dead peer would go unseen", "connections", ""],
        ...summary.unseen.map((bucket) => [`  ${bucketLabel(bucket)}`, String(bucket.count), bar(bucket.count, most)]),
      ])
    }`,
  );
  if (summary.byCgroup.length) {
    out.line(
      `\n${
        table([
          ["cgroup", "connections", ...summary.unseen.map(({ label }) => label)],
          ...summary.byCgroup.map((group) => [
            group.cgroup ?? "(unknown)",
            String(group.connections),
            ...group.unseen.map(({ count }) => String(count)),
          ]),
        ])
      }`,
    );
  }
  const over = overMs === undefined ? "" : ` whose idle dead peer would go unseen over ${formatDuration(overMs)}`;
  out.line(`\n${rows.length} socket${rows.length === 1 ? "" : "s"}${over}`);
  if (rows.length) out.line("");
  const line = (cells: readonly string[]) =>
    out.line(cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
  if (rows.length) line(NETNS_HEADER);
  for (const row of rows) line(row.split("\t"));
  out.flush();
  return 0;
}

/** `keepalive inspect`. */
export const inspectCommand: Command<{ pid: "string"; cgroup: "string"; netns: "string"; over: "string" }> = {
  name: "inspect",
  summary:
    "inspect --pid PID | --cgroup PATH | --netns [PATH]   read-only: every TCP socket, its keepalive, its peer last heard",
  usage: `usage: keepalive inspect --pid PID | --cgroup PATH | --netns [PATH] [--over DURATION] [--json]

Reads, and writes nothing: every TCP socket of the process (or of every process
in the cgroup and below), with its keepalive settings, how soon an idle dead
peer would be found, and how long ago the peer was last heard (TCP_INFO); for a
cgroup, also the programs that run for its connections, whose this module's
are and what they set, and for each socket the policy that holds for it and
the fields it holds otherwise (drift).

--netns reads every TCP socket of a network namespace (this process's own if
PATH is left out; else a file such as /proc/PID/ns/net or /run/netns/NAME),
whoever holds it, in one pass of the kernel's TCP iterator (Linux 6.1 with BTF;
CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN; no CAP_SYS_PTRACE): first a summary
of how long an idle dead peer would go unseen (30 s, 2 min, 350 s - AWS's NAT
idle timeout -, 2 h, never), by the cgroup each connection was made in; then
each socket with its owner's uid, cgroup and holders. --over DURATION keeps
the connections over it (--over 350s: the ones a cloud NAT drops first).

examples:
  keepalive inspect --pid 4242
  keepalive inspect --cgroup /sys/fs/cgroup/system.slice/api.service --json
  keepalive inspect --netns --over 350s
  keepalive inspect --netns /run/netns/blue --json`,
  flags: { pid: "string", cgroup: "string", netns: "string", over: "string" },
  optionalValue: ["netns"],
  run({ values, args, json, terms, platform }) {
    argumentsOf("inspect", args, []);
    const { flag, text } = oneTarget("inspect", values, ["pid", "cgroup", "netns"]);
    if (values.over !== undefined && flag !== "netns") throw new UsageError("--over goes with --netns");
    if (flag === "netns") {
      const overMs = values.over === undefined ? undefined : parseDurationFlag("--over", values.over);
      return asUsage(() => inspectNamespace(text === "" ? undefined : netnsOf(text, terms), overMs, json));
    }
    return flag === "cgroup"
      ? asUsage(() => inspectPath(cgroupOf(text, terms), json))
      : inspectPid(pidOf(text, terms, platform), json);
  },
};
