// `keepalive agent` as a process of its own, under the runtime running the tests: its JSON lines as they come, the
// port it listens on, and SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { CLI, ENV, RUN } from "./_cli.ts";
import { runtime } from "./_harness.ts";

/** The command line as the agent runs: under Deno with --allow-all, which a watch of /sys takes. */
const AGENT_RUN = runtime === "deno" ? [process.execPath, "run", "--allow-all", CLI] : RUN;

/** One line the agent logged. */
export type Line = Record<string, unknown> & { action: string; time: string };

/** A running agent. */
export interface RunningAgent extends AsyncDisposable {
  readonly child: ChildProcess;
  /** Every line it logged so far. */
  readonly lines: Line[];
  /** The port its HTTP endpoint listens on. */
  readonly port: number;
  /** The first line (from `from` on) that `match` takes, waited for up to `timeoutMs`. */
  line(match: (line: Line) => boolean, timeoutMs?: number, from?: number): Promise<Line>;
  /** SIGTERM, and how it exited: its code, and how long it took. */
  stop(): Promise<{ code: number | string; ms: number }>;
  /** GET a path of its endpoint. */
  get(path: string): Promise<{ status: number; body: string }>;
}

/** A config file of a test's own. */
export function configFile(config: unknown): string {
  const file = `${mkdtempSync("/tmp/tcp-keepalive-agent-")}/agent.json`;
  writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config));
  return file;
}

/**
 * `keepalive agent` over a cgroup of a test's own, as its hierarchy (`--cgroup-root`), with a config, on a port the
 * kernel picks, and `more` flags: started, listening, its first pass done.
 */
export function agentOver(root: string, config: unknown, more: string[] = []): Promise<RunningAgent> {
  return runAgent(["--config", configFile(config), "--cgroup-root", root, "--listen", "127.0.0.1:0", ...more]);
}

/** Starts `keepalive agent` with `args`, and waits for it to listen and finish its first pass. */
export async function runAgent(args: string[], prefix: string[] = []): Promise<RunningAgent> {
  const [file, ...rest] = [...prefix, ...AGENT_RUN, "agent", ...args];
  const child = spawn(file, rest, { env: ENV, stdio: ["ignore", "inherit", "pipe"] });
  const lines: Line[] = [];
  const waiting = new Set<() => void>();
  const exited = once(child, "exit");
  createInterface({ input: child.stderr! }).on("line", (text) => {
    try {
      lines.push(JSON.parse(text));
    } catch {
      lines.push({ action: "text", time: "", text });
    }
    for (const wake of waiting) wake();
  });
  const line = (match: (line: Line) => boolean, timeoutMs = 10_000, from = 0) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.slice(from).find(match);
        if (!found) return;
        waiting.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(
          new Error(`no such line in ${timeoutMs} ms; it said:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`),
        );
      }, timeoutMs);
      waiting.add(check);
      check();
      void exited.then(() => check());
    });
  const listening = await line((l) => l.action === "listening" || l.action === "text");
  if (listening.action !== "listening") throw new Error(`the agent did not start: ${listening.text}`);
  const port = Number(String(listening.address).split(":").at(-1));
  await line((l) => l.action === "ready");
  const stop = async () => {
    const started = performance.now();
    // By its pid: Deno's child.kill() has its child say it died of the signal, whatever its status was.
    if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
    const [code, signal] = await exited;
    return { code: code ?? signal, ms: performance.now() - started };
  };
  return {
    child,
    lines,
    port,
    line,
    stop,
    async get(path) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: await response.text() };
    },
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}
