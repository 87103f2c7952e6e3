/**
 * The keepalive command line, on the public API only. Run it as
 * `deno task keepalive demo` or `bun cli.ts demo`.
 *
 * @module
 */
import net from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";
import { getKeepalive, type KeepaliveSettings, setKeepalive } from "./mod.ts";

const USAGE = `usage: keepalive demo [--timeout DURATION] [--json]

  demo   open a loopback connection, apply keepalive to both ends, read it back
         from the kernel and print it beside the system defaults

options:
  --timeout DURATION  the dead-peer deadline to plan (default 30s); 1500ms, 10s, 2m, 1h
  --json              print JSON with the API's field names
  --help              this text

examples:
  deno task keepalive demo
  bun cli.ts demo --timeout 1m --json`;

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `1500ms`, `10s`, `2m`, `1h`.
 *
 * @param flag The flag, for the error.
 * @param text What was given.
 * @returns Milliseconds.
 * @throws {UsageError} Without a unit or a number.
 */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) {
    const hint = /^\d+(\.\d+)?$/.test(text) ? ` (add a unit: ${text}s or ${text}ms)` : "";
    throw new UsageError(`--${flag} takes a duration such as 1500ms, 10s, 2m or 1h; got "${text}"${hint}`);
  }
  return Number(match[1]) * UNITS_MS[match[2]];
}

function human(ms: number | undefined): string {
  if (ms === undefined) return "unknown";
  if (ms === 0) return "0";
  if (ms < 60_000) return `${ms / 1000} s`;
  const minutes = Math.floor(ms / 60_000);
  const rest = [Math.floor(minutes / 60) && `${Math.floor(minutes / 60)} h`, minutes % 60 && `${minutes % 60} min`];
  const seconds = Math.round((ms % 60_000) / 1000);
  return [...rest, seconds && `${seconds} s`].filter(Boolean).join(" ");
}

/** When an idle connection to a vanished peer is dropped, if known. */
function deadPeerMs({ idleMs, intervalMs, count }: KeepaliveSettings): number | undefined {
  return idleMs === undefined || intervalMs === undefined || count === undefined
    ? undefined
    : idleMs + intervalMs * count;
}

function table(rows: [string, KeepaliveSettings][]): string {
  const head = ["", "keepalive", "idle", "interval", "count", "user timeout", "idle dead peer found after"];
  const body = rows.map(([name, s]) => [
    name,
    s.enabled ? "on" : "off",
    human(s.idleMs),
    human(s.intervalMs),
    String(s.count ?? "unknown"),
    s.userTimeoutMs === undefined ? "none" : s.userTimeoutMs ? human(s.userTimeoutMs) : "system",
    `${human(deadPeerMs(s))}${s.enabled ? "" : " once on"}`,
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  return [head, ...body].map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

async function demo(timeoutMs: number, json: boolean): Promise<void> {
  let accepted!: (socket: net.Socket) => void;
  const acceptedOnce = new Promise<net.Socket>((resolve) => accepted = resolve);
  const server = net.createServer(accepted);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise((resolve) => client.once("connect", resolve));
  const serverSide = await acceptedOnce;
  try {
    const defaults = getKeepalive(client);
    const requested = { timeoutMs };
    setKeepalive(client, requested);
    setKeepalive(serverSide, requested);
    const rows: [string, KeepaliveSettings][] = [
      ["system default", defaults],
      ["client", getKeepalive(client)],
      ["server", getKeepalive(serverSide)],
    ];
    if (json) {
      console.log(
        JSON.stringify(
          {
            requested,
            ...Object.fromEntries(rows.map(([name, s]) => [name.split(" ")[0] === "system" ? "defaults" : name, s])),
          },
          null,
          2,
        ),
      );
    } else {
      console.log(
        `loopback ${client.localAddress}:${client.localPort} -> ${client.remoteAddress}:${client.remotePort}, deadline ${
          human(timeoutMs)
        }, read back with getsockopt:\n`,
      );
      console.log(table(rows));
    }
  } finally {
    client.destroy();
    serverSide.destroy();
    server.close();
  }
}

/**
 * Runs the command line.
 *
 * @param args The arguments after the program.
 * @returns The exit code: 0, 1 at run time, 2 for usage.
 */
export async function main(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { timeout: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const [command, ...rest] = positionals;
    if (command !== "demo" || rest.length) {
      throw new UsageError(command ? `unknown command "${[command, ...rest].join(" ")}"` : "no command given");
    }
    await demo(parseDuration("timeout", values.timeout ?? "30s"), values.json ?? false);
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    console.error(`keepalive: ${(error as Error).message}${usage ? "\n\nrun with --help for usage" : ""}`);
    return usage ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
