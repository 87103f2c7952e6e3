/**
 * `keepalive agent --config FILE`: a long-running process for one host, which
 * keeps the config's policies true (a pass at start, whenever a cgroup is
 * made or removed, and every period), serves `/metrics`, `/healthz` and
 * `/readyz`, logs one JSON line per action on stderr, and on SIGTERM or
 * SIGINT takes off what it attached and exits.
 *
 * @module
 */
import { type FSWatcher, watch } from "node:fs";
import http from "node:http";
import process from "node:process";
import { type AgentAction, ConfigError, type NodeAgent, readAgentConfigFile, startAgent } from "../mod.ts";
import type { Command } from "./_command.ts";
import { cgroupOf, ownerOf } from "./_flags.ts";
import { asUsage, parseDurationFlag, UsageError } from "./_format.ts";

/** How long a pass waits after a cgroup is made or removed, for the others of a burst (a pod's containers). */
const SETTLE_MS = 20;
/** How long the agent gives itself to take its programs off and exit after SIGTERM. */
const EXIT_WITHIN_MS = 1000;

/** One JSON line on stderr: what happened, when. */
function log(line: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
}

/** `--listen HOST:PORT`, port 0 for one the kernel picks (said in the `listening` line). */
function listenOf(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new UsageError(
      `--listen takes HOST:PORT, such as 127.0.0.1:9977 or [::1]:9977, port 0 to 65535; got "${text}"`,
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

/** The agent's HTTP endpoint: the metrics read from the kernel at most once a period, however often scraped. */
function serve(agent: NodeAgent, periodMs: number): http.Server {
  let observedAt = -Infinity;
  return http.createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/healthz") return response.end("ok\n");
    if (path === "/readyz") {
      response.statusCode = agent.ready ? 200 : 503;
      return response.end(agent.ready ? "ready\n" : "the first pass is not done\n");
    }
    if (path !== "/metrics") {
      response.statusCode = 404;
      return response.end("/metrics, /healthz or /readyz\n");
    }
    try {
      if (performance.now() - observedAt >= periodMs) {
        agent.observe();
        observedAt = performance.now();
      }
      response.setHeader("content-type", "text/plain; version=0.0.4; charset=utf-8");
      response.end(agent.exposition());
    } catch (error) {
      log({ action: "failed", what: "metrics", error: (error as Error).message });
      response.statusCode = 500;
      response.end(`${(error as Error).message}\n`);
    }
  });
}

/** Runs the agent until SIGTERM or SIGINT. */
async function runAgent(
  agent: NodeAgent,
  options: { listen: { host: string; port: number }; periodMs: number; keep: boolean },
) {
  const { host, port } = options.listen;
  const server = serve(agent, options.periodMs);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  log({ action: "listening", address: `${host.includes(":") ? `[${host}]` : host}:${address.port}` });
  const report = (actions: readonly AgentAction[]) => actions.forEach((action) => log({ ...action }));
  let stopped: (error: Error) => void = () => {};
  const refused = (error: Error) =>
    stopped(
      new Error(
        `cannot watch the cgroup tree for cgroups made and removed: ${error.message}${
          "Deno" in globalThis ? " (under Deno, the agent needs --allow-all: Deno lets only that read /sys)" : ""
        }`,
      ),
    );
  // Each cgroup directory watched for directories made and removed in it, through the runtime's own inotify: no
  // timer wakes the process between periods (one that polled every 250 ms cost Bun 0.2% of a core).
  const watchers = new Map<string, FSWatcher>();
  let soon: ReturnType<typeof setTimeout> | undefined;
  const watchAll = () => {
    const now = new Set(agent.directories);
    for (const [path, watcher] of watchers) if (!now.has(path)) watcher.close(), watchers.delete(path);
    for (const path of now) {
      if (watchers.has(path)) continue;
      try {
        const watcher = watch(path, (event) => {
          // "rename" is a name made or removed; "change", a file written (cgroup.procs, cgroup.events): nothing.
          if (event === "rename" && soon === undefined) {
            soon = setTimeout(() => pass("cgroups made or removed"), SETTLE_MS);
          }
        });
        watcher.on("error", (error: Error & { code?: string }) => {
          watchers.delete(path); // removed: the next pass sees it gone
          if (error.name === "NotCapable" || error.code === "EACCES" || error.code === "EPERM") refused(error);
        });
        watchers.set(path, watcher);
      } catch {
        // removed since the pass walked it
      }
    }
  };
  const pass = (why: string, correct = false) => {
    soon = undefined;
    const wasReady = agent.ready;
    report(agent.reconcile());
    if (correct) report(agent.correct());
    watchAll();
    if (!wasReady && agent.ready) log({ action: "ready", why });
  };
  pass("start", true);
  const period = setInterval(() => pass("period", true), options.periodMs);
  /** Everything stopped, the agent's programs taken off unless kept, the endpoint closed; gone within a second. */
  const shutdown = async () => {
    setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_WITHIN_MS).unref();
    clearInterval(period);
    clearTimeout(soon);
    for (const watcher of watchers.values()) watcher.close();
    if (!options.keep) report(agent.stop());
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  };
  // Listened to until the process ends: a second SIGTERM during the shutdown would kill it half-way.
  const signal = await new Promise<string>((resolve, reject) => {
    process.on("SIGTERM", () => resolve("SIGTERM"));
    process.on("SIGINT", () => resolve("SIGINT"));
    stopped = reject;
  }).catch(async (error) => {
    // The cgroup tree may not be watched: said, what was attached taken off, and exit 1.
    await shutdown();
    throw error;
  });
  await shutdown();
  log({ action: "stopped", signal, kept: options.keep });
  return 0;
}

