/**
 * One target's calls (set, get, `TCP_INFO`), with the binding's opener passed
 * in, so that tests can count and fail the system calls they make: the input
 * is checked, the target's descriptors found, then each read and written.
 * `mod.ts` passes the runtime's binding.
 *
 * @module
 */
import { finderFor } from "./_find.ts";
import { planWrites, toSettings, type Write } from "../options/mod.ts";
import {
  KeepaliveError,
  readTcpInfo,
  readValues,
  type SocketValues,
  type Syscalls,
  writeValues,
} from "../socket/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings, KeepaliveTarget, TcpInfo } from "../types/mod.ts";

/**
 * Listeners sharing an address (`SO_REUSEPORT`) are one service: what they
 * hold, apart from what is being written, must agree, so that one answer
 * describes them all.
 */
function agreed(platform: Platform, sockets: readonly SocketValues[], writes: readonly Write[]): void {
  if (sockets.length === 1) return;
  const [first, ...others] = sockets;
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

/**
 * Validates, finds the descriptors, reads every option once, writes the changed ones.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param target The socket.
 * @param options What to change.
 * @returns The settings the socket has now.
 */
export function applyKeepalive(
  open: () => Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  options: KeepaliveOptions | undefined,
): KeepaliveSettings {
  const writes = planWrites(options, platform);
  const find = finderFor(target, platform);
  const calls = open();
  const sockets = read(calls, platform, find(calls));
  agreed(platform, sockets, writes);
  const [after] = writeValues(calls, platform, sockets, writes);
  return toSettings(platform, after);
}

/**
 * Finds the descriptors and reads every option once.
 *
 * @param open Opens the binding; called only once the target is valid.
 * @param target The socket.
 * @returns The settings the socket has.
 */
export function readKeepalive(open: () => Syscalls, platform: Platform, target: KeepaliveTarget): KeepaliveSettings {
  const find = finderFor(target, platform);
  const calls = open();
  const sockets = read(calls, platform, find(calls));
  agreed(platform, sockets, []);
  return toSettings(platform, sockets[0].before);
}

/**
 * Finds the descriptors and reads the kernel's view of the connection (of the
 * first, for listeners sharing an address: they are one listening service).
 *
 * @param open Opens the binding; called only once the target is valid.
 * @param target The socket.
 * @returns What the kernel reports now.
 */
export function tcpInfoOf(open: () => Syscalls, platform: Platform, target: KeepaliveTarget): TcpInfo {
  const find = finderFor(target, platform);
  const calls = open();
  return readTcpInfo(calls, platform, find(calls)[0]);
}
