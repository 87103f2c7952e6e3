/**
 * The two public calls with their binding passed in, so tests can count and
 * fail the system calls they make. `mod.ts` passes the runtime's.
 *
 * @module
 */
import type { Syscalls } from "./_syscalls.ts";
import { planWrites, toSettings } from "./options.ts";
import { type Platform, readOptions, writeOptions } from "./platforms/mod.ts";
import { checkTarget } from "./targets.ts";
import type { KeepaliveOptions, KeepaliveSettings, KeepaliveTarget } from "./types.ts";

/**
 * Validates, finds the descriptor, reads every option once, writes the changed ones.
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
  const descriptor = checkTarget(target);
  const calls = sys();
  const fd = descriptor(calls, platform);
  return toSettings(platform, writeOptions(calls, platform, fd, readOptions(calls, platform, fd), writes));
}

/**
 * Finds the descriptor and reads every option once.
 *
 * @param sys Opens the binding; called only once the target is valid.
 * @param platform The OS's table.
 * @param target The socket.
 * @returns The settings the socket has.
 */
export function readKeepalive(sys: () => Syscalls, platform: Platform, target: KeepaliveTarget): KeepaliveSettings {
  const descriptor = checkTarget(target);
  const calls = sys();
  return toSettings(platform, readOptions(calls, platform, descriptor(calls, platform)));
}
