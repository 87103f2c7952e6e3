/**
 * `keepalive detach --cgroup PATH`: this module's programs taken off a cgroup.
 *
 * @module
 */
import { clearCgroupKeepalive } from "../mod.ts";
import { printJson } from "./_format.ts";

/**
 * Detaches, and prints what was taken off.
 *
 * @param path The cgroup v2 directory.
 * @param json Whether to print JSON.
 * @returns The exit code: 0.
 */
export function detach(path: string, json: boolean): number {
  const removed = clearCgroupKeepalive(path);
  if (json) {
    printJson({ path, removed });
    return 0;
  }
  if (removed.length === 0) {
    console.log(`${path}: no program of this module was attached there`);
    return 0;
  }
  for (const { kind, id } of removed) console.log(`${path}: ${kind} program ${id} taken off`);
  console.log("connections made there from now on get the system's defaults; those that exist keep what they hold");
  return 0;
}
