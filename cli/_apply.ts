/**
 * `keepalive apply --pid PID | --cgroup PATH`: every TCP socket of another
 * running process, configured and read back, in a table of addresses, before
 * and after; or a cgroup's, with this module's program attached there for
 * every connection made from now on.
 *
 * @module
 */
import { type KeepaliveOptions, type ProcessSocket, setCgroupKeepalive, setProcessKeepalive } from "../mod.ts";
import type { Command } from "./_command.ts";
import {
  argumentsOf,
  cgroupOf,
  keepaliveOptions,
  oneTarget,
  ownerOf,
  pidOf,
  SETTINGS,
  SETTINGS_USAGE,
} from "./_flags.ts";
import { asUsage, printJson, SETTINGS_HEADER, settingsCells, table, UsageError } from "./_format.ts";

/** The sockets of one process, before and after, as rows. */
function socketRows(pid: number | undefined, sockets: readonly ProcessSocket[]): string[][] {
  return sockets.flatMap(({ fd, local, peer, before, after }, i) => [
    [
      i === 0 && pid !== undefined ? String(pid) : "",
      String(fd),
      local,
      peer ?? "(listening)",
      "before",
      ...settingsCells(before),
    ],
    ["", "", "", "", "after", ...settingsCells(after)],
  ]);
}

const HEADER = ["pid", "fd", "local", "peer", ...SETTINGS_HEADER];

/**
 * Applies to a process, and prints.
 *
 * @param pid The process.
 * @param options What to apply.
 * @param json Whether to print JSON.
 * @returns The exit code: 0.
 */
export function apply(pid: number, options: KeepaliveOptions, json: boolean): number {
  const sockets = setProcessKeepalive(pid, options);
  if (json) {
    printJson({ pid, sockets });
    return 0;
  }
  if (sockets.length === 0) {
    console.log(`process ${pid} has no TCP socket`);
    return 0;
  }
  console.log(`process ${pid}: ${sockets.length} TCP socket${sockets.length === 1 ? "" : "s"}\n`);
  console.log(table([HEADER.slice(1), ...socketRows(undefined, sockets).map((row) => row.slice(1))]));
  return 0;
}

/**
 * Applies to a cgroup, and prints both parts: the programs attached, and the sockets its processes already held.
 *
 * @param path The cgroup v2 directory.
 * @param options What to apply.
 * @param settings `enforce`, `owner` and `root`, as `setCgroupKeepalive` takes them.
 * @param json Whether to print JSON.
 * @returns The exit code: 0, or 1 if a process's sockets could not be set.
 */
export function applyToCgroup(
  path: string,
  options: KeepaliveOptions,
  settings: { enforce: boolean; owner: string | undefined; root: boolean },
  json: boolean,
): number {
  const done = setCgroupKeepalive(path, options, settings);
  const failed = done.processes.filter((process) => process.error !== undefined);
  if (json) {
    printJson(done);
    return failed.length ? 1 : 0;
  }
  for (const { kind, id, owner, replaced } of done.programs) {
    const what = kind === "sock_ops"
      ? "sets every connection established there from now on"
      : "holds the policy over the applications' own setsockopt";
    const instead = replaced === undefined ? "" : ` in place of ${replaced ? `${replaced}'s` : "an earlier one"}`;
    console.log(`${path}: ${kind} program ${id} of ${owner} attached${instead}; it ${what}`);
  }
  for (const nested of done.nested) {
    console.log(`${nested}: has a policy of its own, which holds for its connections; left as it is`);
  }
  const sockets = done.processes.reduce((sum, { sockets }) => sum + sockets.length, 0);
  console.log(
    `\n${done.processes.length} process${done.processes.length === 1 ? "" : "es"} there, with ${sockets} TCP socket${
      sockets === 1 ? "" : "s"
    } already open:`,
  );
  if (sockets > 0) {
    console.log(`\n${table([HEADER, ...done.processes.flatMap(({ pid, sockets }) => socketRows(pid, sockets))])}`);
  }
  for (const { pid, error } of failed) console.error(`keepalive: process ${pid}: ${error}`);
  return failed.length ? 1 : 0;
}

const APPLY_FLAGS = {
  ...SETTINGS,
  pid: "string",
  cgroup: "string",
  enforce: "boolean",
  owner: "string",
  root: "boolean",
} as const;

/** `keepalive apply`. */
export const applyCommand: Command<typeof APPLY_FLAGS> = {
  name: "apply",
  summary: `apply --pid PID     every TCP socket of another running process (Linux), configured and read back
  apply --cgroup PATH every connection of a cgroup, in any language, set by the kernel (Linux 5.9)`,
  usage: `usage: keepalive apply --pid PID | --cgroup PATH [options] [--enforce] [--owner NAME] [--root] [--json]

--pid: sets keepalive on every TCP socket (IPv4 and IPv6) of another running
process, in any language, and prints each socket's addresses with what it held
before and holds after. Linux 5.6 and later (pidfd_getfd), with the rights of
ptrace over the process: the same user (and kernel.yama.ptrace_scope 0), or root.

--cgroup: attaches a BPF program to the cgroup v2 directory PATH, in place of
this module's earlier one there, which sets every TCP connection made in PATH
or below from now on, in any language, as it is established; and sets the
sockets its processes already hold, as --pid does. Policies nest: a
connection gets the policy of the nearest cgroup with one, so a cgroup below
with its own keeps it. The program stays attached after this command exits,
until keepalive detach --cgroup PATH. Linux 5.9 and later, with CAP_BPF and
CAP_NET_ADMIN (or CAP_SYS_ADMIN), CAP_SYS_ADMIN to find the earlier program,
and CAP_SYS_PTRACE for the sockets already open; root has them all.

  --pid PID                the process
  --cgroup PATH            the cgroup v2 directory
  --enforce                with --cgroup: the applications' own setsockopt of
                           these options on TCP sockets succeeds and changes
                           nothing (a 32-bit process's is not seen: inspect
                           shows it as drift)
  --owner NAME             with --cgroup: whose programs these are, for detach
                           (default: this host's name, a pod's in Kubernetes)
  --root                   with --cgroup: PATH is the hierarchy's root, every
                           process of the host, and that is meant
${SETTINGS_USAGE}

examples:
  keepalive apply --pid 4242 --idle 10s --interval 2s --count 3
  keepalive apply --cgroup /sys/fs/cgroup/kubepods.slice --timeout 30s --enforce`,
  flags: APPLY_FLAGS,
  run({ values, args, json, terms, platform }) {
    argumentsOf("apply", args, []);
    const target = oneTarget("apply", values);
    const stray = (["enforce", "owner", "root"] as const).find((flag) => values[flag] !== undefined);
    if (stray && target.flag !== "cgroup") throw new UsageError(`--${stray} goes with --cgroup`);
    const options = keepaliveOptions(values, terms, platform);
    if (target.flag === "cgroup") {
      const path = cgroupOf(target.text, terms);
      const settings = {
        enforce: values.enforce ?? false,
        owner: ownerOf(values.owner, terms),
        root: values.root ?? false,
      };
      return asUsage(() => applyToCgroup(path, options, settings, json));
    }
    return apply(pidOf(target.text, terms, platform), options, json);
  },
};
