/**
 * The runtime-free part: plan keepalive from a deadline, for any OS, under any
 * JavaScript runtime (Node too).
 *
 * @example Plan for Windows from Node
 * ```ts
 * import { planKeepalive } from "./plan.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * deepEqual(planKeepalive(30_000, { os: "windows" }), {
 *   idleMs: 10_000, intervalMs: 2_000, count: 10, userTimeoutMs: 30_000, // TCP_MAXRT, whole seconds
 * });
 * ```
 *
 * @module
 */
export { planKeepalive } from "./options/mod.ts";
export type { KeepaliveOs, KeepalivePlan } from "./types/mod.ts";
