/**
 * Pure: validate options against a platform's limits, plan a deadline, convert
 * units. No runtime globals, so it runs under Deno, Bun and Node alike.
 *
 * @module
 */
import { describe, isPlainObject } from "./_describe.ts";
import type { KeepaliveOptions, KeepaliveOs, KeepalivePlan, KeepaliveSettings } from "./_types.ts";
import { type Platform, platformFor, type SocketOption, type Unit } from "./platforms/mod.ts";

/** One option to write, in the kernel's unit. */
export interface Write {
  /** The option. */
  readonly option: SocketOption;
  /** The value in the option's unit. */
  readonly value: number;
}

const OPTION_KEYS: readonly (keyof KeepaliveOptions)[] = [
  "enable",
  "idleMs",
  "intervalMs",
  "count",
  "userTimeoutMs",
  "timeoutMs",
];
const SETTING_FIELDS: readonly (keyof KeepaliveSettings)[] = [
  "enabled",
  "idleMs",
  "intervalMs",
  "count",
  "userTimeoutMs",
];
const PLAN_KEYS = ["probes", "os"];
const PLANNED_FIELDS = ["idleMs", "intervalMs", "userTimeoutMs"] as const;
const DEFAULT_PROBES = 10;
const MS_PER: Record<Unit, number> = { bool: 1, count: 1, s: 1000, ms: 1 };

/** Refuses anything but a plain object whose keys are all `known`, naming a near miss. */
function checkKeys(what: string, options: unknown, known: readonly string[], hint = ""): void {
  if (!isPlainObject(options)) {
    throw new TypeError(`${what} must be a plain object of ${known.join(", ")}; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = known.find((name) => name.toLowerCase() === key.toLowerCase());
      throw new TypeError(
        `unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${near}?)` : hint}; options are ${
          known.join(", ")
        }`,
      );
    }
  }
}

/**
 * Plans keepalive from one dead-peer deadline, by the rule of dask's
 * `set_tcp_timeout`, in whole seconds so that `idleMs + intervalMs * count`
 * never exceeds the deadline: `idle = max(2, t / 4)`,
 * `interval = max(1, (t - idle) / probes)`, then `idle = t - interval * probes`.
 *
 * With `os`, the plan is what that OS would be given: checked against its
 * limits, in its units, without what it lacks (FreeBSD has no user
 * timeout).
 *
 * The user timeout is the deadline itself, rounded down to the OS's unit
 * (whole seconds on macOS): nothing planned is later than the deadline.
 *
 * @param timeoutMs The deadline, in milliseconds; at least `(probes + 1) * 1000`.
 * @param options `probes`: how many probes to plan with (default 10, the count Windows fixes);
 *   `os`: `"linux"`, `"darwin"`, `"freebsd"` or `"windows"`.
 * @returns The planned settings; `userTimeoutMs` is `undefined` where the OS has none.
 * @throws {TypeError} If `options` is not a plain object of `probes` and `os`.
 * @throws {RangeError} If the deadline is too short for the probes, or either is not a valid number, or
 *   the plan is beyond the OS's limits.
 *
 * @example Thirty seconds
 * ```ts
 * import { planKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(planKeepalive(30_000), { idleMs: 10_000, intervalMs: 2_000, count: 10, userTimeoutMs: 30_000 });
 * deepEqual(planKeepalive(30_000, { os: "freebsd" }), {
 *   idleMs: 10_000, intervalMs: 2_000, count: 10, userTimeoutMs: undefined,
 * });
 * ```
 */
export function planKeepalive(
  timeoutMs: number,
  options: { probes?: number; os?: KeepaliveOs } = {},
): KeepalivePlan {
  checkKeys("planKeepalive's options", options, PLAN_KEYS, " (the probe count is probes)");
  const probes = options.probes ?? DEFAULT_PROBES;
  if (!Number.isInteger(probes) || probes < 1) {
    throw new RangeError(`probes must be an integer of at least 1; got ${describe(probes)}`);
  }
  const leastMs = (probes + 1) * 1000;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < leastMs) {
    throw new RangeError(
      `timeoutMs must be a finite number of at least ${leastMs} (${probes} probes 1 s apart after 1 s idle); got ${
        describe(timeoutMs)
      }`,
    );
  }
  const seconds = Math.floor(timeoutMs / 1000);
  const interval = Math.max(1, Math.floor((seconds - Math.max(2, Math.floor(seconds / 4))) / probes));
  const plan = {
    idleMs: (seconds - interval * probes) * 1000,
    intervalMs: interval * 1000,
    count: probes,
    userTimeoutMs: Math.floor(timeoutMs),
  };
  if (options.os === undefined) return plan;
  const platform = platformFor(options.os);
  const writes = planWrites({ timeoutMs, count: probes }, platform);
  const { idleMs, intervalMs, count, userTimeoutMs } = toSettings(
    platform,
    platform.options.map((option) => writes.find((write) => write.option === option)?.value),
  );
  return { idleMs: idleMs!, intervalMs: intervalMs!, count: count!, userTimeoutMs };
}

