/**
 * Options checked against a platform's limits and turned into the writes to
 * make, in the kernel's units; and the kernel's values back into settings in
 * milliseconds. Nothing here touches a socket.
 *
 * @module
 */
import { checkKeys } from "./_checks.ts";
import { describe } from "./_describe.ts";
import { DEFAULT_PROBES, planDeadline } from "./_deadline.ts";
import { API_TERMS, given, nameOf, type Terms } from "./_terms.ts";
import type { KeepaliveOptions, KeepaliveSettings } from "../types/mod.ts";
import type { Platform, SocketOption, Unit } from "../platforms/mod.ts";

/** One option to write, in the kernel's unit. */
export interface Write {
  /** The option. */
  readonly option: SocketOption;
  /** The value in the option's unit. */
  readonly value: number;
}

/** The kernel's values in the platform's option order; `undefined` where the OS cannot report one. */
export type Values = (number | undefined)[];

const OPTION_KEYS: readonly (keyof KeepaliveOptions)[] = [
  "enable",
  "idleMs",
  "intervalMs",
  "count",
  "userTimeoutMs",
  "timeoutMs",
];
/** The options that are settings too, so that an OS can lack them. */
const SETTING_OPTIONS = ["idleMs", "intervalMs", "count", "userTimeoutMs"] as const;
const PLANNED_FIELDS = ["idleMs", "intervalMs", "userTimeoutMs"] as const;
const MS_PER: Record<Unit, number> = { bool: 1, count: 1, s: 1000, ms: 1 };

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
  // A count, and a time the kernel keeps in milliseconds: a fraction would be rounded without a word.
  const integral = option.unit === "count" || (option.unit === "ms" && plannedFrom === undefined);
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < low || value > high ||
    (integral && !Number.isInteger(value))
  ) {
    const kind = option.unit === "count" ? "an integer" : integral ? terms.wholeMs : terms.time;
    const show = option.unit === "count" ? String : terms.duration;
    const unit = option.unit === "s" ? " s, in whole seconds; values round up" : option.unit === "ms" ? " ms" : "";
    const Kind = typeof value === "number" ? RangeError : TypeError;
    const origin = plannedFrom === undefined
      ? ""
      : ` (planned from ${nameOf(terms, "timeoutMs")} ${given(terms, "timeoutMs", plannedFrom, true)})`;
    // A planned value was never typed: it is shown in the caller's units.
    const got = plannedFrom === undefined ? given(terms, field, value, option.unit !== "count") : show(value as number);
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
 * @throws {TypeError} On options that are not a plain object (`undefined` too), an unknown key, a wrong type, or
 *   `timeoutMs` with a field it plans.
 * @throws {RangeError} On a value outside the platform's limits.
 */
export function planWrites(
  options: KeepaliveOptions,
  platform: Platform,
  terms: Terms = API_TERMS,
): Write[] {
  // Undefined too: `setKeepalive(socket, config.keepalive)` with the config missing is a mistake, not a default.
  checkKeys("options", options, OPTION_KEYS);
  // Only an absent `enable` means on: null is a mistake, not a default.
  const asked: Partial<Record<keyof KeepaliveSettings, unknown>> = {
    enabled: options.enable === undefined ? true : options.enable,
    idleMs: options.idleMs,
    intervalMs: options.intervalMs,
    count: options.count,
    userTimeoutMs: options.userTimeoutMs,
  };
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
  for (const field of SETTING_OPTIONS) {
    // Asked for by name it is an error; planned from timeoutMs it is left out.
    const why = platform.missing[field];
    if (why !== undefined && options[field] !== undefined) {
      throw new TypeError(`${nameOf(terms, field)} is not supported on ${platform.name}: ${why}`);
    }
  }
  const writes: Write[] = [];
  for (const option of platform.socketOptions) {
    const value = asked[option.field];
    if (value !== undefined) {
      writes.push(toWrite(platform, option, value, option.unit === "bool" ? undefined : plannedFrom, terms));
    }
  }
  return writes;
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
  // Every field, in one order, undefined where the platform has no option for it.
  const settings: Record<keyof KeepaliveSettings, number | boolean | undefined> = {
    enabled: undefined,
    idleMs: undefined,
    intervalMs: undefined,
    count: undefined,
    userTimeoutMs: undefined,
  };
  for (let i = 0; i < platform.socketOptions.length; i++) {
    const option = platform.socketOptions[i]!;
    const value = values[i];
    if (value !== undefined) {
      settings[option.field] = option.unit === "bool" ? value !== 0 : value * MS_PER[option.unit];
    }
  }
  return settings as KeepaliveSettings;
}

/**
 * Writes in the order the kernel needs them from a BPF program: keepalive on first, since the idle time only rearms a
 * timer that runs.
 *
 * @param writes The writes, in any order.
 * @returns `SO_KEEPALIVE`'s first, the others after in their order.
 */
export function keepaliveFirst(writes: readonly Write[]): Write[] {
  return [...writes.filter((w) => w.option.unit === "bool"), ...writes.filter((w) => w.option.unit !== "bool")];
}

/**
 * How soon an idle dead peer would be found with these settings: `idleMs + intervalMs * count`.
 *
 * @example Linux's defaults
 * ```ts
 * import { deadPeerMs } from "./_writes.ts";
 * import { equal } from "node:assert/strict";
 *
 * const defaults = { enabled: true, idleMs: 7_200_000, intervalMs: 75_000, count: 9, userTimeoutMs: 0 };
 * equal(deadPeerMs(defaults), 7_875_000);
 * equal(deadPeerMs({ ...defaults, enabled: false }), undefined);
 * ```
 *
 * @param settings What a socket holds; `undefined` for one that holds no options.
 * @returns The milliseconds; `undefined` with keepalive off, or a value the OS cannot report.
 */
export function deadPeerMs(settings: KeepaliveSettings | undefined): number | undefined {
  if (!settings?.enabled) return undefined;
  const { idleMs, intervalMs, count } = settings;
  return idleMs !== undefined && intervalMs !== undefined && count !== undefined
    ? idleMs + intervalMs * count
    : undefined;
}
