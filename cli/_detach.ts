/**
 * `keepalive detach --cgroup PATH [--owner NAME | --all]`: this module's programs of one owner taken off a cgroup.
 *
 * @module
 */
import { clearCgroupKeepalive } from "../mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf, cgroupOf, ownerOf } from "./_flags.ts";
import { asUsage, printJson, UsageError } from "./_format.ts";

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

/** `keepalive detach`. */
export const detachCommand: Command<{ cgroup: "string"; owner: "string"; all: "boolean" }> = {
  name: "detach",
  summary: "detach --cgroup PATH  this module's programs taken off a cgroup",
  usage: `usage: keepalive detach --cgroup PATH [--owner NAME | --all] [--json]

Takes this module's programs of one owner off the cgroup v2 directory PATH:
connections made there from now on get the policy of the nearest cgroup above
with one, or the system's defaults; those that exist keep what they hold, and
other programs stay, another owner's too.

  --owner NAME   whose programs to take off (default: this host's name)
  --all          every owner's

example:
  keepalive detach --cgroup /sys/fs/cgroup/kubepods.slice --owner node-agent-7`,
  flags: { cgroup: "string", owner: "string", all: "boolean" },
  run({ values, args, json, terms }) {
    argumentsOf("detach", args, []);
    if (values.cgroup === undefined) throw new UsageError("detach takes --cgroup PATH");
    if (values.all && values.owner !== undefined) throw new UsageError("detach takes --owner NAME or --all, not both");
    const path = cgroupOf(values.cgroup, terms);
    return asUsage(() => detach(path, { owner: ownerOf(values.owner, terms), all: values.all ?? false }, json));
  },
};
