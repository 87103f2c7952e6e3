/**
 * `keepalive check <host:port>`: connect, apply, read back, and compare with
 * what was asked and the system's defaults.
 *
 * @module
 */
import {
  getKeepalive,
  getTcpInfo,
  KeepaliveError,
  type KeepaliveOptions,
  type KeepaliveSettings,
  setKeepalive,
  type TcpInfo,
} from "../mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf, keepaliveOptions, SETTINGS, SETTINGS_USAGE, TLS, TLS_USAGE } from "./_flags.ts";
import {
  formatDuration,
  type HostPort,
  parseHostPort,
  printJson,
  SETTINGS_HEADER,
  settingsCells,
  table,
} from "./_format.ts";
import { connect, describeConnection } from "./_net.ts";

const FIELDS = ["enabled", "idleMs", "intervalMs", "count", "userTimeoutMs"] as const;

/**
 * The fields the kernel does not hold as they were applied. A field the OS
 * cannot read back (Windows before 1709) is no difference: see {@linkcode unreadable}.
 *
 * @param applied What `setKeepalive` applied.
 * @param held What `getKeepalive` read back.
 * @returns One line per field that differs.
 */
export function differences(applied: KeepaliveSettings, held: KeepaliveSettings): string[] {
  return FIELDS
    .filter((field) => held[field] !== undefined && held[field] !== applied[field])
    .map((field) => `${field}: applied ${applied[field]}, the kernel holds ${held[field]}`);
}

/**
 * The fields that were applied but that the OS cannot report.
 *
 * @param applied What `setKeepalive` applied.
 * @param held What `getKeepalive` read back.
 * @returns Their names.
 */
export function unreadable(applied: KeepaliveSettings, held: KeepaliveSettings): string[] {
  return FIELDS.filter((field) => applied[field] !== undefined && held[field] === undefined);
}

/** The options as asked for, as table cells. */
function requestedCells(options: KeepaliveOptions): string[] {
  if (options.timeoutMs !== undefined) {
    return [options.enable === false ? "off" : "on", `deadline ${formatDuration(options.timeoutMs)}`, "", "", "", ""];
  }
  const or = (value: number | undefined, text: (v: number) => string) => value === undefined ? "-" : text(value);
  return [
    options.enable === false ? "off" : "on",
    or(options.idleMs, formatDuration),
    or(options.intervalMs, formatDuration),
    or(options.count, String),
    or(options.userTimeoutMs, formatDuration),
    "",
  ];
}

/** The kernel's view of the connection; `undefined` where the OS has none (Windows before 1703, Wine). */
function tcpInfo(socket: Parameters<typeof getTcpInfo>[0]): TcpInfo | undefined {
  try {
    return getTcpInfo(socket);
  } catch (error) {
    if (error instanceof KeepaliveError && error.code === "EOPNOTSUPP") return undefined;
    throw error;
  }
}

/**
 * Runs the check.
 *
 * @param to Where to connect.
 * @param useTls Whether to speak TLS.
 * @param options What to apply.
 * @param json Whether to print JSON.
 * @returns 0 if the kernel holds what was applied, 1 if not.
 */
export async function check(to: HostPort, useTls: boolean, options: KeepaliveOptions, json: boolean): Promise<number> {
  const socket = await connect(to, useTls);
  try {
    // A new connection holds the system's defaults (on Linux, net.ipv4.tcp_keepalive_*).
    const defaults = getKeepalive(socket);
    const applied = setKeepalive(socket, options);
    const effective = getKeepalive(socket);
    const wrong = differences(applied, effective);
    const unknown = unreadable(applied, effective);
    if (json) {
      printJson({
        connection: describeConnection(socket),
        requested: options,
        effective,
        defaults,
        holds: wrong.length === 0,
        differences: wrong,
        unreadable: unknown,
        info: tcpInfo(socket),
      });
    } else {
      console.log(`${describeConnection(socket)}${useTls ? " (TLS)" : ""}\n`);
      console.log(table([
        SETTINGS_HEADER,
        ["requested", ...requestedCells(options)],
        ["effective", ...settingsCells(effective)],
        ["system default", ...settingsCells(defaults)],
      ]));
      console.log(
        wrong.length === 0
          ? "\nthe kernel holds what was asked (idle and interval round up to whole seconds)"
          : `\nthe kernel does not hold what was asked:\n  ${wrong.join("\n  ")}`,
      );
      if (unknown.length > 0) {
        console.log(`this OS cannot read back ${unknown.join(", ")}: applied, not checked`);
      }
    }
    return wrong.length === 0 ? 0 : 1;
  } finally {
    socket.destroy();
  }
}

/** `keepalive check`. */
export const checkCommand: Command<typeof SETTINGS & typeof TLS> = {
  name: "check",
  summary: "check <host:port>   connect, apply, read back from the kernel, compare with the defaults",
  usage: `usage: keepalive check <host:port> [options] [--json]

Connects (and shakes hands, with --tls) within 10 s, applies the options, reads
them back from the kernel, and prints what was requested, what the kernel holds
and the system's defaults. Exits 1 if the kernel does not hold what was applied;
a field the OS cannot read back (Windows before 1709) is said to be so.

${SETTINGS_USAGE}
${TLS_USAGE}

examples:
  keepalive check example.com:443 --tls --timeout 30s
  keepalive check 10.0.0.5:5432 --idle 10s --interval 2s --count 3 --user-timeout 16s`,
  flags: { ...SETTINGS, ...TLS },
  async run({ values, args, json, terms, platform }) {
    const [to] = argumentsOf("check", args, ["host:port"] as const);
    return await check(parseHostPort(to), values.tls ?? false, keepaliveOptions(values, terms, platform), json);
  },
};
