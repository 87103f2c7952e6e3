/**
 * Which values someone chose, from what a socket holds: the kernel is the
 * record, since Workers and other copies of this module share the
 * descriptors but not their memory. Values nobody chose are the system's
 * defaults (as a new socket holds them), the runtimes' own (Bun's and Node's
 * `setKeepAlive(true, ms)`: 1 s apart, 10 probes) and the sweeps' own; a
 * socket whose probe interval and count, or user timeout, are anything else
 * holds a choice, and a sweep leaves it alone. The idle time says nothing:
 * every runtime sets it. Keepalive off says nothing either, unless the probes
 * were set up first: a socket turned off after that (the application's own
 * `setKeepAlive(false)` after a sweep) was turned off by someone.
 *
 * @module
 */
import { toSettings, type Values, type Write } from "./_writes.ts";
import type { KeepaliveSettings } from "../types/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/** Bun's and Node's (libuv's) own `setKeepAlive(true, ms)`: probes 1 s apart, 10 of them, after `ms`. */
const RUNTIME_PROBES = { intervalMs: 1000, count: 10 };

/** The probes and user timeout nobody chose: the system's, the runtimes', or these sweeps' own. */
export interface Unchosen {
  /** Interval and count together: the system's first. */
  readonly probes: readonly string[];
  readonly userTimeoutsMs: readonly (number | undefined)[];
  /** Whether the sweeps themselves turn keepalive off. */
  readonly off: boolean;
}

const probesOf = ({ intervalMs, count }: Pick<KeepaliveSettings, "intervalMs" | "count">) => `${intervalMs} ${count}`;

/**
 * What nobody chose, given what a new socket holds here and what the sweeps write.
 *
 * @param defaults The values of a new socket.
 * @param writes What the sweeps write.
 * @returns The probes (interval and count together) and user timeouts that say nothing was chosen.
 */
export function unchosen(platform: Platform, defaults: Values, writes: readonly Write[]): Unchosen {
  const system = toSettings(platform, defaults);
  const own = toSettings(
    platform,
    platform.socketOptions.map((option, i) => writes.find((write) => write.option === option)?.value ?? defaults[i]),
  );
  return {
    probes: [probesOf(system), probesOf(RUNTIME_PROBES), probesOf(own)],
    userTimeoutsMs: [system.userTimeoutMs, own.userTimeoutMs],
    off: own.enabled === false,
  };
}

/**
 * Whether what a socket holds was chosen by someone, and so is not a sweep's to write over.
 *
 * @param values What it holds.
 * @param free What nobody chose, from {@linkcode unchosen}.
 * @returns `true` if its probes or its user timeout are anyone's choice.
 */
export function isChosen(platform: Platform, values: Values, free: Unchosen): boolean {
  const held = toSettings(platform, values);
  if (held.enabled === false && !free.off && probesOf(held) !== free.probes[0]) return true;
  return !free.probes.includes(probesOf(held)) || !free.userTimeoutsMs.includes(held.userTimeoutMs);
}
