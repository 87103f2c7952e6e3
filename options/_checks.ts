/**
 * The checks of input that is not keepalive options: the shape of an options
 * object, the sweeps' period and budget, a process id, and whether this OS can reach
 * another process's sockets.
 *
 * @module
 */
import { describe, isPlainObject } from "./_describe.ts";
import { API_TERMS, given, nameOf, type Terms } from "./_terms.ts";
import type { Platform } from "../platforms/mod.ts";
import type { SweepOptions } from "../types/mod.ts";

const SWEEP_KEYS = ["everyMs", "cpuPercent"];
/** The sweeps' period: often enough to matter, at most what a timer takes (a 32-bit signed count of ms). */
const EVERY_MS_RANGE = [10, 2 ** 31 - 1] as const;
/** The sweeps' budget, in percent of one core: a hundredth of a percent is a sweep of 10 ms every 100 s. */
const CPU_PERCENT_RANGE = [0.01, 100] as const;
/** A `pid_t`: a C `int`, so nothing past 32 bits is wrapped round to another process. */
const PID_RANGE = [1, 2 ** 31 - 1] as const;

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
  if (typeof everyMs !== "number" || !Number.isInteger(everyMs) || everyMs < low || everyMs > high) {
    throw new RangeError(
      `${nameOf(terms, "everyMs")} must be ${terms.wholeMs} from ${terms.duration(low)} to ${
        terms.duration(high)
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
