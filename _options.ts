/**
 * Pure: validate options against a platform's limits, plan a deadline, convert
 * units. No runtime globals, so it runs under Deno, Bun and Node alike. Every
 * refusal is worded in the caller's {@linkcode Terms}: the API's option names
 * and milliseconds, or a text form's flags and durations.
 *
 * @module
 */
import { describe, isPlainObject } from "./_describe.ts";
import { durationText } from "./_duration.ts";
import type { KeepaliveOptions, KeepaliveOs, KeepalivePlan, KeepaliveSettings } from "./_types.ts";
import { type Platform, platformFor, type SocketOption, type Unit } from "./platforms/mod.ts";

/** One option to write, in the kernel's unit. */
export interface Write {
  /** The option. */
  readonly option: SocketOption;
  /** The value in the option's unit. */
  readonly value: number;
}

/** Everything a caller can get wrong, by its API name. */
export type Field = keyof KeepaliveOptions | "probes" | "everyMs" | "pid";

/** How a caller spells fields and values, so that an error speaks as the caller wrote. */
export interface Terms {
  /** The caller's name for a field (`--idle`, `idle`); the API's name where absent. */
  readonly names: Readonly<Partial<Record<Field, string>>>;
  /** What the caller typed for a field, quoted back as it was typed. */
  readonly typed: Readonly<Partial<Record<Field, string>>>;
  /** What a time is to the caller: `"a number"` (of milliseconds) or `"a duration"`. */
  readonly time: string;
  /** A time in the caller's units: `1500`, or `1500ms`. */
  duration(ms: number): string;
}

/** The API's terms: its option names, times as numbers of milliseconds. */
export const API_TERMS: Terms = { names: {}, typed: {}, time: "a number", duration: String };

/**
 * The terms of a text form: its names for the fields, durations with units.
 *
 * @param names The text form's name for each field it has.
 * @param typed What was typed for each field.
 * @returns The terms.
 */
