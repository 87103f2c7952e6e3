/**
 * Parsing and printing for the command line: durations with units, host:port,
 * and aligned tables.
 *
 * @module
 */

import { writeSync } from "node:fs";
import { DURATION_FORM, type Field, parseDuration, type Terms, textTerms, unitHint } from "../options/mod.ts";

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The flag each field of the API is typed as. */
const FLAG_NAMES: Readonly<Partial<Record<Field, string>>> = {
  idleMs: "--idle",
  intervalMs: "--interval",
  count: "--count",
  probes: "--count",
  userTimeoutMs: "--user-timeout",
  timeoutMs: "--timeout",
  pid: "--pid",
  netns: "--netns",
  overMs: "--over",
  path: "--cgroup",
  owner: "--owner",
};

/**
 * The terms of the flags: errors name the flags, in their units (`--timeout must be ... at least 11s; got 5s`).
 *
 * @param typed What was typed for each field.
 * @param names Where a field is typed as something else than its flag (`plan`'s deadline, an argument).
 * @returns The terms.
 */
export function flagTerms(
  typed: Readonly<Partial<Record<Field, string>>>,
  names: Readonly<Partial<Record<Field, string>>> = {},
): Terms {
  return textTerms({ ...FLAG_NAMES, ...names }, typed);
}

/**
 * Runs a check of what was typed: its `TypeError` or `RangeError`, worded in the flags' terms, is a mistake in the
 * call, a {@linkcode UsageError}.
 *
 * @param check The check.
 * @returns What it returns.
 * @throws {UsageError} If it refused a value.
 */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Parses a duration typed for a flag or an argument.
 *
 * @param label The flag or argument, for the error.
 * @param text What was given.
 * @returns Milliseconds.
 * @throws {UsageError} Without a unit, with a hint, or when it is no number.
 */
export function parseDurationFlag(label: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${label} takes ${DURATION_FORM}; got "${text}"${unitHint(text)}`);
  return ms;
}

/**
 * Parses a whole number.
 *
 * @param label The flag, for the error.
 * @param text What was given.
 * @returns The number.
 * @throws {UsageError} If it is not a whole number.
 */
export function parseCount(label: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${label} takes a whole number; got "${text}"`);
  return Number(text);
}

/** A host and port to connect to. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `name:port`, `1.2.3.4:port` or `[::1]:port`.
 *
 * @param text What was given.
 * @returns The host (without brackets) and port.
 * @throws {UsageError} If it has no port, or the port is not 1..65535.
 */
export function parseHostPort(text: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d+)$/.exec(text);
  if (!match) {
    throw new UsageError(`expected host:port, such as example.com:443, 10.0.0.1:5432 or [::1]:6379; got "${text}"`);
  }
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new UsageError(`port must be 1 to 65535; got ${match[3]} in "${text}"`);
  return { host: match[1] ?? match[2]!, port };
}

/**
 * Prints a duration for people: `0`, `1.5 s`, `1 min 15 s`, `2 h 11 min 15 s`.
 *
 * @param ms Milliseconds, or `undefined` for an unknown value.
 * @returns The text.
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "unknown";
  if (ms < 60_000) return ms === 0 ? "0" : `${Math.round(ms / 100) / 10} s`;
  const seconds = Math.round(ms / 1000);
  const parts = [[Math.floor(seconds / 3600), "h"], [Math.floor(seconds / 60) % 60, "min"], [seconds % 60, "s"]];
  return parts.filter(([n]) => n).map(([n, unit]) => `${n} ${unit}`).join(" ");
}

/**
 * Prints a report as `--json` gives it: the API's field names, and `null` where a value is unknown (`undefined`).
 *
 * @param report What to print.
 */
export function printJson(report: unknown): void {
  console.log(JSON.stringify(report, (_key, value) => value === undefined ? null : value, 2));
}

/**
 * Lays rows out in columns.
 *
 * @param rows The header row first; every row the same length.
 * @returns The lines, joined.
 */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}

/** Settings as a table row's cells: keepalive, idle, interval, count, user timeout, idle dead peer found after. */
export function settingsCells(
  s: { enabled?: boolean; idleMs?: number; intervalMs?: number; count?: number; userTimeoutMs?: number },
): [string, string, string, string, string, string] {
  const { enabled, idleMs, intervalMs, count, userTimeoutMs } = s;
  const deadPeer = idleMs === undefined || intervalMs === undefined || count === undefined
    ? "unknown"
    : `${formatDuration(idleMs + intervalMs * count)}${enabled === false ? " once on" : ""}`;
  return [
    enabled === undefined ? "-" : enabled ? "on" : "off",
    formatDuration(idleMs),
    formatDuration(intervalMs),
    count === undefined ? "unknown" : String(count),
    userTimeoutMs === undefined ? "none" : userTimeoutMs === 0 ? "system" : formatDuration(userTimeoutMs),
    deadPeer,
  ];
}

/** The header of a settings table. */
export const SETTINGS_HEADER = [
  "",
  "keepalive",
  "idle",
  "interval",
  "count",
  "user timeout",
  "idle dead peer found after",
];

/** What {@linkcode stdoutLines} gathers before a write: a few hundred lines, short-lived enough to stay young. */
const BATCH_BYTES = 64 * 1024;
/** How long a write waits when standard output is a full non-blocking pipe (Node makes it one), in milliseconds. */
const FULL_PIPE_WAIT_MS = 1;

/**
 * Lines for standard output, written synchronously a batch at a time with one `write(2)`, in the three runtimes
 * alike: at 100,000 lines, console.log alone took longer than the kernel's pass (3x under Deno), and under Node and
 * Bun it may reorder against direct writes, so a command that uses this writes everything through it.
 *
 * @returns `line` to add a line, `flush` to write what is gathered (before exiting).
 */
export function stdoutLines(): { line(text: string): void; flush(): void } {
  const encoder = new TextEncoder();
  let batch = "";
  const flush = () => {
    for (let rest = encoder.encode(batch); rest.length;) {
      try {
        rest = rest.subarray(writeSync(1, rest));
      } catch (error) {
        if ((error as { code?: string }).code !== "EAGAIN") throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FULL_PIPE_WAIT_MS);
      }
    }
    batch = "";
  };
  return {
    line(text) {
      batch += `${text}\n`;
      if (batch.length >= BATCH_BYTES) flush();
    },
    flush,
  };
}
