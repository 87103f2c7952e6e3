/**
 * `keepalive demo`: no network needed. A loopback connection configured at
 * both ends and read back; and, as root, a peer cut in a private network
 * namespace, found dead in seconds.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import process from "node:process";
import { getKeepalive, type KeepaliveSettings, setKeepalive } from "../mod.ts";
import { planWrites } from "../options/mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf } from "./_flags.ts";
import {
  asUsage,
  formatDuration,
  parseDurationFlag,
  printJson,
  SETTINGS_HEADER,
  settingsCells,
  table,
} from "./_format.ts";
import { ending, loopbackPair } from "./_net.ts";

/** What the cut peer is found with: first probe after 1 s idle, then 2 probes 1 s apart. */
const CUT_SETTINGS = { idleMs: 1000, intervalMs: 1000, count: 2 };
const CUT_WAIT_MS = 15_000;

/** What happened to the cut connection. */
interface Cut {
  ended: string;
  livedMs: number;
}

/**
 * Runs inside the namespace (the hidden `_cut` command): connect over loopback,
 * configure the client, take loopback down, and report how the client ended.
 *
 * @returns The exit code.
 */
export async function cut(): Promise<number> {
  execFileSync("ip", ["link", "set", "lo", "up"]);
  const pair = await loopbackPair();
  setKeepalive(pair.client, CUT_SETTINGS);
  const ended = ending(pair.client);
  execFileSync("ip", ["link", "set", "lo", "down"]);
  const start = performance.now();
  const how = await Promise.race([
    ended,
    new Promise<string>((resolve) => setTimeout(resolve, CUT_WAIT_MS, "pending")),
  ]);
  console.log(JSON.stringify({ ended: how, livedMs: Math.round(performance.now() - start) } satisfies Cut));
  pair.close();
  process.exit(0);
}

/** Cuts a peer in a namespace of its own; `undefined` where namespaces cannot be made (not root, no iproute2). */
function cutPeer(self: readonly string[]): Cut | undefined {
  const namespace = `tcp-keepalive-demo-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", namespace], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(execFileSync("ip", ["netns", "exec", namespace, ...self, "_cut"], { encoding: "utf8" }));
  } finally {
    execFileSync("ip", ["netns", "del", namespace]);
  }
}

/**
 * Runs the demo.
 *
 * @param timeoutMs The deadline to plan for the loopback connection.
 * @param json Whether to print JSON.
 * @param self How to run this command line again (runtime, flags, entry), for the namespace.
 * @returns The exit code.
 */
export async function demo(timeoutMs: number, json: boolean, self: readonly string[]): Promise<number> {
  const pair = await loopbackPair();
  let client: KeepaliveSettings, server: KeepaliveSettings, defaults: KeepaliveSettings;
  try {
    defaults = getKeepalive(pair.client);
    setKeepalive(pair.client, { timeoutMs });
    setKeepalive(pair.accepted, { timeoutMs });
    [client, server] = [getKeepalive(pair.client), getKeepalive(pair.accepted)];
  } finally {
    pair.close();
  }
  const rows: [string, KeepaliveSettings][] = [["client", client], ["server", server], ["system default", defaults]];
  const defaultsMs = defaults.idleMs! + defaults.intervalMs! * defaults.count!;
  const deadPeer = cutPeer(self);
  if (json) {
    printJson({
      requested: { timeoutMs },
      client,
      server,
      defaults,
      deadPeer: deadPeer ? { settings: CUT_SETTINGS, ...deadPeer, withDefaultsMs: defaultsMs } : null,
    });
    return 0;
  }
  console.log(`a loopback connection, deadline ${formatDuration(timeoutMs)}, read back with getsockopt:\n`);
  console.log(table([SETTINGS_HEADER, ...rows.map(([name, settings]) => [name, ...settingsCells(settings)])]));
  if (!deadPeer) {
    console.log("\nas root, the demo also cuts a peer in a private network namespace and times how soon it is found");
    return 0;
  }
  const { idleMs, intervalMs, count } = CUT_SETTINGS;
  console.log(
    `\na peer cut in a private network namespace (idle ${formatDuration(idleMs)}, interval ${
      formatDuration(intervalMs)
    },` +
      ` count ${count}):\n  found dead after ${formatDuration(deadPeer.livedMs)} (${deadPeer.ended});` +
      ` with the system defaults it would take ${formatDuration(defaultsMs)}`,
  );
  return 0;
}

/** `keepalive demo`. */
export const demoCommand: Command<{ timeout: "string" }> = {
  name: "demo",
  summary: "demo                a loopback connection configured and read back; as root, a cut peer found",
  usage: `usage: keepalive demo [--timeout DURATION] [--json]

Needs no network: opens a loopback connection, applies the deadline's settings
at both ends and prints what the kernel holds beside the defaults. As root it
also cuts a peer inside a private network namespace and times how soon
keepalive finds it dead.

  --timeout DURATION   the deadline to plan (default 30s)

example:
  keepalive demo --timeout 1m`,
  flags: { timeout: "string" },
  async run({ values, args, json, terms, platform, self }) {
    argumentsOf("demo", args, []);
    const timeoutMs = parseDurationFlag("--timeout", values.timeout ?? "30s");
    asUsage(() => planWrites({ timeoutMs }, platform, terms)); // a deadline too short, before any socket
    return await demo(timeoutMs, json, self);
  },
};

/** `keepalive _cut`: the demo's own, run inside its namespace; not listed. */
export const cutCommand: Command<Record<never, never>> = {
  name: "_cut",
  usage: "usage: keepalive _cut (the demo runs it inside a private network namespace)",
  flags: {},
  run: () => cut(),
};
