/**
 * A descriptor, or a Deno, Bun or `node:net` socket, listener or server, to
 * the descriptors it names; and the calls on one such target.
 *
 * @module
 */
export { finderFor } from "./_find.ts";
export { applyKeepalive, keepaliveOff, readKeepalive, settleRuntime, tcpInfoOf } from "./_keepalive.ts";
