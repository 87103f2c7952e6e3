/**
 * The checks of input that is not keepalive options: the shape of an options
 * object, the sweeps' period and budget, a process id, a cgroup's or a
 * network namespace's path, and whether this OS can reach another process's
 * sockets.
 *
 * @module
 */
import { describe, isPlainObject } from "./_describe.ts";
import { API_TERMS, given, nameOf, type Terms } from "./_terms.ts";
import { cString, unencodable } from "./_text.ts";
import type { Platform } from "../platforms/mod.ts";
import type { SweepOptions } from "../types/mod.ts";

const SWEEP_KEYS = ["everyMs", "cpuPercent"];
/** The sweeps' period: often enough to matter, at most what a timer takes (a 32-bit signed count of ms). */
const EVERY_MS_RANGE = [10, 2 ** 31 - 1] as const;
/** The sweeps' budget, in percent of one core: a hundredth of a percent is a sweep of 10 ms every 100 s. */
const CPU_PERCENT_RANGE = [0.01, 100] as const;
/** A `pid_t`: a C `int`, so nothing past 32 bits is wrapped round to another process. */
const PID_RANGE = [1, 2 ** 31 - 1] as const;

/** The longest owner's name of a cgroup's programs, in bytes of UTF-8: what the program records. */
export const OWNER_BYTES = 64;

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
  // Symbols too: a key nobody reads is a mistake, whatever its kind.
  for (const key of Reflect.ownKeys(options)) {
    if (typeof key === "symbol") {
      throw new TypeError(`unknown option ${String(key)}; options are ${known.join(", ")}`);
    }
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
 * Checks the sweeps' options: `everyMs`, their period, and `cpuPercent`, their budget.
 *
 * @param sweeps What the caller passed.
 * @param terms How the caller names them.
 * @returns Both, with their defaults (1000 ms, 0.8%) where not given.
 * @throws {TypeError} If they are not a plain object of `everyMs` and `cpuPercent`.
 * @throws {RangeError} If the period is not a whole number of milliseconds in range, or the budget not in range.
 */
export function checkSweeps(sweeps: unknown, terms: Terms = API_TERMS): Required<SweepOptions> {
  checkKeys("autoKeepalive's sweeps", sweeps, SWEEP_KEYS);
  const { everyMs = 1000, cpuPercent = 0.8 } = sweeps as { everyMs?: unknown; cpuPercent?: unknown };
  const [low, high] = EVERY_MS_RANGE;
  // Infinity: no sweep on a timer at all, only the sockets the runtime announces, and a sweep when asked.
  if (
    typeof everyMs !== "number" ||
    everyMs !== Infinity && (!Number.isInteger(everyMs) || everyMs < low || everyMs > high)
  ) {
    throw new RangeError(
      `${nameOf(terms, "everyMs")} must be ${terms.wholeMs} from ${terms.duration(low)} to ${terms.duration(high)}${
        terms === API_TERMS ? ", or Infinity for no sweep on a timer" : ""
      }; got ${given(terms, "everyMs", everyMs, true)}`,
    );
  }
  const [least, most] = CPU_PERCENT_RANGE;
  // `!(a >= b)` is true of NaN too.
  if (typeof cpuPercent !== "number" || !(cpuPercent >= least) || !(cpuPercent <= most)) {
    throw new RangeError(
      `${nameOf(terms, "cpuPercent")} must be ${terms.percent} from ${terms.percentOf(least)} to ${
        terms.percentOf(most)
      }; got ${given(terms, "cpuPercent", cpuPercent, false)}`,
    );
  }
  return { everyMs, cpuPercent };
}

/**
 * Checks a process id, and that this OS can take another process's sockets.
 *
 * @param pid What the caller passed.
 * @param terms How the caller names it.
 * @returns It, checked.
 * @throws {RangeError} If it is not an integer that a `pid_t` holds, above 0.
 * @throws {Error} On an OS without `pidfd_getfd` (every one but Linux).
 */
export function checkPid(pid: unknown, platform: Platform, terms: Terms = API_TERMS): number {
  const [low, high] = PID_RANGE;
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid < low || pid > high) {
    throw new RangeError(
      `${nameOf(terms, "pid")} must be an integer from ${low} to ${high} (a process id); got ${
        given(terms, "pid", pid, false)
      }`,
    );
  }
  if (!platform.pidfd) {
    throw new Error(`setProcessKeepalive is Linux only (pidfd_getfd); this is ${platform.name}`);
  }
  return pid;
}

