// auto.ts: TCP_KEEPALIVE read at start (unset, empty, malformed, out of range); and against real clients that the application never holds: fetch, WebSocket, Bun.sql and Bun's Redis client
// against a real PostgreSQL and redis-server, postgres.js through node:net. Each runs in a network namespace of its
// own, preloaded with tcp-keepalive/auto and nothing else changed, beside a control run without it in another
// namespace; loopback goes down once the client waits (tests/_auto_child.ts).
import { equal, match, ok } from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtime, test, testUnder } from "./_harness.ts";
import { testNamespace } from "./_net.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./_auto_child.ts", import.meta.url));
const SETTINGS = "idle=1s,interval=1s,count=2,user-timeout=3s,every=200ms";
const PRELOAD: Record<typeof runtime, string[]> = {
  deno: ["run", "-A", `--preload=${ROOT}auto.ts`],
  bun: ["--preload", `${ROOT}auto.ts`],
  node: ["--disable-warning=ExperimentalWarning", "--import", `${ROOT}auto.ts`],
};
const PLAIN: Record<typeof runtime, string[]> = { deno: ["run", "-A"], bun: [], node: [] };

/** A PostgreSQL cluster in a temporary directory, owned by the unprivileged postgres user; made once. */
let cluster: string | undefined;
function postgresCluster(): string {
  if (cluster) return cluster;
  const directory = mkdtempSync(join(tmpdir(), "tcp-keepalive-pg-"));
  chownSync(directory, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), 0);
  const data = join(directory, "data");
  execFileSync("runuser", ["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/initdb", "-D", data, "--auth=trust"], {
    stdio: "ignore",
  });
  process.once("exit", () => rmSync(directory, { recursive: true, force: true }));
  return cluster = data;
}

interface Outcome {
  outcome: string;
  elapsedMs: number;
}

/** Runs the scenario in a namespace of its own, preloaded or not. */
async function inNamespace(scenario: string, preloaded: boolean, waitMs: number): Promise<Outcome> {
  using scope = testNamespace(`tcp-keepalive-auto-${process.pid}-${scenario}-${preloaded ? "auto" : "control"}`);
  const namespace = scope.name;
  try {
    // Each run its own copy of the cluster: two servers cannot share one.
    const directory = scenario === "bun-sql" || scenario === "postgres-js" ? [`${postgresCluster()}-${namespace}`] : [];
    if (directory.length) execFileSync("cp", ["-a", postgresCluster(), directory[0]]);
    cleanups.push(() => directory.forEach((copy) => rmSync(copy, { recursive: true, force: true })));
    const flags = preloaded ? PRELOAD[runtime] : PLAIN[runtime];
    const { TCP_KEEPALIVE: _, ...inherited } = process.env;
    const env = preloaded ? { ...inherited, TCP_KEEPALIVE: SETTINGS } : inherited;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        "ip",
        ["netns", "exec", namespace, process.execPath, ...flags, CHILD, scenario, String(waitMs), ...directory],
        { env },
        (error, out, err) => error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      )
    );
    return JSON.parse(stdout.trim().split("\n").at(-1)!);
  } finally {
    cleanups.splice(0).forEach((cleanup) => cleanup());
  }
}

const cleanups: (() => void)[] = [];

const SCENARIOS: Record<typeof runtime, [string, string][]> = {
  deno: [["fetch", "a fetch whose body stops"], ["websocket", "a WebSocket client"], [
    "postgres-js",
    "postgres.js (node:net) with a query pending in PostgreSQL",
  ]],
  bun: [
    ["fetch", "a fetch whose body stops"],
    ["websocket", "a WebSocket client"],
    ["bun-sql", "Bun.sql with SELECT pg_sleep(600) pending in PostgreSQL"],
    ["bun-redis", "Bun's Redis client blocked in BLPOP key 0 in redis-server"],
  ],
  node: [["fetch", "a fetch whose body stops"], ["websocket", "a WebSocket client"], [
    "postgres-js",
    "postgres.js with a query pending in PostgreSQL",
  ]],
};