/** `keepalive agent`. */
export const agentCommand: Command<{
  config: "string";
  listen: "string";
  owner: "string";
  period: "string";
  over: "string";
  "cgroup-root": "string";
  "keep-on-exit": "boolean";
}> = {
  name: "agent",
  summary: "agent --config FILE                                 keep a host's policies true, served as metrics",
  usage: `usage: keepalive agent --config FILE [--listen HOST:PORT] [--owner NAME] [--period DURATION]
                       [--over DURATION] [--cgroup-root PATH] [--keep-on-exit]

A long-running process for one host (Linux, as root): each cgroup a policy of
the config matches gets its programs (as apply --cgroup attaches them, with
the sockets already there set), at start, whenever a cgroup is made or removed
(inotify), and every period, which also puts back a program someone took off
and, under "enforce", the sockets that hold something else. One JSON line per
action on stderr. On SIGTERM or SIGINT it takes off its programs and exits.

The config (JSON): policies by cgroup path below the cgroup2 mount, * for one
path component, the most specific winning; each with the options as the flags
write them; and a default for every other connection:
  {"policies": [
     {"cgroup": "system.slice/postgresql.service", "timeout": "30s"},
     {"cgroup": "kubepods.slice/kubepods-burstable.slice/*",
      "idle": "10s", "interval": "2s", "count": 3, "enforce": true}],
   "default": {"timeout": "5m"}}

  --config FILE        the policies
  --listen HOST:PORT   /metrics (Prometheus), /healthz, /readyz (default 127.0.0.1:9977)
  --owner NAME         whose programs these are (default the host's name; a pod's)
  --period DURATION    a full pass every period (default 60s, as Prometheus scrapes)
  --over DURATION      the metrics' threshold of an idle dead peer unseen (default 350s)
  --cgroup-root PATH   where the host's cgroup v2 hierarchy is mounted (default its mount)
  --keep-on-exit       leave the programs attached on exit`,
  flags: {
    config: "string",
    listen: "string",
    owner: "string",
    period: "string",
    over: "string",
    "cgroup-root": "string",
    "keep-on-exit": "boolean",
  },
  async run({ values, args, terms }) {
    if (args.length) throw new UsageError(`agent takes no arguments; got ${args.join(" ")}`);
    if (values.config === undefined) throw new UsageError("agent takes --config FILE: the policies");
    const periodMs = values.period === undefined ? 60_000 : parseDurationFlag("--period", values.period);
    if (periodMs < 100) throw new UsageError(`--period must be 100ms or more; got ${values.period}`);
    const overMs = values.over === undefined ? undefined : parseDurationFlag("--over", values.over); // startAgent's default
    const listen = listenOf(values.listen ?? "127.0.0.1:9977");
    const owner = ownerOf(values.owner, terms);
    const root = values["cgroup-root"] === undefined ? undefined : cgroupOf(values["cgroup-root"], terms);
    let config;
    try {
      config = readAgentConfigFile(values.config);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    const agent = asUsage(() => startAgent(config, { owner, root, overMs }));
    log({
      action: "start",
      owner: agent.settings.owner,
      root: agent.settings.root,
      config: values.config,
      policies: [...config.policies.map(({ name }) => name), ...(config.fallback ? ["default"] : [])],
    });
    return await runAgent(agent, { listen, periodMs, keep: values["keep-on-exit"] === true });
  },
};