/** What is wrong with a path meant for the kernel: not a string, not absolute, or not its text; `undefined` if fine. */
function pathProblem(path: unknown): string | undefined {
  return typeof path !== "string"
    ? "it is not a string"
    : !path.startsWith("/")
    ? "it is not absolute"
    : unencodable(path);
}

/**
 * Checks a cgroup directory's path: absolute, and text the kernel takes as it is (no NUL, no lone surrogate, which
 * would name another directory); `.`, `..` and repeated or trailing slashes are resolved as the kernel would.
 *
 * @param path What the caller passed.
 * @param terms How the caller names it.
 * @returns The path, normalized.
 * @throws {TypeError} If it is not such a path.
 */
export function checkPath(path: unknown, terms: Terms = API_TERMS): string {
  const why = pathProblem(path);
  if (why !== undefined) {
    throw new TypeError(
      `${
        nameOf(terms, "path")
      } must be the absolute path of a cgroup v2 directory, such as /sys/fs/cgroup/app.slice; got ${
        given(terms, "path", path, false)
      }: ${why}`,
    );
  }
  const parts: string[] = [];
  for (const part of (path as string).split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The settings of a cgroup's programs, checked. */
export interface CgroupSettings {
  enforce?: boolean;
  root?: boolean;
  all?: boolean;
  owner?: string;
}

/**
 * Checks the settings of a cgroup call: its flags, and the owner's name its programs record.
 *
 * @param what The argument, for errors.
 * @param settings What the caller passed.
 * @param keys The settings this call takes.
 * @param terms How the caller names the owner.
 * @returns Them, checked.
 * @throws {TypeError} On another key, a flag that is not a boolean, or an owner's name that is not 1 to 64 bytes of
 *   UTF-8.
 */
export function checkCgroupSettings(
  what: string,
  settings: unknown,
  keys: readonly (keyof CgroupSettings)[],
  terms: Terms = API_TERMS,
): CgroupSettings {
  checkKeys(what, settings, keys);
  const given_ = settings as Record<string, unknown>;
  for (const key of keys) {
    if (key !== "owner" && given_[key] !== undefined && typeof given_[key] !== "boolean") {
      throw new TypeError(`${key} must be true or false; got ${describe(given_[key])}`);
    }
  }
  const owner = given_.owner;
  if (owner !== undefined) {
    const why = typeof owner !== "string" ? "it is not a string" : owner === "" ? "it is empty" : unencodable(owner) ??
      (cString(owner).length - 1 > OWNER_BYTES ? `it is ${cString(owner).length - 1} bytes` : undefined);
    if (why !== undefined) {
      throw new TypeError(
        `${nameOf(terms, "owner")} must be a name of 1 to ${OWNER_BYTES} bytes of UTF-8; got ${
          given(terms, "owner", owner, false)
        }: ${why}`,
      );
    }
  }
  return given_ as CgroupSettings;
}

/** What {@linkcode checkNetnsInspection} passes: the namespace file, and the threshold. */
export interface NetnsInspection {
  path: string | undefined;
  overMs: number | undefined;
}

/**
 * Checks what `inspectNetns` takes, before any call: a namespace file's absolute path, or none for the caller's own
 * network namespace; and `overMs`, a duration of 0 or more.
 *
 * @param path What the caller passed as the namespace.
 * @param settings What the caller passed as settings.
 * @param terms How the caller names them.
 * @returns Both, checked.
 * @throws {TypeError | RangeError} Naming the field, the value and what is allowed.
 */
export function checkNetnsInspection(path: unknown, settings: unknown, terms: Terms = API_TERMS): NetnsInspection {
  checkKeys("inspectNetns's settings", settings, ["overMs"]);
  if (path !== undefined) {
    const why = pathProblem(path);
    if (why !== undefined) {
      throw new TypeError(
        `${
          nameOf(terms, "netns")
        } must be the absolute path of a network namespace file, such as /proc/PID/ns/net or /run/netns/NAME; got ${
          given(terms, "netns", path, false)
        }: ${why}`,
      );
    }
  }
  const { overMs } = settings as { overMs?: unknown };
  if (overMs !== undefined && (typeof overMs !== "number" || !Number.isFinite(overMs) || overMs < 0)) {
    throw new RangeError(
      `${nameOf(terms, "overMs")} must be ${terms.finiteTime} of 0 or more; got ${
        given(terms, "overMs", overMs, true)
      }`,
    );
  }
  return { path: path as string | undefined, overMs: overMs as number | undefined };
}
