/**
 * Pure: what a node agent exports, in Prometheus' text format (version
 * 0.0.4): a `# HELP` and a `# TYPE` line for every family, label values
 * escaped. What the connections hold is counted from one pass over the
 * host's network namespaces ({@linkcode ObservationCounter}); what the agent
 * did, from its own counters.
 *
 * @module
 */
import { isConnection, UNSEEN_BUCKETS, unseenMs } from "../iter/mod.ts";

/** The bounds of how long an idle dead peer would go unseen, in seconds: the summary's buckets. */
const UNSEEN_BOUNDS_S = UNSEEN_BUCKETS.flatMap(({ upToMs }) => upToMs === null ? [] : [upToMs / 1000]);
/** The bounds of a reconcile pass's duration, in seconds. */
export const DURATION_BOUNDS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** A histogram: counts by bucket (the last above every bound), and the sum and count of what it saw. */
export interface Histogram {
  /** The buckets' upper bounds, rising. */
  readonly bounds: readonly number[];
  /** How many values fell in each bucket (not cumulative): one more than the bounds. */
  readonly counts: number[];
  /** The values' sum. */
  sum: number;
  /** How many values. */
  count: number;
}

/** A histogram with nothing in it. */
export function histogram(bounds: readonly number[]): Histogram {
  return { bounds, counts: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

/** Puts a value in its bucket. */
export function observe(into: Histogram, value: number): void {
  const at = into.bounds.findIndex((bound) => value <= bound);
  into.counts[at < 0 ? into.bounds.length : at]!++;
  into.sum += value;
  into.count++;
}

/** The connections of one cgroup. */
export interface CgroupConnections {
  /** With keepalive on. */
  on: number;
  /** With keepalive off: an idle dead peer never found. */
  off: number;
  /** Those whose idle dead peer would go unseen longer than the threshold, keepalive off counting as never found. */
  over: number;
}

/** What one pass read of the host's connections. */
export interface Observation {
  /** The network namespaces read. */
  readonly namespaces: number;
  /** Connections by the cgroup they were made in, as a path below the mount (`/` for the root; `?` unknown). */
  readonly byCgroup: ReadonlyMap<string, CgroupConnections>;
  /** How long an idle dead peer of a connection with keepalive on would go unseen, in seconds. */
  readonly unseen: Histogram;
}

/** What a socket is counted by. */
interface Counted {
  readonly state: string;
  readonly settings: { readonly enabled: boolean } | undefined;
  readonly deadPeerMs: number | undefined;
}

/**
 * Counts connections as a pass streams them, keeping none.
 *
 * @example A connection with keepalive on, another off
 * ```ts
 * import { ObservationCounter } from "./_metrics.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const counter = new ObservationCounter(350_000);
 * counter.add({ state: "established", settings: { enabled: true }, deadPeerMs: 29_000 }, "/a");
 * counter.add({ state: "established", settings: { enabled: false }, deadPeerMs: undefined }, "/a");
 * deepEqual(counter.result(1).byCgroup.get("/a"), { on: 1, off: 1, over: 1 });
 * ```
 */
export class ObservationCounter {
  #byCgroup = new Map<string, CgroupConnections>();
  #unseen = histogram(UNSEEN_BOUNDS_S);

  /** The threshold: how long an idle dead peer may go unseen before a connection counts as over, in milliseconds. */
  readonly overMs: number;

  /** @param overMs The threshold, in milliseconds. */
  constructor(overMs: number) {
    this.overMs = overMs;
  }

  /** Counts a socket, if it is a connection, by its cgroup. */
  add(socket: Counted, cgroup: string): void {
    if (!isConnection(socket)) return;
    let counts = this.#byCgroup.get(cgroup);
    if (!counts) this.#byCgroup.set(cgroup, counts = { on: 0, off: 0, over: 0 });
    const ms = unseenMs(socket);
    if (socket.settings!.enabled) {
      counts.on++;
      observe(this.#unseen, ms / 1000);
    } else counts.off++;
    if (ms > this.overMs) counts.over++;
  }

  /** What was counted, over `namespaces` network namespaces. */
  result(namespaces: number): Observation {
    return { namespaces, byCgroup: this.#byCgroup, unseen: this.#unseen };
  }
}

/** What the agent did, since it started. */
export interface AgentCounters {
  /** Passes over the host's cgroups. */
  passes: number;
  /** Errors in them. */
  errors: number;
  /** How long each pass took, in seconds. */
  readonly durations: Histogram;
  /** Programs put back after someone took them off, by policy. */
  readonly restored: Map<string, number>;
  /** Sockets put back to their enforced policy, by policy. */
  readonly corrected: Map<string, number>;
}

/** Counters at zero. */
export function agentCounters(): AgentCounters {
  return { passes: 0, errors: 0, durations: histogram(DURATION_BOUNDS_S), restored: new Map(), corrected: new Map() };
}

/** Everything exported. */
export interface MetricsState {
  /** This module's version. */
  readonly version: string;
  /** The threshold, in milliseconds. */
  readonly overMs: number;
  /** The last observation; `undefined` before the first. */
  readonly observation: Observation | undefined;
  /** This agent's programs attached now, by policy and kind. */
  readonly programs: ReadonlyMap<string, { sock_ops: number; setsockopt: number }>;
  /** What the agent did since it started. */
  readonly counters: AgentCounters;
  /** Whether the first pass is done. */
  readonly ready: boolean;
}

/** A label value, escaped as the format asks: backslash, double quote, line feed. */
const escaped = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (pairs: Readonly<Record<string, string>>) => {
  const text = Object.entries(pairs).map(([name, value]) => `${name}="${escaped(value)}"`).join(",");
  return text ? `{${text}}` : "";
};
/** A number as the format writes it. */
const number = (value: number) => Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "-Inf";

/** One family: its help, its type, and its samples. */
function family(
  name: string,
  type: "gauge" | "counter" | "histogram",
  help: string,
  samples: readonly (readonly [Record<string, string>, number])[],
): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([pairs, value]) => `${name}${labels(pairs)} ${number(value)}`),
  ];
}

/** A histogram's samples: the buckets, cumulative, then the sum and the count. */
function histogramFamily(name: string, help: string, h: Histogram): string[] {
  let seen = 0;
  const buckets = h.counts.map((count, i) => {
    seen += count;
    return `${name}_bucket${labels({ le: i < h.bounds.length ? String(h.bounds[i]) : "+Inf" })} ${seen}`;
  });
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...buckets,
    `${name}_sum ${number(h.sum)}`,
    `${name}_count ${h.count}`,
  ];
}

