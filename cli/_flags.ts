/**
 * The flags several commands share, and their checks: the keepalive settings,
 * `--pid`, `--cgroup`, `--owner`, and a command's arguments.
 *
 * @module
 */
import { resolve } from "node:path";
import type { KeepaliveOptions } from "../mod.ts";
import {
  checkCgroupSettings,
  checkNetnsInspection,
  checkPath,
  checkPid,
  type Field,
  planWrites,
  type Terms,
} from "../options/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { FlagTypes, FlagValues } from "./_command.ts";
import { asUsage, parseCount, parseDurationFlag, UsageError } from "./_format.ts";

/** The keepalive settings, as flags. */
export const SETTINGS = {
  idle: "string",
  interval: "string",
  count: "string",
  "user-timeout": "string",
  timeout: "string",
} as const satisfies FlagTypes;

/** The settings' lines of a usage. */
export const SETTINGS_USAGE = `  --idle DURATION          idle time before the first probe (TCP_KEEPIDLE)
  --interval DURATION      time between probes (TCP_KEEPINTVL)
  --count N                probes before the connection is dropped (TCP_KEEPCNT)
  --user-timeout DURATION  how long sent data may stay unacknowledged (TCP_USER_TIMEOUT)
  --timeout DURATION       one dead-peer deadline, planned into all of the above`;

/** `--tls` and its line of a usage. */
export const TLS = { tls: "boolean" } as const satisfies FlagTypes;
export const TLS_USAGE = "  --tls                    speak TLS, verifying the server's certificate";

/** The flag each field is typed as, and what was typed for it. */
type Typed = Readonly<Record<string, string | boolean | undefined>>;

/**
 * What was typed for each field, by its flag: what errors quote.
 *
 * @param values The flags given.
 * @returns The text of each.
 */
export function typedFields(values: Typed): Partial<Record<Field, string>> {
  const text = (flag: string) => typeof values[flag] === "string" ? values[flag] : undefined;
  return {
    idleMs: text("idle"),
    intervalMs: text("interval"),
    count: text("count"),
    probes: text("count"),
    userTimeoutMs: text("user-timeout"),
    timeoutMs: text("timeout"),
    pid: text("pid"),
    path: text("cgroup"),
    owner: text("owner"),
  };
}

/**
 * The settings typed, checked against this OS's limits in the flags' terms before anything connects.
 *
 * @param values The flags given.
 * @param terms Their terms.
 * @param platform This OS's table.
 * @returns The options.
 * @throws {UsageError} Naming the flag, the value and the range.
 */
export function keepaliveOptions(
  values: FlagValues<typeof SETTINGS>,
  terms: Terms,
  platform: Platform,
): KeepaliveOptions {
  const options: KeepaliveOptions = {};
  if (values.idle !== undefined) options.idleMs = parseDurationFlag("--idle", values.idle);
  if (values.interval !== undefined) options.intervalMs = parseDurationFlag("--interval", values.interval);
  if (values.count !== undefined) options.count = parseCount("--count", values.count);
  if (values["user-timeout"] !== undefined) {
    options.userTimeoutMs = parseDurationFlag("--user-timeout", values["user-timeout"]);
  }
  if (values.timeout !== undefined) options.timeoutMs = parseDurationFlag("--timeout", values.timeout);
  asUsage(() => planWrites(options, platform, terms));
  return options;
}

/** The flags that name what a command reaches, as its usage writes them. */
const TARGETS = { pid: "--pid PID", cgroup: "--cgroup PATH", netns: "--netns [PATH]" } as const;
type Target = keyof typeof TARGETS;

/** One of the targets a command takes (`--pid`, `--cgroup`, `--netns`), not two; which, and what was typed for it. */
export function oneTarget<F extends Target>(
  command: string,
  values: Partial<Record<F, string>> & FlagValues<FlagTypes>,
  takes: readonly F[] = ["pid", "cgroup"] as F[],
): { flag: F; text: string } {
  const given = takes.filter((flag) => values[flag] !== undefined);
  if (given.length === 1) return { flag: given[0]!, text: values[given[0]!]! as string };
  const names = takes.map((flag) => TARGETS[flag]);
  throw new UsageError(`${command} takes ${names.slice(0, -1).join(", ")} or ${names.at(-1)}, one of them`);
}

/** The `--netns` typed, checked, as an absolute path (a relative one is taken from the working directory). */
export function netnsOf(text: string, terms: Terms): string {
  return asUsage(() => checkNetnsInspection(resolve(text), {}, terms).path!);
}

/** The `--pid` typed, checked. */
export function pidOf(text: string, terms: Terms, platform: Platform): number {
  return asUsage(() => checkPid(parseCount("--pid", text), platform, terms));
}

/** The `--cgroup` typed, checked, as an absolute path (a relative one is taken from the working directory). */
export function cgroupOf(text: string, terms: Terms): string {
  return asUsage(() => checkPath(resolve(text), terms));
}

/** The `--owner` typed, checked. */
export function ownerOf(text: string | undefined, terms: Terms): string | undefined {
  return asUsage(() => checkCgroupSettings("the flags", { owner: text }, ["owner"], terms).owner);
}

/**
 * The arguments, as many as the command takes.
 *
 * @param command The command, for the error.
 * @param args What was given.
 * @param names What each is, for the error (`host:port`).
 * @returns The arguments.
 * @throws {UsageError} With too few or too many.
 */
export function argumentsOf<N extends readonly string[]>(
  command: string,
  args: readonly string[],
  names: N,
): { [I in keyof N]: string } {
  if (args.length !== names.length) {
    const wanted = names.length ? names.map((name) => `<${name}>`).join(" ") : "no arguments";
    throw new UsageError(`${command} takes ${wanted}; got ${args.length ? args.join(" ") : "none"}`);
  }
  return args as unknown as { [I in keyof N]: string };
}
