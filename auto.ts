/**
 * Importing this module starts {@linkcode autoKeepalive} from the
 * environment variable `TCP_KEEPALIVE`, so that an application is configured
 * without a line of its code changed:
 *
 * ```sh
 * TCP_KEEPALIVE=30s deno run --preload=jsr:@tcp-keepalive/tcp-keepalive/auto --allow-ffi --allow-env=TCP_KEEPALIVE app.ts
 * TCP_KEEPALIVE=30s bun --preload tcp-keepalive/auto app.ts
 * TCP_KEEPALIVE=30s node --import tcp-keepalive/auto app.js
 * ```
 *
 * `TCP_KEEPALIVE` is written as the command line's flags are: `30s` (a
 * dead-peer deadline, planned), or `idle=10s,interval=2s,count=3,user-timeout=30s`,
 * either with `every=500ms` for the period of the sweeps and `cpu=0.5%` for
 * the most of one core they may take. A malformed value
 * fails at start, naming the variable and the part that is wrong in its own
 * spelling and units; an unset or empty one (`TCP_KEEPALIVE=`, common in
 * compose files) does nothing, and says so once.
 *
 * Node runs the preload in every `worker_threads` thread too: each thread's
 * `node:net` sockets are configured as they connect, and only the main
 * thread sweeps.
 *
 * @module
 */
import { environment, mainThread, os } from "./runtime/mod.ts";
import { type AutoKeepalive, autoKeepalive } from "./mod.ts";
import { parseVariable } from "./options/mod.ts";
import { platformFor } from "./platforms/mod.ts";

/**
 * The variable read.
 *
 * @example Its name
 * ```ts
 * import { VARIABLE } from "./auto.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(VARIABLE, "TCP_KEEPALIVE");
 * ```
 */
export const VARIABLE = "TCP_KEEPALIVE";

const text = environment(VARIABLE)?.trim() || undefined;
if (text === undefined && mainThread()) {
  console.error(`tcp-keepalive/auto: ${VARIABLE} is not set or empty, so no socket is configured`);
}

/**
 * The sweeps started from `TCP_KEEPALIVE`; `undefined` if it is not set.
 *
 * @example Stopping them, for a part of the program that must not be swept
 * ```ts
 * import { auto, VARIABLE } from "./auto.ts";
 * import { equal } from "node:assert/strict";
 *
 * equal(auto === undefined, !Deno.env.get(VARIABLE)?.trim());
 * auto?.stop();
 * ```
 */
export const auto: AutoKeepalive | undefined = text === undefined ? undefined : (() => {
  const { options, sweeps } = parseVariable(VARIABLE, text, platformFor(os));
  // Node runs the preload in each worker thread too: there it configures the thread's own node:net sockets as they
  // connect (diagnostics_channel is per thread), and leaves the sweeps of the process's descriptors to the main one.
  return autoKeepalive(options, mainThread() ? sweeps : { ...sweeps, everyMs: Infinity });
})();
