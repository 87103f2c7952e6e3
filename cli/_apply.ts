/**
 * `keepalive apply --pid PID | --cgroup PATH`: every TCP socket of another
 * running process, configured and read back, in a table of addresses, before
 * and after; or a cgroup's, with this module's program attached there for
 * every connection made from now on.
 *
 * @module
 */
import { type KeepaliveOptions, type ProcessSocket, setCgroupKeepalive, setProcessKeepalive } from "../mod.ts";
import { printJson, SETTINGS_HEADER, settingsCells, table } from "./_format.ts";

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
