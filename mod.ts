/**
 * TCP keepalive you can tune from Deno and Bun: idle time, probe interval,
 * probe count and the user timeout, set through the C library with FFI on any
 * socket, listener or server, and read back from the kernel.
 *
 * Needs `--allow-ffi` under Deno, and nothing else: the descriptor of a Deno
 * socket, which Deno does not hand out, is found through the C library too.
 * To scope the permission, allow the library's absolute path, such as
 * `--allow-ffi=/lib/x86_64-linux-gnu/libc.so.6`.
 *
 * @example Find a dead peer in 30 seconds instead of 2 hours 11 minutes
 * ```ts
 * import { getKeepalive, setKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * setKeepalive(conn, { timeoutMs: 30_000 });
 * deepEqual(getKeepalive(conn), {
 *   idleMs: 10_000, intervalMs: 2_000, count: 10, userTimeoutMs: 30_000, enabled: true,
 * });
 * conn.close();
 * listener.close();
 * ```
 *
 * @module
 */
import { applyKeepalive, readKeepalive } from "./_keepalive.ts";
import { os, syscalls } from "./ffi/mod.ts";
import { platformFor } from "./platforms/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings, KeepaliveTarget } from "./_types.ts";

export { KeepaliveError, type KeepaliveErrorInit } from "./_errors.ts";
export { planKeepalive } from "./_options.ts";
export { VERSION } from "./_version.ts";
export type {
  KeepaliveOptions,
  KeepaliveOs,
  KeepalivePlan,
  KeepaliveSettings,
  KeepaliveTarget,
  NetAddrLike,
} from "./_types.ts";

/**
 * Sets keepalive on a TCP socket, listener or server. A listener passes its
 * settings on to every socket it accepts. Omitted fields stay as they are;
 * `enable` defaults to `true`. If one option fails, the ones already changed
 * are put back. A listener found by its address (Deno, `Bun.serve`,
 * `node:net`) is every listening socket at that address: with
 * `SO_REUSEPORT`, in this process and its Workers, they are one service.
 *
 * @param target A descriptor, or a Deno, Bun or `node:net` socket, listener or server.
 * @param options What to change, in milliseconds; idle and interval round up to whole seconds.
 * @returns The settings the socket has now.
 * @throws {TypeError} On an unknown option, a wrong type, or a target that is no socket.
 * @throws {RangeError} On a value outside the OS's limits, or a descriptor outside its range; nothing is called then.
 * @throws {KeepaliveError} If a system call fails (`EBADF`, `ENOTSOCK`, `EOPNOTSUPP`, ...), or if listeners
 *   sharing the address hold different values for a field not being set (`EADDRINUSE`).
 *
 * @example Probe after 5 s idle, every 1 s, give up after 3
 * ```ts
 * import { setKeepalive } from "./mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * deepEqual(setKeepalive(listener, { idleMs: 5_000, intervalMs: 1_000, count: 3 }), {
 *   enabled: true, idleMs: 5_000, intervalMs: 1_000, count: 3, userTimeoutMs: 0,
 * });
 * listener.close();
 * ```
 */
export function setKeepalive(target: KeepaliveTarget, options?: KeepaliveOptions): KeepaliveSettings {
  return applyKeepalive(syscalls, platformFor(os), target, options);
}

/**
 * Reads the keepalive settings a socket has, from the kernel.
 *
 * @param target A descriptor, or a Deno, Bun or `node:net` socket, listener or server.
 * @returns The settings, in milliseconds.
 * @throws {TypeError} On a target that is no socket.
 * @throws {KeepaliveError} If a system call fails.
 *
 * @example The kernel's defaults
 * ```ts
 * import { getKeepalive } from "./mod.ts";
 * import { equal } from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * equal(getKeepalive(listener).enabled, false);
 * listener.close();
 * ```
 */
export function getKeepalive(target: KeepaliveTarget): KeepaliveSettings {
  return readKeepalive(syscalls, platformFor(os), target);
}
