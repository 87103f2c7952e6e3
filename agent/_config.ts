/**
 * Pure: a node agent's config, read and checked whole before anything runs,
 * each refusal naming the file, the entry and the field as the config
 * spells them. Policies name cgroups by a path below the cgroup2 mount, `*`
 * standing for one path component, with the command line's options
 * (durations and counts as its flags write them):
 *
 * ```json
 * {
 *   "policies": [
 *     { "cgroup": "system.slice/postgresql.service", "timeout": "30s" },
 *     { "cgroup": "kubepods.slice/kubepods-burstable.slice/*", "idle": "10s", "count": 3, "enforce": true }
 *   ],
 *   "default": { "timeout": "5m" }
 * }
 * ```
 *
 * @module
 */
import { cText, describe, parseDuration, planWrites, textTerms } from "../options/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { KeepaliveOptions } from "../types/mod.ts";

/** One policy: the cgroups it is for, and what it holds there. */
export interface AgentPolicy {
  /** As the config names it: its pattern, or `"default"`. */
  readonly name: string;
  /** The pattern's components, `*` for any one; none for the default, which is the hierarchy's root. */
  readonly pattern: readonly string[];
  /** The options, as for `setKeepalive`. */
  readonly options: KeepaliveOptions;
  /** Whether the applications' own `setsockopt` of these options is held to the policy too. */
  readonly enforce: boolean;
}

/** A node agent's config. */
export interface AgentConfig {
  /** The policies, in the config's order (which breaks a tie between two as specific). */
  readonly policies: readonly AgentPolicy[];
  /** The policy of every connection no other policy holds for: `"default"`, at the hierarchy's root. */
  readonly fallback: AgentPolicy | undefined;
}

/** The config's keys for the options, with the flag form each is written in. */
const OPTION_KEYS = {
  timeout: "timeoutMs",
  idle: "idleMs",
  interval: "intervalMs",
  count: "count",
  "user-timeout": "userTimeoutMs",
} as const;
const POLICY_KEYS = ["cgroup", ...Object.keys(OPTION_KEYS), "enforce"];
const TOP_KEYS = ["policies", "default"];

/** A mistake in a config: its file, its entry and its field named. */
export class ConfigError extends TypeError {
  /** `"ConfigError"`. */
  override name = "ConfigError";
}

const quoted = (key: string) => `"${key}"`;

/** Refuses keys a part does not take, naming the nearest it does when one is near. */
function checkKeys(where: string, given: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (allowed.includes(key)) continue;
    // A near miss: another case or separator (`user_timeout`, `userTimeout`), or two letters swapped (`idel`).
    const letters = (name: string) => name.toLowerCase().replace(/[-_]/g, "").split("").sort().join("");
    const near = allowed.find((name) => letters(name) === letters(key));
    throw new ConfigError(
      `${where}: ${quoted(key)} is not a field here${near ? `; did you mean ${quoted(near)}?` : ""} (${
        allowed.map(quoted).join(", ")
      })`,
    );
  }
}

/** A cgroup pattern's components, checked: relative, no empty, `.` or `..` component, `*` only whole. */
function patternOf(where: string, text: unknown): string[] {
  const bad = (why: string) =>
    new ConfigError(
      `${where}: "cgroup" must be a path below the cgroup2 mount, such as "system.slice/api.service" or "kubepods.slice/*"; got ${
        describe(text)
      }: ${why}`,
    );
  if (typeof text !== "string") throw bad("it is not a string");
  if (text.startsWith("/")) throw bad("it starts with /; it is taken below the mount");
  const parts = text.split("/");
  if (text === "" || parts.some((part) => part === "" || part === "." || part === "..")) {
    throw bad("it has an empty, . or .. component");
  }
  if (parts.some((part) => part !== "*" && part.includes("*"))) throw bad("* stands for a whole component");
  if (text.includes("\0")) throw bad("it holds a NUL");
  return parts;
}

/** One policy's options and `enforce`, in the config's terms. */
function policyOf(where: string, name: string, pattern: string[], entry: Record<string, unknown>, platform: Platform) {
  const options: KeepaliveOptions = {};
  const typed: Record<string, string> = {};
  const names: Record<string, string> = {};
  for (const [key, field] of Object.entries(OPTION_KEYS)) {
    const value = entry[key];
    names[field] = quoted(key);
    if (value === undefined) continue;
    typed[field] = typeof value === "string" ? value : describe(value);
    if (field === "count") {
      if (typeof value !== "number") {
        throw new ConfigError(`${where}: "count" must be an integer from 1 to 127; got ${describe(value)}`);
      }
      options.count = value;
      continue;
    }
    const ms = typeof value === "string" ? parseDuration(value) : undefined;
    if (ms === undefined) {
      throw new ConfigError(
        `${where}: ${quoted(key)} must be a duration with a unit, such as "30s", "1500ms" or "5m"; got ${
          describe(value)
        }`,
      );
    }
    options[field] = ms;
  }
  if (Object.keys(typed).length === 0) {
    throw new ConfigError(`${where}: give "timeout", or some of "idle", "interval", "count" and "user-timeout"`);
  }
  const enforce = entry.enforce ?? false;
  if (typeof enforce !== "boolean") {
    throw new ConfigError(`${where}: "enforce" must be true or false; got ${describe(enforce)}`);
  }
  try {
    planWrites(options, platform, { ...textTerms(names, typed), names: { probes: '"count"', ...names } });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new ConfigError(`${where}: ${error.message}`);
    }
    throw error;
  }
  return { name, pattern, options, enforce };
}

