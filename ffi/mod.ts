/**
 * The only reader of the `Deno`, `Bun` and `process` globals: picks the
 * runtime (Deno, Bun, or Node through `node:ffi`), the OS and the CPU once,
 * and opens the OS's library on first use.
 * No top-level `await`, so that the module can be `require`d and loads at once
 * in a Worker.
 *
 * @module
 */
import type { Syscalls } from "../socket/mod.ts";
import { openLibrary, type Runtime } from "./_bind.ts";
import { bunRuntime } from "./_runtime_bun.ts";
import { denoRuntime } from "./_runtime_deno.ts";
import { nodeRuntime } from "./_runtime_node.ts";
import { darwinLibSystem } from "./_library_darwin.ts";
import { freebsdLibc } from "./_library_freebsd.ts";
import { linuxLibc } from "./_library_linux.ts";
import type { Library } from "./_library.ts";
import { windowsWinsock } from "./_library_windows.ts";

const g = globalThis as {
  Deno?: {
    build: { os: string; arch: string };
    unrefTimer(id: number): void;
    env: { get(name: string): string | undefined };
  };
  Bun?: unknown;
  process?: {
    platform: string;
    arch: string;
    versions?: { node?: string };
    env: Record<string, string | undefined>;
    getBuiltinModule?(name: string): unknown;
  };
};

// Bun and Deno say they are Node too (process.versions.node), so they are asked first.
const runtime: Runtime | undefined = g.Bun !== undefined
  ? bunRuntime
  : g.Deno !== undefined
  ? denoRuntime
  : g.process?.versions?.node !== undefined
  ? nodeRuntime
  : undefined;

/** The OS, as `Deno.build.os` names it (`"linux"`, `"darwin"`, `"freebsd"`, `"windows"`). */
export const os: string = g.Deno?.build.os ??
  (g.process?.platform === "win32" ? "windows" : g.process?.platform ?? "unknown");

/** The CPU, as `Deno.build.arch` names it (`"x86_64"`, `"aarch64"`). */
const arch: string = g.Deno?.build.arch ??
  ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[g.process?.arch ?? ""] ?? "unknown";

const LIBRARIES: Readonly<Record<string, Library>> = {
  linux: linuxLibc,
  darwin: darwinLibSystem,
  freebsd: freebsdLibc,
  windows: windowsWinsock,
};

let opened: Syscalls | undefined;

/**
 * The system calls of this runtime, opening the library on the first call.
 *
 * @returns The binding.
 * @throws {Error} Under a runtime without FFI (a Node before 26.1), on an OS without a library, or if it does
 *   not open; a runtime's permission error unchanged.
 */
export function syscalls(): Syscalls {
  if (opened) return opened;
  if (!runtime) {
    throw new Error("tcp-keepalive needs Deno, Bun or Node 26.1 or later: it calls the C library through their FFI");
  }
  const library = LIBRARIES[os];
  if (!library) throw new Error(`tcp-keepalive has no C library binding for ${os}`);
  return opened = openLibrary(library, runtime, arch);
}

/**
 * Runs `run` once after `ms`, on a timer that does not keep the process alive.
 *
 * @param ms The delay.
 * @param run What to run.
 * @returns Cancels the timer.
 */
export function afterUnref(ms: number, run: () => void): () => void {
  const timer = setTimeout(run, ms);
  // Deno's timers are numbers, unreferenced through Deno; Bun's and Node's are objects with unref().
  if (typeof timer === "number") g.Deno?.unrefTimer(timer);
  else (timer as { unref(): void }).unref();
  return () => clearTimeout(timer);
}

/**
 * A built-in module of the runtime, without an `import`: `process.getBuiltinModule` (Node 22.3, Deno 2.2, Bun 1.2.?),
 * else Bun's `import.meta.require`; `undefined` where neither is there.
 */
function builtin(name: string): unknown {
  return g.process?.getBuiltinModule?.(name) ??
    (g.Bun ? (import.meta as unknown as { require?(id: string): unknown }).require?.(name) : undefined);
}

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

/**
 * Whether this is the process's main thread, not a Node `worker_threads` one (where the preload runs too).
 *
 * @returns `false` in a worker thread.
 */
export function mainThread(): boolean {
  return (builtin("node:worker_threads") as { isMainThread?: boolean } | undefined)?.isMainThread ?? true;
}

/**
 * An environment variable; under Deno it needs `--allow-env` for that name, whose error comes through unchanged.
 *
 * @param name The variable.
 * @returns Its value, or `undefined` if it is not set.
 */
export function environment(name: string): string | undefined {
  return g.Deno ? g.Deno.env.get(name) : g.process?.env[name];
}
