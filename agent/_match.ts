/**
 * Pure: which policy each cgroup gets. A pattern matches a cgroup whose path
 * below the cgroup2 mount has as many components, each the same or the
 * pattern's `*`. Where several match one cgroup, the most specific wins: the
 * one with a name where the others have `*`, first from the left; then the
 * config's order. Policies of nested cgroups both hold, each for its own
 * connections: the kernel gives a connection the nearest (issue 22's rule).
 *
 * @module
 */
import type { AgentConfig, AgentPolicy } from "./_config.ts";

/**
 * Whether a pattern matches a cgroup's path.
 *
 * @param pattern The pattern's components.
 * @param path The cgroup's components below the mount.
 */
function matches(pattern: readonly string[], path: readonly string[]): boolean {
  return pattern.length === path.length && pattern.every((part, i) => part === "*" || part === path[i]);
}

/** Negative where `a` is more specific than `b`: a name where `b` has `*`, first from the left. */
function moreSpecific(a: AgentPolicy, b: AgentPolicy): number {
  for (let i = 0; i < a.pattern.length; i++) {
    const [wildA, wildB] = [a.pattern[i] === "*", b.pattern[i] === "*"];
    if (wildA !== wildB) return wildA ? 1 : -1;
  }
  return 0;
}

/**
 * The policy of each cgroup a policy matches, the default at the hierarchy's root.
 *
 * @param config The agent's config.
 * @param paths Every cgroup's path below the mount (`""` for the root), as `a/b/c`.
 * @returns Each matched path and its policy, deepest first (so that a parent's pass finds its children's policies).
 *
 * @example The most specific of two
 * ```ts
 * import { policiesFor } from "./_match.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const policy = (name: string) => ({ name, pattern: name.split("/"), options: { idleMs: 10_000 }, enforce: false });
 * const config = { policies: [policy("system.slice/*"), policy("system.slice/db.service")], fallback: undefined };
 * deepEqual(
 *   [...policiesFor(config, ["", "system.slice", "system.slice/db.service", "system.slice/api.service"])]
 *     .map(([path, { name }]) => [path, name]),
 *   [["system.slice/api.service", "system.slice/*"], ["system.slice/db.service", "system.slice/db.service"]],
 * );
 * ```
 */
export function policiesFor(config: AgentConfig, paths: readonly string[]): Map<string, AgentPolicy> {
  const found = new Map<string, AgentPolicy>();
  const depth = (path: string) => path === "" ? 0 : path.split("/").length;
  const byDepth = [...paths].sort((a, b) => depth(b) - depth(a) || a.localeCompare(b));
  for (const path of byDepth) {
    if (path === "") {
      if (config.fallback) found.set(path, config.fallback);
      continue;
    }
    const parts = path.split("/");
    const [best] = config.policies.filter((policy) => matches(policy.pattern, parts))
      .sort(moreSpecific); // stable: the config's order breaks a tie
    if (best) found.set(path, best);
  }
  return found;
}