/**
 * The exposition.
 *
 * @param state What to export.
 * @returns The text, ending with a line feed.
 *
 * @example Before the first pass
 * ```ts
 * import { agentCounters, exposition } from "./_metrics.ts";
 * import { match } from "node:assert/strict";
 *
 * const text = exposition({
 *   version: "1.0.0", overMs: 350_000, observation: undefined, programs: new Map(), counters: agentCounters(), ready: false,
 * });
 * match(text, /^# HELP tcp_keepalive_info /);
 * match(text, /\ntcp_keepalive_ready 0\n/);
 * ```
 */
export function exposition(state: MetricsState): string {
  const { observation: seen, counters } = state;
  const cgroups = seen ? [...seen.byCgroup].sort(([a], [b]) => a.localeCompare(b)) : [];
  const byPolicy = (counts: ReadonlyMap<string, number>) =>
    [...counts].map(([policy, value]) => [{ policy }, value] as const);
  return [
    ...family("tcp_keepalive_info", "gauge", "The agent's version.", [[{ version: state.version }, 1]]),
    ...family("tcp_keepalive_ready", "gauge", "1 once the first pass over the host's cgroups is done.", [
      [{}, state.ready ? 1 : 0],
    ]),
    ...family(
      "tcp_keepalive_connections",
      "gauge",
      "TCP connections, by the cgroup they were made in and whether keepalive is on.",
      cgroups.flatMap(([cgroup, counts]) => [
        [{ cgroup, keepalive: "on" }, counts.on] as const,
        [{ cgroup, keepalive: "off" }, counts.off] as const,
      ]),
    ),
    ...histogramFamily(
      "tcp_keepalive_dead_peer_unseen_seconds",
      "How long an idle dead peer of a connection with keepalive on would go unseen: idle + interval x count.",
      seen?.unseen ?? histogram(UNSEEN_BOUNDS_S),
    ),
    ...family(
      "tcp_keepalive_connections_over_threshold",
      "gauge",
      "TCP connections whose idle dead peer would go unseen longer than the threshold (keepalive off: never found).",
      cgroups.map(([cgroup, counts]) => [{ cgroup }, counts.over] as const),
    ),
    ...family(
      "tcp_keepalive_threshold_seconds",
      "gauge",
      "The threshold of tcp_keepalive_connections_over_threshold.",
      [
        [{}, state.overMs / 1000],
      ],
    ),
    ...family(
      "tcp_keepalive_network_namespaces",
      "gauge",
      "Network namespaces read in the last pass over the host's connections.",
      [[{}, seen?.namespaces ?? 0]],
    ),
    ...family(
      "tcp_keepalive_programs",
      "gauge",
      "This agent's BPF programs attached, by policy and kind (sock_ops sets, setsockopt enforces).",
      [...state.programs].flatMap(([policy, kinds]) => [
        [{ policy, kind: "sock_ops" }, kinds.sock_ops] as const,
        [{ policy, kind: "setsockopt" }, kinds.setsockopt] as const,
      ]),
    ),
    ...family(
      "tcp_keepalive_programs_restored_total",
      "counter",
      "Programs put back after someone took them off, by policy.",
      byPolicy(counters.restored),
    ),
    ...family(
      "tcp_keepalive_drift_corrected_total",
      "counter",
      "Sockets of an enforced policy put back to it (a 32-bit process's own setsockopt, another program's), by policy.",
      byPolicy(counters.corrected),
    ),
    ...family("tcp_keepalive_reconcile_passes_total", "counter", "Passes over the host's cgroups.", [
      [{}, counters.passes],
    ]),
    ...family("tcp_keepalive_reconcile_errors_total", "counter", "Errors in passes over the host's cgroups.", [
      [{}, counters.errors],
    ]),
    ...histogramFamily(
      "tcp_keepalive_reconcile_duration_seconds",
      "How long a pass over the host's cgroups took.",
      counters.durations,
    ),
    "",
  ].join("\n");
}
