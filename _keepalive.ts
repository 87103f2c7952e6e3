/**
 * The public calls with their binding passed in, so tests can count and
 * fail the system calls they make. `mod.ts` passes the runtime's.
 *
 * @module
 */
import type { Syscalls } from "./_syscalls.ts";
import { KeepaliveError } from "./_errors.ts";
import { planWrites, toSettings, type Write } from "./_options.ts";
import { readOptions, type SocketValues, writeOptions } from "./_sockopt.ts";
import { finderFor } from "./_targets.ts";
import { readTcpInfo } from "./_tcpinfo.ts";
import type { Platform } from "./platforms/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings, KeepaliveTarget, TcpInfo } from "./_types.ts";

/**
 * Listeners sharing an address (`SO_REUSEPORT`) are one service: what they
 * hold, apart from what is being written, must agree, so that one answer
 * describes them all.
 */
function agreed(platform: Platform, sockets: readonly SocketValues[], writes: readonly Write[]): void {
  const [first, ...others] = sockets;
  for (const [i, option] of platform.options.entries()) {
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
  return fds.map((fd) => ({ fd, before: readOptions(sys, platform, fd) }));
}

/**
 * Validates, finds the descriptors, reads every option once, writes the changed ones.
 *
 * @param sys Opens the binding; called only once the input is valid.
 * @param platform The OS's table.
 * @param target The socket.
 * @param options What to change.
 * @returns The settings the socket has now.
 */
export function applyKeepalive(
  sys: () => Syscalls,
  platform: Platform,
  target: KeepaliveTarget,
  options: KeepaliveOptions | undefined,
): KeepaliveSettings {
  const writes = planWrites(options, platform);
  const find = finderFor(target, platform);
  const calls = sys();
  const sockets = read(calls, platform, find(calls));
  agreed(platform, sockets, writes);
  const [after] = writeOptions(calls, platform, sockets, writes);
  return toSettings(platform, after);
}

/**
 * Finds the descriptors and reads every option once.
 *
 * @param sys Opens the binding; called only once the target is valid.
 * @param platform The OS's table.
 * @param target The socket.
 * @returns The settings the socket has.
 */
export function readKeepalive(sys: () => Syscalls, platform: Platform, target: KeepaliveTarget): KeepaliveSettings {
  const find = finderFor(target, platform);
  const calls = sys();
  const sockets = read(calls, platform, find(calls));
  agreed(platform, sockets, []);
  return toSettings(platform, sockets[0].before);
}

/**
 * Finds the descriptors and reads the kernel's view of the connection (of the
 * first, for listeners sharing an address: they are one listening service).
 *
 * @param sys Opens the binding; called only once the target is valid.
 * @param platform The OS's table.
 * @param target The socket.
 * @returns What the kernel reports now.
 */
export function tcpInfoOf(sys: () => Syscalls, platform: Platform, target: KeepaliveTarget): TcpInfo {
  const find = finderFor(target, platform);
  const calls = sys();
  return readTcpInfo(calls, platform, find(calls)[0]);
}