function rangeOf(option: SocketOption): [number, number] {
  const per = MS_PER[option.unit];
  // Values round up to the kernel's unit, so anything above the step below min is taken; 0 is only 0.
  return [option.min === 0 ? 0 : (option.min - 1) * per + 1, option.max * per];
}

/** One value as the kernel's: asked for, it rounds up; planned from a deadline, down, never past it. */
function toWrite(
  platform: Platform,
  option: SocketOption,
  value: unknown,
  plannedFrom: number | undefined,
): Write {
  const field = option.field;
  if (option.unit === "bool") {
    if (typeof value !== "boolean") {
      throw new TypeError(`enable must be true or false; got ${describe(value)}`);
    }
    return { option, value: value ? 1 : 0 };
  }
  const [low, high] = rangeOf(option);
  const integral = option.unit === "count";
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < low || value > high ||
    (integral && !Number.isInteger(value))
  ) {
    const kind = integral ? "an integer" : "a number";
    const unit = option.unit === "s" ? " s, in whole seconds; values round up" : option.unit === "ms" ? " ms" : "";
    const Kind = typeof value === "number" ? RangeError : TypeError;
    const origin = plannedFrom === undefined ? "" : ` (planned from timeoutMs ${plannedFrom})`;
    throw new Kind(
      `${field}${origin} must be ${kind} from ${low} to ${high} (${platform.name} ${option.name} takes ${option.min}..${option.max}${unit}); got ${
        describe(value)
      }`,
    );
  }
  const units = value / MS_PER[option.unit];
  return { option, value: plannedFrom === undefined ? Math.ceil(units) : Math.floor(units) };
}

/**
 * Checks options against a platform's limits and turns them into the writes
 * to make, in the platform's order. Nothing here touches a socket.
 *
 * @param options What the caller asked for.
 * @param platform The table of the OS that will apply it.
 * @returns One write per field asked for, in the kernel's units.
 * @throws {TypeError} On options that are not a plain object, an unknown key, a wrong type, or `timeoutMs` with
 *   a field it plans.
 * @throws {RangeError} On a value outside the platform's limits.
 */
export function planWrites(options: KeepaliveOptions | undefined, platform: Platform): Write[] {
  if (options === undefined) options = {};
  checkKeys("options", options, OPTION_KEYS);
  // Only an absent `enable` means on: null is a mistake, not a default.
  const asked: Record<string, unknown> = { ...options, enabled: options.enable === undefined ? true : options.enable };
  const plannedFrom = options.timeoutMs;
  if (plannedFrom !== undefined) {
    const clash = PLANNED_FIELDS.find((field) => options[field] !== undefined);
    if (clash) throw new TypeError(`timeoutMs plans ${clash}; give one or the other, not both`);
    Object.assign(asked, planKeepalive(plannedFrom, { probes: options.count }));
  }
  for (const [field, why] of Object.entries(platform.missing)) {
    // Asked for by name it is an error; planned from timeoutMs it is left out.
    if (options[field as keyof KeepaliveOptions] !== undefined) {
      throw new TypeError(`${field} is not supported on ${platform.name}: ${why}`);
    }
  }
  return platform.options
    .filter((option) => asked[option.field] !== undefined)
    .map((option) => toWrite(platform, option, asked[option.field], option.unit === "bool" ? undefined : plannedFrom));
}

/**
 * Turns the kernel's values, one per option of the platform in its order,
 * into the public settings in milliseconds.
 *
 * @param platform The table the values were read with.
 * @param values The kernel's values, in the platform's option order.
 * @returns The settings; `undefined` for a field the platform has no option for.
 */
export function toSettings(platform: Platform, values: readonly (number | undefined)[]): KeepaliveSettings {
  const settings: Record<string, number | boolean | undefined> = {};
  for (const field of SETTING_FIELDS) {
    const i = platform.options.findIndex((option) => option.field === field);
    const option = platform.options[i];
    const value = values[i];
    settings[field] = !option || value === undefined
      ? undefined
      : option.unit === "bool"
      ? value !== 0
      : value * MS_PER[option.unit];
  }
  return settings as unknown as KeepaliveSettings;
}
