/**
 * `keepalive plan <deadline>`: what `planKeepalive` gives each OS, and how soon
 * each notices a dead peer.
 *
 * @module
 */
import type { KeepaliveOs } from "../mod.ts";
import { planIn, type Terms } from "../options/mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf, typedFields } from "./_flags.ts";
import { asUsage, flagTerms, formatDuration, parseCount, parseDurationFlag, printJson, table } from "./_format.ts";

const SYSTEMS: [KeepaliveOs, string][] = [
  ["linux", "Linux"],
  ["darwin", "macOS"],
  ["freebsd", "FreeBSD"],
  ["windows", "Windows"],
];

/**
 * Prints the plan for every OS.
 *
 * @param timeoutMs The deadline.
 * @param probes The probe count to plan with.
 * @param terms How the deadline and the count were typed, for a refusal.
 * @param json Whether to print JSON.
 * @returns The exit code.
 * @throws {RangeError} If a plan is out of an OS's limits, in the flags' terms.
 */
export function plan(timeoutMs: number, probes: number | undefined, terms: Terms, json: boolean): number {
  const plans = SYSTEMS.map(([os, name]) => {
    const p = planIn(timeoutMs, { probes, os }, terms);
    // An idle connection: probes start after idle; one with data in flight: the user timeout, if the OS has one.
    return { os, name, ...p, idleDetectMs: p.idleMs + p.intervalMs * p.count, dataDetectMs: p.userTimeoutMs };
  });
  if (json) {
    const byOs = Object.fromEntries(plans.map(({ os, name: _, ...p }) => [os, p]));
    printJson({ timeoutMs, probes: plans[0]!.count, ...byOs });
    return 0;
  }
  console.log(`deadline ${formatDuration(timeoutMs)}, ${plans[0]!.count} probes\n`);
  console.log(table([
    ["", "idle", "interval", "count", "user timeout", "dead peer found: idle", "with unacknowledged data"],
    ...plans.map((p) => [
      p.name,
      formatDuration(p.idleMs),
      formatDuration(p.intervalMs),
      String(p.count),
      p.userTimeoutMs === undefined ? "none" : formatDuration(p.userTimeoutMs),
      formatDuration(p.idleDetectMs),
      p.dataDetectMs === undefined ? "system retransmission limit" : formatDuration(p.dataDetectMs),
    ]),
  ]));
  console.log(
    "\nWindows before 10 1703 has no TCP_KEEPCNT: it always sends 10 probes. Linux's retransmission limit" +
      " (tcp_retries2 = 15) is about 15 min.",
  );
  return 0;
}

/** `keepalive plan`. */
export const planCommand: Command<{ count: "string" }> = {
  name: "plan",
  summary: "plan <deadline>     the settings a dead-peer deadline gives Linux, macOS, FreeBSD and Windows",
  usage: `usage: keepalive plan <deadline> [--count N] [--json]

The settings planKeepalive derives from one dead-peer deadline on each OS, and
how soon a dead peer is noticed, idle and with unacknowledged data.

  --count N   probes to plan with (default 10, the count Windows fixes)

example:
  keepalive plan 2m --count 5`,
  flags: { count: "string" },
  run({ values, args, json }) {
    const [deadline] = argumentsOf("plan", args, ["deadline"] as const);
    const timeoutMs = parseDurationFlag("the deadline", deadline);
    const probes = values.count === undefined ? undefined : parseCount("--count", values.count);
    const terms = flagTerms({ ...typedFields(values), timeoutMs: deadline }, { timeoutMs: "the deadline" });
    return asUsage(() => plan(timeoutMs, probes, terms, json));
  },
};
