/**
 * One target's calls (set, get, `TCP_INFO`), with the binding's opener passed
 * in, so that tests can count and fail the system calls they make: the input
 * is checked, the target's descriptors found, then each read and written.
 * `mod.ts` passes the runtime's binding.
 *
 * @module
 */
import { finderFor } from "./_find.ts";
import { type Handed, NONE_HANDED } from "./_reported.ts";
import { planWrites, toSettings, type Values, type Write } from "../options/mod.ts";
import { KeepaliveError, readTcpInfo, readValues, type SocketValues, writeValues } from "../socket/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings, KeepaliveTarget, TcpInfo } from "../types/mod.ts";

/**
 * Listeners sharing an address (`SO_REUSEPORT`) are one service: what they
 * hold, apart from what is being written, must agree, so that one answer
 * describes them all.
 */
function agreed(platform: Platform, sockets: readonly SocketValues[], writes: readonly Write[]): void {
  const [first, ...others] = sockets;
  if (!first || others.length === 0) return;
  for (const [i, option] of platform.socketOptions.entries()) {
    if (writes.some((write) => write.option === option)) continue;
    const other = others.find(({ before }) => before[i] !== first.before[i]);
    if (other) {
      throw new KeepaliveError(
        `${sockets.length} listening sockets share this address (SO_REUSEPORT) and hold different ${option.name}: ${
          first.before[i]
        } on fd ${first.fd}, ${other.before[i]} on fd ${other.fd}; set it on the listener to make them agree`,
        { code: "EADDRINUSE", option: option.name },
      );
    }
  }
}

function read(sys: Syscalls, platform: Platform, fds: readonly number[]): SocketValues[] {
  const sockets: SocketValues[] = [];
  for (const fd of fds) sockets.push({ fd, before: readValues(sys, platform, fd) });
  return sockets;
}

/** A `node:net` socket's own `setKeepAlive`, in every runtime (Node's, Deno's and Bun's node:net). */
type OwnSetKeepAlive = (enable: boolean, idleMs?: number, intervalMs?: number, count?: number) => unknown;

/**
 * The runtime's own `setKeepAlive` of a `node:net` socket, the one kind of target whose runtime remembers it: one with
 * a handle (`_handle`), which Bun's own sockets, whose `setKeepAlive` takes other units, do not have.
 */
function ownSetKeepAlive(target: KeepaliveTarget): OwnSetKeepAlive | undefined {
  const t = target as { remotePort?: unknown; _handle?: unknown; setKeepAlive?: unknown };
  return typeof target === "object" && "remotePort" in t && "_handle" in t && typeof t.setKeepAlive === "function"
    ? (t.setKeepAlive as OwnSetKeepAlive).bind(target)
    : undefined;
}

/**
 * Makes the runtime's idea of a `node:net` socket what the kernel holds. Node, Deno and Bun remember the keepalive
 * they set themselves and skip a `setKeepAlive` that matches it: after a write behind their back, the
 * application's own `setKeepAlive(false)` would do nothing. Their own call with the socket's values puts their idea
 * right; the probes it may write of its own (libuv's and Bun's 1 s x 10) are written back after it.
 *
 * @param target The socket object.
 * @param fds Its descriptors.
 * @param values What they hold now, in the platform's order; read from the first if not given.
 */
export function settleRuntime(
  sys: Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  fds: readonly number[],
  values?: Values,
): void {
  const own = ownSetKeepAlive(target);
  if (!own || fds.length === 0) return;
  const held = values ?? readValues(sys, platform, fds[0]!);
  const { enabled, idleMs, intervalMs, count } = toSettings(platform, held);
  // Node 26.4 and later take the interval and the count too, and write them; the others ignore them.
  own(enabled, idleMs, intervalMs, count);
  // Written, not read first: a read of every option costs more than the two writes.
  const probes: Write[] = [];
  const unknown = held.map((value, i) => {
    const option = platform.socketOptions[i]!;
    if ((option.field !== "intervalMs" && option.field !== "count") || value === undefined) return value;
    probes.push({ option, value });
    return undefined;
  });
  writeValues(sys, platform, fds.map((fd) => ({ fd, before: unknown })), probes);
}

/**
 * Validates, finds the descriptors, reads every option once, writes the changed ones.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param target The socket.
 * @param options What to change.
 * @param descriptorOf What the runtime hands out of its own objects.
 * @returns The settings the socket has now.
 */
export function applyKeepalive(
  open: () => Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  options: KeepaliveOptions,
  descriptorOf: Handed = NONE_HANDED,
): KeepaliveSettings {
  const writes = planWrites(options, platform);
  const find = finderFor(target, platform, descriptorOf);
  const calls = open();
  const sockets = read(calls, platform, find(calls));
  agreed(platform, sockets, writes);
  const [after] = writeValues(calls, platform, sockets, writes);
  settleRuntime(calls, platform, target, sockets.map(({ fd }) => fd), after);
  return toSettings(platform, after!);
}

/**
 * Turns keepalive off, as the application asked the runtime to (its own `setKeepAlive(false)`, which the runtime
 * skipped if it thought keepalive off already); nothing else changes.
 *
 * @param target The socket object.
 */
export function keepaliveOff(
  open: () => Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  descriptorOf: Handed = NONE_HANDED,
): void {
  const find = finderFor(target, platform, descriptorOf);
  const calls = open();
  writeValues(calls, platform, read(calls, platform, find(calls)), planWrites({ enable: false }, platform));
}

/**
 * Finds the descriptors and reads every option once.
 *
 * @param open Opens the binding; called only once the target is valid.
 * @param target The socket.
 * @returns The settings the socket has.
 */
export function readKeepalive(
  open: () => Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  descriptorOf: Handed = NONE_HANDED,
): KeepaliveSettings {
  const find = finderFor(target, platform, descriptorOf);
  const calls = open();
  const sockets = read(calls, platform, find(calls));
  agreed(platform, sockets, []);
  // A finder finds one socket at least, or throws.
  return toSettings(platform, sockets[0]!.before);
}

/**
 * Finds the descriptors and reads the kernel's view of the connection (of the
 * first, for listeners sharing an address: they are one listening service).
 *
 * @param open Opens the binding; called only once the target is valid.
 * @param target The socket.
 * @returns What the kernel reports now.
 */
export function tcpInfoOf(
  open: () => Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  descriptorOf: Handed = NONE_HANDED,
): TcpInfo {
  const find = finderFor(target, platform, descriptorOf);
  const calls = open();
  return readTcpInfo(calls, platform, find(calls)[0]!);
}