for (const only of ["deno", "bun", "node"] as const) {
  for (const [scenario, what] of SCENARIOS[only]) {
    testUnder(only, `preloaded auto: ${what} fails within 5 s of a dead peer; without it, still pending`, async () => {
      const [auto, control] = await Promise.all([
        inNamespace(scenario, true, 8000),
        inNamespace(scenario, false, 5000),
      ]);
      ok(auto.outcome !== "pending" && auto.outcome !== "resolved", `with auto: ${JSON.stringify(auto)}`);
      ok(auto.elapsedMs <= 5000, `with auto: failed after ${auto.elapsedMs} ms (${auto.outcome})`);
      equal(control.outcome, "pending", `without it: ${JSON.stringify(control)}`);
      ok(control.elapsedMs >= auto.elapsedMs);
      console.log(
        `${only} ${scenario}: ${auto.outcome} after ${auto.elapsedMs} ms; control pending at ${control.elapsedMs} ms`,
      );
    }, 30_000);
  }
}

/** Runs a script that imports auto.ts first, as a preload does, under this runtime; its status and output. */
function withAuto(env: Record<string, string>, flags: string[] = []): { status: number | null; out: string } {
  const script = `import ${JSON.stringify(`${ROOT}auto.ts`)};\nconsole.log("ran");`;
  const args = runtime === "deno"
    ? ["run", "--no-prompt", "--allow-ffi", ...flags, "--ext=ts", "-"]
    : runtime === "bun"
    ? ["-"]
    : ["--disable-warning=ExperimentalWarning", "--input-type=module-typescript", "-"];
  const { TCP_KEEPALIVE: _, ...inherited } = process.env;
  const { status, stdout, stderr } = spawnSync(process.execPath, args, {
    input: script,
    encoding: "utf8",
    env: { ...inherited, ...env, NO_COLOR: "1" },
  });
  return { status, out: stdout + stderr };
}

for (
  const [what, env] of [["unset", {}], ["set but empty", { TCP_KEEPALIVE: "" }], ["blank", { TCP_KEEPALIVE: " " }]]
) {
  test(`auto.ts with TCP_KEEPALIVE ${what} does nothing, and says so once`, () => {
    const { status, out } = withAuto(env as Record<string, string>, ["--allow-env=TCP_KEEPALIVE"]);
    equal(status, 0, out);
    equal(out.match(/TCP_KEEPALIVE is not set or empty, so no socket is configured/g)?.length, 1, out);
    match(out, /^ran$/m);
  });
}

test("auto.ts with a malformed TCP_KEEPALIVE fails at start, naming the variable and the part", () => {
  const { status, out } = withAuto({ TCP_KEEPALIVE: "idle=10s,every=1" }, ["--allow-env=TCP_KEEPALIVE"]);
  equal(status === 0, false, out);
  match(out, /TCP_KEEPALIVE="idle=10s,every=1": "every=1" takes a duration/);
  equal(/^ran$/m.test(out), false);
});

test("auto.ts with TCP_KEEPALIVE out of range fails at start, in the variable's terms", () => {
  const { status, out } = withAuto({ TCP_KEEPALIVE: "idle=10s,count=200" }, ["--allow-env=TCP_KEEPALIVE"]);
  equal(status === 0, false, out);
  match(out, /TCP_KEEPALIVE="idle=10s,count=200": count must be an integer from 1 to 127/);
  equal(/^ran$/m.test(out), false);
});

testUnder("deno", "auto.ts under Deno needs --allow-env=TCP_KEEPALIVE, and says so through Deno's own error", () => {
  const { status, out } = withAuto({ TCP_KEEPALIVE: "30s" });
  equal(status === 0, false);
  match(out, /NotCapable: Requires env access to "TCP_KEEPALIVE"/);
  equal(withAuto({ TCP_KEEPALIVE: "30s" }, ["--allow-env=TCP_KEEPALIVE"]).status, 0);
});
