// _spec.ts and auto.ts: TCP_KEEPALIVE read as the command line's flags are; a malformed value named, an unset one said.
import { deepEqual, equal, match, throws } from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseSpec } from "../_spec.ts";
import { runtime, test, testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

test("parseSpec() reads a deadline, each setting, and the sweeps' period", () => {
  deepEqual(parseSpec("TCP_KEEPALIVE", "30s"), { options: { timeoutMs: 30_000 }, everyMs: undefined });
  deepEqual(parseSpec("TCP_KEEPALIVE", "idle=10s,interval=2s,count=3,user-timeout=30s"), {
    options: { idleMs: 10_000, intervalMs: 2_000, count: 3, userTimeoutMs: 30_000 },
    everyMs: undefined,
  });
  deepEqual(parseSpec("TCP_KEEPALIVE", "1m, every=500ms"), { options: { timeoutMs: 60_000 }, everyMs: 500 });
  deepEqual(parseSpec("TCP_KEEPALIVE", "timeout=2m,count=5"), {
    options: { timeoutMs: 120_000, count: 5 },
    everyMs: undefined,
  });
});

const malformed: [string, RegExp][] = [
  ["30", /^TCP_KEEPALIVE="30": "30" takes a duration such as 1500ms, 10s, 2m or 1h \(a unit is needed: 30s or 30ms\)$/],
  ["idle=10", /^TCP_KEEPALIVE="idle=10": "idle=10" takes a duration .* \(a unit is needed/],
  ["idle=10s,probes=3", /^TCP_KEEPALIVE="idle=10s,probes=3": "probes=3" is not one of timeout=, idle=, interval=/],
  ["count=three", /"count=three" takes a whole number$/],
  ["idle=1s=2s", /"idle=1s=2s" has more than one =$/],
  ["", /^TCP_KEEPALIVE="": "" takes a duration/],
];
for (const [text, message] of malformed) {
  test(`parseSpec() names the part of ${JSON.stringify(text)} that is wrong`, () => {
    throws(() => parseSpec("TCP_KEEPALIVE", text), { name: "TypeError", message });
  });
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

test("auto.ts with TCP_KEEPALIVE unset does nothing, and says so once", () => {
  const { status, out } = withAuto({}, ["--allow-env=TCP_KEEPALIVE"]);
  equal(status, 0, out);
  equal(out.match(/TCP_KEEPALIVE is not set/g)?.length, 1, out);
  match(out, /^ran$/m);
});

test("auto.ts with a malformed TCP_KEEPALIVE fails at start, naming the variable and the part", () => {
  const { status, out } = withAuto({ TCP_KEEPALIVE: "idle=10s,every=1" }, ["--allow-env=TCP_KEEPALIVE"]);
  equal(status === 0, false, out);
  match(out, /TCP_KEEPALIVE="idle=10s,every=1": "every=1" takes a duration/);
  equal(/^ran$/m.test(out), false);
});

testUnder("deno", "auto.ts under Deno needs --allow-env=TCP_KEEPALIVE, and says so through Deno's own error", () => {
  const { status, out } = withAuto({ TCP_KEEPALIVE: "30s" });
  equal(status === 0, false);
  match(out, /NotCapable: Requires env access to "TCP_KEEPALIVE"/);
  equal(withAuto({ TCP_KEEPALIVE: "30s" }, ["--allow-env=TCP_KEEPALIVE"]).status, 0);
});
