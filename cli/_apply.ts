/**
 * `keepalive apply --pid PID`: every TCP socket of another running process,
 * configured and read back, in a table of addresses, before and after.
 *
 * @module
 */
import { type KeepaliveOptions, setProcessKeepalive } from "../mod.ts";
import { printJson, settingsCells, table } from "./_format.ts";

/**
 * Applies and prints.
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
  console.log(table([
    ["fd", "local", "peer", "", "keepalive", "idle", "interval", "count", "user timeout", "idle dead peer found after"],
    ...sockets.flatMap(({ fd, local, peer, before, after }) => [
      [String(fd), local, peer ?? "(listening)", "before", ...settingsCells(before)],
      ["", "", "", "after", ...settingsCells(after)],
    ]),
  ]));
  return 0;
}
