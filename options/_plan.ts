/**
 * The public planner: one deadline into idle, interval, count and user
 * timeout, for any OS.
 *
 * @module
 */
import { checkKeys } from "./_checks.ts";
import { DEFAULT_PROBES, planDeadline } from "./_deadline.ts";
import { API_TERMS, given, nameOf, type Terms } from "./_terms.ts";
import { planWrites, toSettings } from "./_writes.ts";
import type { KeepaliveOs, KeepalivePlan } from "../types/mod.ts";
import { platformFor } from "../platforms/mod.ts";

const PLAN_KEYS = ["probes", "os"];
/** The OSes a plan is made for, as `Deno.build.os` names them. */
const OSES: readonly KeepaliveOs[] = ["linux", "darwin", "freebsd", "windows"];

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
 * @throws {TypeError} If `options` is not a plain object of `probes` and `os`, or `os` is none of the four.
 * @throws {RangeError} If the deadline is too short for the probes, or either is not a valid number, or
 *   the plan is beyond the OS's limits.
 *
 * @example Thirty seconds
 * ```ts
 * import { planKeepalive } from "../mod.ts";
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
  const { os } = options;
  if (os !== undefined && !OSES.includes(os)) {
    const near = OSES.find((name) => typeof os === "string" && name === os.toLowerCase());
    throw new TypeError(
      `${nameOf(terms, "os")} must be one of ${
        OSES.map((name) => JSON.stringify(name)).join(", ")
      }, as Deno.build.os names them; got ${given(terms, "os", os, false)}${
        near ? ` (did you mean ${JSON.stringify(near)}?)` : ""
      }`,
    );
  }
  const plan = planDeadline(timeoutMs, probes, terms);
  if (options.os === undefined) return plan;
  const platform = platformFor(options.os);
  const writes = planWrites({ timeoutMs, count: probes }, platform, terms);
  const { idleMs, intervalMs, count, userTimeoutMs } = toSettings(
    platform,
    platform.socketOptions.map((option) => writes.find((write) => write.option === option)?.value),
  );
  return { idleMs: idleMs!, intervalMs: intervalMs!, count: count!, userTimeoutMs };
}