/** A plain object, not an array or null. */
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Reads a node agent's config.
 *
 * @param text The config's JSON.
 * @param source Where it came from, for errors: its file's path.
 * @param platform This OS's table, whose limits the options are checked against.
 * @returns The config.
 * @throws {ConfigError} Naming the file, the entry and the field, as the config spells them.
 *
 * @example Two policies and a default
 * ```ts
 * import { parseAgentConfig } from "./_config.ts";
 * import { platformFor } from "../platforms/mod.ts";
 * import { deepEqual, throws } from "node:assert/strict";
 *
 * const config = parseAgentConfig(
 *   '{"policies": [{"cgroup": "kubepods.slice/*", "idle": "10s", "count": 3, "enforce": true}], "default": {"timeout": "5m"}}',
 *   "agent.json",
 *   platformFor("linux"),
 * );
 * deepEqual(config.policies[0]!.options, { idleMs: 10_000, count: 3 });
 * deepEqual(config.fallback!.pattern, []);
 * throws(
 *   () => parseAgentConfig('{"policies": [{"cgroup": "a", "count": 200}]}', "agent.json", platformFor("linux")),
 *   /^ConfigError: agent.json: policies\[0\] \(a\): "count" must be an integer from 1 to 127 .*; got 200/,
 * );
 * ```
 */
export function parseAgentConfig(text: string, source: string, platform: Platform): AgentConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not JSON: ${(error as Error).message}`);
  }
  if (!isObject(json)) throw new ConfigError(`${source}: must be an object with "policies" and "default"`);
  checkKeys(source, json, TOP_KEYS);
  const entries = json.policies ?? [];
  if (!Array.isArray(entries)) throw new ConfigError(`${source}: "policies" must be an array`);
  const policies = entries.map((entry: unknown, i) => {
    const where = `${source}: policies[${i}]`;
    if (!isObject(entry)) throw new ConfigError(`${where}: must be an object with "cgroup" and its options`);
    const named = typeof entry.cgroup === "string" ? `${where} (${entry.cgroup})` : where;
    checkKeys(named, entry, POLICY_KEYS);
    if (entry.cgroup === undefined) throw new ConfigError(`${where}: "cgroup" is missing: the cgroups it is for`);
    const pattern = patternOf(named, entry.cgroup);
    return policyOf(named, entry.cgroup as string, pattern, entry, platform);
  });
  const seen = new Map<string, number>();
  policies.forEach(({ name }, i) => {
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new ConfigError(`${source}: policies[${i}] (${name}): the same cgroup as policies[${earlier}]`);
    }
    seen.set(name, i);
  });
  const fallback = json.default;
  if (fallback !== undefined && !isObject(fallback)) throw new ConfigError(`${source}: "default" must be an object`);
  if (fallback) checkKeys(`${source}: default`, fallback, POLICY_KEYS.filter((key) => key !== "cgroup"));
  if (policies.length === 0 && !fallback) throw new ConfigError(`${source}: no policy: give "policies" or "default"`);
  return {
    policies,
    fallback: fallback ? policyOf(`${source}: default`, "default", [], fallback, platform) : undefined,
  };
}

/**
 * Reads a node agent's config file through the binding (so Deno needs no read permission for it), and checks it.
 *
 * @param read The file's bytes, or `-errno` if it cannot be read, and the errno's name.
 * @param path The file.
 * @param platform This OS's table.
 * @returns The config.
 * @throws {ConfigError} If it cannot be read, or naming the entry and field that are wrong.
 */
export function readAgentConfig(
  read: (path: string) => Uint8Array | string,
  path: string,
  platform: Platform,
): AgentConfig {
  const bytes = read(path);
  if (typeof bytes === "string") throw new ConfigError(`${path}: cannot be read (${bytes})`);
  let text;
  try {
    text = cText(bytes, true);
  } catch {
    throw new ConfigError(`${path}: not UTF-8`);
  }
  return parseAgentConfig(text, path, platform);
}
