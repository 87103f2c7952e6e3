/**
 * The one planner of a dead-peer deadline, behind both the public
 * `planKeepalive` and the options it plans for `setKeepalive`.
 *
 * @module
 */
import { given, nameOf, type Terms } from "./_terms.ts";
import type { KeepalivePlan } from "../types/mod.ts";

/** The probes planned with when none are asked for: the count Windows fixes. */
export const DEFAULT_PROBES = 10;

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
    throw new RangeError(
      `${nameOf(terms, "timeoutMs")} must be ${terms.finiteTime} of at least ${
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
