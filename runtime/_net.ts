/**
 * `node:net` sockets as the runtime makes them: heard of on
 * `diagnostics_channel` once connected, and their own `setKeepAlive(false)`
 * made to reach the kernel.
 *
 * @module
 */
import { builtin, runtimeName } from "./_globals.ts";

/** The part of `node:diagnostics_channel` used here. */
interface Channels {
  subscribe(name: string, onMessage: (message: unknown) => void): void;
  unsubscribe(name: string, onMessage: (message: unknown) => void): void;
}

/** A `node:net` socket, as its announcement carries it. */
interface AnnouncedSocket {
  once(event: "connect", listener: () => void): void;
}

/**
 * Hands each `node:net` socket the runtime announces on `diagnostics_channel` to `onSocket` once it is connected,
 * in the same turn of the event loop: a client's after every listener of its `'connect'` (the caller's callback,
 * and the runtime's own `setKeepAlive` applied at connect, come first), an accepted one's after its server's
 * `'connection'` listeners. Node announces every socket `node:net` makes (undici's `fetch`, `http`, `https`, `tls`,
 * `http2`, drivers), Deno those of `node:http` servers and `node:net` clients, Bun none.
 *
 * @param onSocket Given each socket, connected.
 * @returns Stops the announcements.
 */
export function announcedSockets(onSocket: (socket: object) => void): () => void {
  const channels = builtin("node:diagnostics_channel") as Channels | undefined;
  if (!channels) return () => {};
  // A microtask runs once the emit that queued it has called every listener.
  const connected = (message: unknown) => {
    const { socket } = message as { socket: AnnouncedSocket };
    socket.once("connect", () => queueMicrotask(() => onSocket(socket)));
  };
  const accepted = (message: unknown) => {
    const { socket } = message as { socket: object };
    queueMicrotask(() => onSocket(socket));
  };
  channels.subscribe("net.client.socket", connected);
  channels.subscribe("net.server.socket", accepted);
  return () => {
    channels.unsubscribe("net.client.socket", connected);
    channels.unsubscribe("net.server.socket", accepted);
  };
}

/** The part of `node:net` used here. */
interface Net {
  Socket: { prototype: { setKeepAlive: (this: object, ...args: unknown[]) => unknown } };
}

/**
 * Makes a `node:net` socket's own `setKeepAlive(false)` of this thread reach the kernel while sweeps run. The
 * runtime skips it when it thinks keepalive off already, which it does of a socket a sweep set through its
 * descriptor alone: `turnOff` is given each socket so asked, after the runtime's own call.
 *
 * @param turnOff Turns keepalive off on the socket.
 * @returns Puts the runtime's own method back.
 */
export function keepAliveOffReaches(turnOff: (socket: object) => void): () => void {
  const net = builtin("node:net") as Net | undefined;
  if (!net) return () => {};
  const prototype = net.Socket.prototype;
  const own = prototype.setKeepAlive;
  const wrapped = function (this: object, ...args: unknown[]) {
    const returned = own.apply(this, args);
    const [enable] = args;
    // Node 26 also takes { enable, initialDelay, ... }.
    const on = typeof enable === "object" && enable !== null ? (enable as { enable?: unknown }).enable : enable;
    if (!on) turnOff(this);
    return returned;
  };
  prototype.setKeepAlive = wrapped;
  return () => {
    if (prototype.setKeepAlive === wrapped) prototype.setKeepAlive = own;
  };
}

/** Node's `node:net` objects hand out their descriptor: `_handle.fd`, -1 on Windows (then none). */
function nodeHandle(target: object): number | undefined {
  const fd = (target as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/**
 * The descriptor the runtime hands out for an object of its own, where it does: Node's `node:net` objects. Deno
 * hands out none; Bun's own sockets do (`socket.fd`, read as the target's own), and its `node:net` objects are found
 * by what they report, as Deno's are, so that listeners sharing an address (`reusePort`) are set together.
 *
 * @param target The object.
 * @returns The descriptor; `undefined` where the runtime hands out none.
 */
export const descriptorOf: (target: object) => number | undefined = runtimeName === "node"
  ? nodeHandle
  : () => undefined;
