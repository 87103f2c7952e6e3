/**
 * `keepalive watch <host:port>`: hold a connection idle and show, live, when
 * the next probe is due, until it dies or `--for` ends; then say how and why
 * it ended.
 *
 * @module
 */
import type net from "node:net";
import process from "node:process";
import { getTcpInfo, type KeepaliveOptions, type KeepaliveSettings, setKeepalive } from "../mod.ts";
import type { Command } from "./_command.ts";
import { argumentsOf, keepaliveOptions, SETTINGS, SETTINGS_USAGE, TLS, TLS_USAGE } from "./_flags.ts";
import { formatDuration, type HostPort, parseDurationFlag, parseHostPort, printJson } from "./_format.ts";
import { connect, describeConnection, ending } from "./_net.ts";

const REASONS: Record<string, string> = {
  ETIMEDOUT: "dead peer found by keepalive",
  ECONNRESET: "reset by the peer or a middlebox",
  EOF: "closed by the peer",
  for: "still alive when --for ended",
  interrupted: "still alive when interrupted",
};

/** The exit code after Ctrl-C, as shells report SIGINT. */
const INTERRUPTED = 130;

/**
 * When the next probe is due, from the kernel's own count of unanswered probes and how long the peer has been
 * silent (getTcpInfo): the first probe goes `idle` after the peer was last heard, each next one `interval` later.
 * Where the OS reports neither (macOS, Windows), as if every probe is answered.
 */
function nextProbe(socket: net.Socket, settings: KeepaliveSettings, elapsedMs: number): string {
  const { enabled, idleMs, intervalMs, count } = settings;
  if (!enabled) return "no keepalive timer";
  const { keepaliveProbes: probes, sinceDataReceivedMs, sinceAckReceivedMs } = getTcpInfo(socket);
  const heard = Math.min(sinceDataReceivedMs ?? Infinity, sinceAckReceivedMs ?? Infinity);
  if (idleMs === undefined) return "next probe: unknown";
  if (probes === undefined || intervalMs === undefined || heard === Infinity) {
    return `next probe in ${formatDuration(idleMs - elapsedMs % idleMs)} (computed)`;
  }
  const dueMs = idleMs + probes * intervalMs - heard;
  const due = dueMs < 100 ? "next probe due now" : `next probe in ${formatDuration(dueMs)}`;
  return `${due}, ${probes} of ${count} unanswered, peer last heard ${formatDuration(heard)} ago`;
}

/**
 * Watches until the connection ends or `forMs` passes.
 *
 * @param to Where to connect.
 * @param useTls Whether to speak TLS.
 * @param options What to apply.
 * @param forMs How long to watch at most.
 * @param json Whether to print JSON (only the outcome).
 * @returns The exit code: 0, or 130 after Ctrl-C (with the summary printed all the same).
 */
export async function watch(
  to: HostPort,
  useTls: boolean,
  options: KeepaliveOptions,
  forMs: number,
  json: boolean,
): Promise<number> {
  const socket = await connect(to, useTls);
  const connection = describeConnection(socket);
  const settings = setKeepalive(socket, options);
  const ended = ending(socket);
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  const { idleMs, intervalMs, count } = settings;
  if (!json) {
    const within = idleMs === undefined || intervalMs === undefined || count === undefined
      ? ""
      : `; an idle dead peer is found within ${formatDuration(idleMs + intervalMs * count)}`;
    console.log(
      `watching ${connection}: idle ${formatDuration(idleMs)}, interval ${
        formatDuration(intervalMs)
      }, count ${count}${within}`,
    );
  }
  const live = process.stdout.isTTY;
  const ticker = json ? undefined : setInterval(() => {
    if (socket.destroyed) return; // ended: the summary follows
    const line = `${formatDuration(Math.round(elapsed() / 100) * 100).padEnd(10)} ${
      nextProbe(socket, settings, elapsed())
    }`;
    if (live) process.stdout.write(`\r\x1b[K${line}`);
    else console.log(line);
  }, 1000);
  let timeout: ReturnType<typeof setTimeout> | undefined;
  let interrupt = () => {};
  const how = await Promise.race([
    ended,
    new Promise<string>((resolve) => timeout = setTimeout(resolve, forMs, "for")),
    new Promise<string>((resolve) => process.once("SIGINT", interrupt = () => resolve("interrupted"))),
  ]);
  clearInterval(ticker);
  clearTimeout(timeout);
  process.off("SIGINT", interrupt);
  socket.destroy();
  const livedMs = Math.round(elapsed());
  const reason = REASONS[how] ?? "ended";
  if (json) {
    printJson({ connection, settings, livedMs, ended: how, reason });
  } else {
    console.log(
      `${live ? "\n" : ""}lived ${formatDuration(livedMs)}; ended: ${
        how === "for" || how === "interrupted" ? "" : `${how}: `
      }${reason}`,
    );
  }
  return how === "interrupted" ? INTERRUPTED : 0;
}

/** `keepalive watch`. */
export const watchCommand: Command<typeof SETTINGS & typeof TLS & { for: "string" }> = {
  name: "watch",
  summary: "watch <host:port>   hold a connection idle and show the keepalive timer until it dies or Ctrl-C",
  usage: `usage: keepalive watch <host:port> [options] [--for DURATION] [--json]

Holds the connection idle and shows, every second, when the next probe is due
(the kernel's timer, through ss), until the connection dies, --for ends or
Ctrl-C; then says how long it lived and why it ended: ETIMEDOUT (a dead peer
found by keepalive), ECONNRESET (reset by the peer or a middlebox), EOF (closed
by the peer). After Ctrl-C it exits 130.

${SETTINGS_USAGE}
${TLS_USAGE}
  --for DURATION           watch at most this long (default 10m)

example:
  keepalive watch redis.internal:6379 --idle 5s --interval 1s --count 3 --for 1m`,
  flags: { ...SETTINGS, ...TLS, for: "string" },
  async run({ values, args, json, terms, platform }) {
    const [to] = argumentsOf("watch", args, ["host:port"] as const);
    return await watch(
      parseHostPort(to),
      values.tls ?? false,
      keepaliveOptions(values, terms, platform),
      parseDurationFlag("--for", values.for ?? "10m"),
      json,
    );
  },
};
