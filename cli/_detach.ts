/**
 * `keepalive detach --cgroup PATH [--owner NAME | --all]`: this module's programs of one owner taken off a cgroup.
 *
 * @module
 */
import { clearCgroupKeepalive } from "../mod.ts";
import { printJson } from "./_format.ts";

/**
 * Detaches, and prints what was taken off and what of another owner's stays.
 *
 * @param path The cgroup v2 directory.
 * @param settings `owner` and `all`, as `clearCgroupKeepalive` takes them.
 * @param json Whether to print JSON.
 * @returns The exit code: 0.
 */
export function detach(path: string, settings: { owner: string | undefined; all: boolean }, json: boolean): number {
  const programs = clearCgroupKeepalive(path, settings);
  if (json) {
    printJson({ path, programs });
    return 0;
  }
  if (programs.length === 0) {
    console.log(`${path}: no program of this module was attached there`);
    return 0;
  }
  for (const { kind, id, owner, detached } of programs) {
    const whose = owner ? `of ${owner}` : "of no owner (0.7 or 0.8)";
    console.log(
      `${path}: ${kind} program ${id} ${whose} ${
        detached ? "taken off" : "stays: another owner's (--all takes it off too)"
      }`,
    );
  }
  if (programs.some(({ detached }) => detached)) {
    console.log(
      "connections made there from now on get the policy of the nearest cgroup above with one, or the system's defaults; those that exist keep what they hold",
    );
  }
  return 0;
}
