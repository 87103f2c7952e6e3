/**
 * Pure: what a person reads first of a host's connections, counted from the
 * sockets: how many, how many with keepalive off, and how long an idle dead
 * peer would go unseen, in buckets that mean something to an operator
 * (350 s is AWS's NAT idle timeout; 2 h is Linux's default idle time), by the
 * cgroup each connection was made in.
 *
 * @module
 */

/** A bucket: the connections whose idle dead peer would be found within `upToMs` (and after the bucket before). */
export interface UnseenBucket {
  /** As a person reads it: `"≤ 30 s"`, `"> 2 h"`, `"never"`. */
  readonly label: string;
  /** The bucket's upper bound; `null` for `"> 2 h"` (no bound) and `"never"` (keepalive off). */
  readonly upToMs: number | null;
  /** How many connections. */
  count: number;
}

/** The buckets' bounds and labels, in order. */
export const UNSEEN_BUCKETS: readonly { readonly label: string; readonly upToMs: number | null }[] = [
  { label: "≤ 30 s", upToMs: 30_000 },
  { label: "≤ 2 min", upToMs: 120_000 },
  { label: "≤ 350 s", upToMs: 350_000 },
  { label: "≤ 2 h", upToMs: 7_200_000 },
  { label: "> 2 h", upToMs: null },
  { label: "never", upToMs: null },
];

/** Counts of some connections. */
export interface ConnectionCounts {
  /** Connections: TCP sockets that are neither listeners nor request or time-wait sockets. */
  connections: number;
  /** Of them, those with keepalive off. */
  keepaliveOff: number;
  /** Of them, how many in each bucket of how long an idle dead peer would go unseen. */
  unseen: UnseenBucket[];
}

/** What a person reads first: every socket counted, and the connections by cgroup. */
export interface SocketSummary extends ConnectionCounts {
  /** Every TCP socket read. */
  sockets: number;
  /** Of them, listeners. */
  listeners: number;
  /** The connections of each cgroup they were made in, most first; `cgroup` `undefined` where it is not known. */
  byCgroup: (ConnectionCounts & { cgroup: string | undefined })[];
}

/** What the summary reads of a socket. */
export interface Summarized {
  readonly state: string;
  /** `undefined` for a request or time-wait socket, which holds no options. */
  readonly settings: { readonly enabled: boolean } | undefined;
  /** How soon an idle dead peer would be found; `undefined` with keepalive off. */
  readonly deadPeerMs: number | undefined;
  readonly cgroup: string | undefined;
}

/** Whether a socket is a connection to count: not a listener, and holding options. */
export function isConnection(socket: Pick<Summarized, "state" | "settings">): boolean {
  return socket.state !== "listen" && socket.settings !== undefined;
}

/**
 * How long an idle dead peer of a connection would go unseen, in milliseconds: `Infinity` with keepalive off.
 *
 * @example Linux's defaults, and keepalive off
 * ```ts
 * import { unseenMs } from "./_summary.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(unseenMs({ deadPeerMs: 7_875_000 }), 7_875_000);
 * equal(unseenMs({ deadPeerMs: undefined }), Infinity);
 * ```
 */
export function unseenMs(socket: Pick<Summarized, "deadPeerMs">): number {
  return socket.deadPeerMs ?? Infinity;
}

function counts(): ConnectionCounts {
  return { connections: 0, keepaliveOff: 0, unseen: UNSEEN_BUCKETS.map((bucket) => ({ ...bucket, count: 0 })) };
}

function add(into: ConnectionCounts, socket: Summarized): void {
  into.connections++;
  const ms = unseenMs(socket);
  if (ms === Infinity) {
    into.keepaliveOff++;
    into.unseen[into.unseen.length - 1]!.count++;
    return;
  }
  const at = UNSEEN_BUCKETS.findIndex(({ upToMs }) => upToMs === null || ms <= upToMs);
  into.unseen[at]!.count++;
}

/**
 * Counts sockets one at a time, as they stream by, keeping none: every socket, listeners, and the connections in
 * buckets, all and by cgroup.
 *
 * @example Two connections and a listener
 * ```ts
 * import { SummaryCounter } from "./_summary.ts";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const on = { enabled: true };
 * const counter = new SummaryCounter();
 * counter.add({ state: "listen", settings: on, deadPeerMs: 7_875_000, cgroup: "/a" });
 * counter.add({ state: "established", settings: on, deadPeerMs: 20_000, cgroup: "/a" });
 * counter.add({ state: "established", settings: { enabled: false }, deadPeerMs: undefined, cgroup: "/b" });
 * const summary = counter.summary();
 * equal(summary.listeners, 1);
 * equal(summary.connections, 2);
 * equal(summary.keepaliveOff, 1);
 * deepEqual(summary.unseen.map(({ count }) => count), [1, 0, 0, 0, 0, 1]);
 * deepEqual(summary.byCgroup.map(({ cgroup, connections }) => [cgroup, connections]), [["/a", 1], ["/b", 1]]);
 * ```
 */
export class SummaryCounter {
  #all = counts();
  #byCgroup = new Map<string | undefined, ConnectionCounts>();
  #sockets = 0;
  #listeners = 0;

  /** Counts one socket. */
  add(socket: Summarized): void {
    this.#sockets++;
    if (socket.state === "listen") this.#listeners++;
    if (!isConnection(socket)) return;
    add(this.#all, socket);
    let group = this.#byCgroup.get(socket.cgroup);
    if (!group) this.#byCgroup.set(socket.cgroup, group = counts());
    add(group, socket);
  }

  /** What was counted: the cgroups most connections first. */
  summary(): SocketSummary {
    return {
      sockets: this.#sockets,
      listeners: this.#listeners,
      ...this.#all,
      byCgroup: [...this.#byCgroup].map(([cgroup, group]) => ({ cgroup, ...group }))
        .sort((a, b) => b.connections - a.connections || String(a.cgroup).localeCompare(String(b.cgroup))),
    };
  }
}
