/**
 * `TCP_KEEPALIVE`, written as the command line's flags are: `30s` (a deadline,
 * planned), or `idle=10s,interval=2s,count=3,user-timeout=30s`, either with
 * `every=500ms` for the sweeps' period and `cpu=0.5%` for their budget. Checked here against the OS's limits,
 * so that an error names the variable, and the part in its own spelling and units.
 *
 * @module
 */
import { checkSweeps } from "./_checks.ts";
import { DURATION_FORM, parseDuration, unitHint } from "./_duration.ts";
import { type Field, textTerms } from "./_terms.ts";
import { planWrites } from "./_writes.ts";
import type { KeepaliveOptions, SweepOptions } from "../types/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/** Options and the sweeps' pace, as the variable gives them. */
export interface KeepaliveVariable {
  options: KeepaliveOptions;
  /** Only what the variable gives. */
  sweeps: SweepOptions;
}

/** Each key of the text, and the field it sets. */
const FIELDS: Readonly<Record<string, Field>> = {
  timeout: "timeoutMs",
  idle: "idleMs",
  interval: "intervalMs",
  count: "count",
  "user-timeout": "userTimeoutMs",
  every: "everyMs",
  cpu: "cpuPercent",
};
const NAMES: Partial<Record<Field, string>> = {
  ...Object.fromEntries(Object.entries(FIELDS).map(([key, field]) => [field, key])),
  probes: "count",
};

/**
 * Parses the variable's text and checks it against the OS's limits.
 *
 * @param name The variable, for errors.
 * @param text Its value.
 * @param platform The OS the options will be applied on.
 * @returns The options and pace, valid.
 * @throws {TypeError | RangeError} Naming the variable and the part that is wrong, in the variable's terms.
 */
export function parseVariable(name: string, text: string, platform: Platform): KeepaliveVariable {
  const wrong = (why: string) => new TypeError(`${name}=${JSON.stringify(text)}: ${why}`);
  const values: Partial<Record<Field, number>> = {};
  const typed: Partial<Record<Field, string>> = {};
  for (const part of text.split(",").map((part) => part.trim())) {
    const [key = "", value = "", extra] = part.includes("=") ? part.split("=") : ["timeout", part];
    const quoted = JSON.stringify(part);
    if (extra !== undefined) throw wrong(`${quoted} has more than one =`);
    const field = FIELDS[key];
    if (!field) {
      throw wrong(`${quoted} is not one of ${Object.keys(FIELDS).map((k) => `${k}=`).join(", ")} or a deadline`);
    }
    if (field in values) throw wrong(`${quoted} gives ${key} a second time`);
    if (field === "count") {
      if (!/^\d+$/.test(value)) throw wrong(`${quoted} takes a whole number`);
      values.count = Number(value);
    } else if (field === "cpuPercent") {
      if (!/^\d+(\.\d+)?%$/.test(value)) throw wrong(`${quoted} takes a percentage, such as 0.5%`);
      values.cpuPercent = Number(value.slice(0, -1));
    } else {
      const ms = parseDuration(value);
      if (ms === undefined) throw wrong(`${quoted} takes ${DURATION_FORM}${unitHint(value)}`);
      values[field] = ms;
    }
    typed[field] = value;
  }
  const { everyMs, cpuPercent, ...options } = values as KeepaliveOptions & SweepOptions;
  const sweeps: SweepOptions = {};
  if (everyMs !== undefined) sweeps.everyMs = everyMs;
  if (cpuPercent !== undefined) sweeps.cpuPercent = cpuPercent;
  const terms = textTerms(NAMES, typed);
  try {
    planWrites(options, platform, terms);
    checkSweeps(sweeps, terms);
  } catch (error) {
    if (error instanceof RangeError) throw new RangeError(`${name}=${JSON.stringify(text)}: ${error.message}`);
    if (error instanceof TypeError) throw wrong(error.message);
    throw error;
  }
  return { options, sweeps };
}