export function textTerms(
  names: Readonly<Partial<Record<Field, string>>>,
  typed: Readonly<Partial<Record<Field, string>>>,
): Terms {
  return { names, typed, time: "a duration", duration: durationText };
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
const SWEEP_KEYS = ["everyMs"];
const PLANNED_FIELDS = ["idleMs", "intervalMs", "userTimeoutMs"] as const;
const DEFAULT_PROBES = 10;
const MS_PER: Record<Unit, number> = { bool: 1, count: 1, s: 1000, ms: 1 };
/** The sweeps' period: often enough to matter, at most what a timer takes (a 32-bit signed count of ms). */
const EVERY_MS_RANGE = [10, 2 ** 31 - 1] as const;
/** A `pid_t`: a C `int`, so nothing past 32 bits is wrapped round to another process. */
const PID_RANGE = [1, 2 ** 31 - 1] as const;

const nameOf = (terms: Terms, field: Field) => terms.names[field] ?? field;
/** What the caller gave, as the caller gave it. */
const given = (terms: Terms, field: Field, value: unknown, isTime: boolean) =>
  terms.typed[field] ?? (isTime && typeof value === "number" ? terms.duration(value) : describe(value));

/**
 * Refuses anything but a plain object whose keys are all `known`, naming a near miss.
 *
 * @param what The argument, for errors.
 * @param options What was passed.
 * @param known Its keys.
 * @param hint Said of an unknown key without a near miss.
 * @throws {TypeError} If it is not a plain object, or has another key.
 */
export function checkKeys(what: string, options: unknown, known: readonly string[], hint = ""): void {
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
 * The rule of dask's `set_tcp_timeout`, in whole seconds, so that `idle + interval * probes` never exceeds the
 * deadline; the user timeout is the deadline itself. The one planner behind {@linkcode planKeepalive} and
 * {@linkcode planWrites}.
 *
 * @param timeoutMs The deadline.
 * @param probes How many probes to plan with.
 * @param terms How the caller names the deadline and the probes.
 * @returns The plan in milliseconds.
 * @throws {RangeError} If the deadline is too short for the probes, or either is not a valid number.
 */
export function planDeadline(
  timeoutMs: unknown,
  probes: unknown,
  terms: Terms,
): KeepalivePlan & { userTimeoutMs: number } {
  if (typeof probes !== "number" || !Number.isInteger(probes) || probes < 1) {
    throw new RangeError(
      `${nameOf(terms, "probes")} must be an integer of at least 1; got ${given(terms, "probes", probes, false)}`,
    );
  }
  const leastMs = (probes + 1) * 1000;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < leastMs) {
    const what = terms === API_TERMS ? "a finite number" : terms.time;
    throw new RangeError(
      `${nameOf(terms, "timeoutMs")} must be ${what} of at least ${
        terms.duration(leastMs)
      } (${probes} probes 1 s apart after 1 s idle); got ${given(terms, "timeoutMs", timeoutMs, true)}`,
    );
  }
  const seconds = Math.floor(timeoutMs / 1000);
  const interval = Math.max(1, Math.floor((seconds - Math.max(2, Math.floor(seconds / 4))) / probes));
  return {
    idleMs: (seconds - interval * probes) * 1000,
    intervalMs: interval * 1000,
    count: probes,
    userTimeoutMs: Math.floor(timeoutMs),
  };
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
  return planIn(timeoutMs, options, API_TERMS);
}

/**
 * {@linkcode planKeepalive} in the caller's terms.
 *
 * @param timeoutMs The deadline.
 * @param options `probes` and `os`.
 * @param terms How the caller names the deadline and the probes.
 * @returns The plan.
 */
export function planIn(
  timeoutMs: number,
  options: { probes?: number; os?: KeepaliveOs },
  terms: Terms,
): KeepalivePlan {
  checkKeys("planKeepalive's options", options, PLAN_KEYS, " (the probe count is probes)");
  const probes = options.probes ?? DEFAULT_PROBES;
  const plan = planDeadline(timeoutMs, probes, terms);
  if (options.os === undefined) return plan;
  const platform = platformFor(options.os);
  const writes = planWrites({ timeoutMs, count: probes }, platform, terms);
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
  terms: Terms,
): Write {
  const field = option.field === "enabled" ? "enable" : option.field;
  if (option.unit === "bool") {
    if (typeof value !== "boolean") {
      throw new TypeError(`${nameOf(terms, field)} must be true or false; got ${describe(value)}`);
    }
    return { option, value: value ? 1 : 0 };
  }
  const [low, high] = rangeOf(option);
  const integral = option.unit === "count";
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < low || value > high ||
    (integral && !Number.isInteger(value))
  ) {
    const kind = integral ? "an integer" : terms.time;
    const show = integral ? String : terms.duration;
    const unit = option.unit === "s" ? " s, in whole seconds; values round up" : option.unit === "ms" ? " ms" : "";
    const Kind = typeof value === "number" ? RangeError : TypeError;
    const origin = plannedFrom === undefined
      ? ""
      : ` (planned from ${nameOf(terms, "timeoutMs")} ${given(terms, "timeoutMs", plannedFrom, true)})`;
    // A planned value was never typed: it is shown in the caller's units.
    const got = plannedFrom === undefined ? given(terms, field, value, !integral) : show(value as number);
    throw new Kind(
      `${nameOf(terms, field)}${origin} must be ${kind} from ${show(low)} to ${
        show(high)
      } (${platform.name} ${option.name} takes ${option.min}..${option.max}${unit}); got ${got}`,
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
 * @param terms How the caller names fields and values (default: the API's).
 * @returns One write per field asked for, in the kernel's units.
 * @throws {TypeError} On options that are not a plain object, an unknown key, a wrong type, or `timeoutMs` with
 *   a field it plans.
 * @throws {RangeError} On a value outside the platform's limits.
 */
export function planWrites(
  options: KeepaliveOptions | undefined,
  platform: Platform,
  terms: Terms = API_TERMS,
): Write[] {
  if (options === undefined) options = {};
  checkKeys("options", options, OPTION_KEYS);
  // Only an absent `enable` means on: null is a mistake, not a default.
  const asked: Record<string, unknown> = { ...options, enabled: options.enable === undefined ? true : options.enable };
  const plannedFrom = options.timeoutMs;
  if (plannedFrom !== undefined) {
    const clash = PLANNED_FIELDS.find((field) => options[field] !== undefined);
    if (clash) {
      throw new TypeError(
        `${nameOf(terms, "timeoutMs")} plans ${nameOf(terms, clash)}; give one or the other, not both`,
      );
    }
    // The probes to plan with are the count asked for, and named so.
    const probesNamed = { ...terms, names: { probes: nameOf(terms, "count"), ...terms.names } };
    Object.assign(asked, planDeadline(plannedFrom, options.count ?? DEFAULT_PROBES, probesNamed));
  }
  for (const [field, why] of Object.entries(platform.missing)) {
    // Asked for by name it is an error; planned from timeoutMs it is left out.
    if (options[field as keyof KeepaliveOptions] !== undefined) {
      throw new TypeError(`${nameOf(terms, field as Field)} is not supported on ${platform.name}: ${why}`);
    }
  }
  return platform.options
    .filter((option) => asked[option.field] !== undefined)
    .map((option) =>
      toWrite(platform, option, asked[option.field], option.unit === "bool" ? undefined : plannedFrom, terms)
    );
}

/**
 * Checks the sweeps' options: `everyMs`, their period.
 *
 * @param sweeps What the caller passed.
 * @param terms How the caller names the period.
 * @returns The period, 1000 ms if not given.
 * @throws {TypeError} If they are not a plain object of `everyMs`.
 * @throws {RangeError} If the period is not a whole number of milliseconds in range.
 */
export function checkSweeps(sweeps: unknown, terms: Terms = API_TERMS): number {
  checkKeys("autoKeepalive's sweeps", sweeps, SWEEP_KEYS);
  const { everyMs = 1000 } = sweeps as { everyMs?: unknown };
  const [low, high] = EVERY_MS_RANGE;
  if (typeof everyMs !== "number" || !Number.isInteger(everyMs) || everyMs < low || everyMs > high) {
    const kind = terms === API_TERMS ? "an integer" : `${terms.time}, in whole milliseconds,`;
    throw new RangeError(
      `${nameOf(terms, "everyMs")} must be ${kind} from ${terms.duration(low)} to ${terms.duration(high)}; got ${
        given(terms, "everyMs", everyMs, true)
      }`,
    );
  }
  return everyMs;
}

/**
 * Checks a process id.
 *
 * @param pid What the caller passed.
 * @param terms How the caller names it.
 * @returns It, checked.
 * @throws {RangeError} If it is not an integer that a `pid_t` holds, above 0.
 */
export function checkPid(pid: unknown, terms: Terms = API_TERMS): number {
  const [low, high] = PID_RANGE;
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid < low || pid > high) {
    throw new RangeError(
      `${nameOf(terms, "pid")} must be an integer from ${low} to ${high} (a process id); got ${
        given(terms, "pid", pid, false)
      }`,
    );
  }
  return pid;
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
