import { deepEqual, equal, match } from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { planKeepalive } from "../mod.ts";
import { runtime, test } from "./_harness.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

function keepalive(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = runtime === "deno" ? ["run", "--allow-ffi", "--allow-net=127.0.0.1", CLI] : [CLI];
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [...run, ...args],
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    )
  );
}

const sysctl = (name: string) => Number(readFileSync(`/proc/sys/net/ipv4/tcp_keepalive_${name}`, "utf8"));

test("keepalive demo --json reports both ends as planned and the system defaults", async () => {
  const { code, stdout, stderr } = await keepalive("demo", "--timeout", "1m", "--json");
  equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  const planned = { enabled: true, ...planKeepalive(60_000) };
  deepEqual(report.client, planned);
  deepEqual(report.server, planned);
  deepEqual(report.defaults, {
    enabled: false,
    idleMs: sysctl("time") * 1000,
    intervalMs: sysctl("intvl") * 1000,
    count: sysctl("probes"),
    userTimeoutMs: 0,
  });
}, 15_000);

test("keepalive demo prints the table", async () => {
  const { code, stdout } = await keepalive("demo");
  equal(code, 0);
  match(stdout, /^client +on +10 s +2 s +10 +30 s +30 s$/m);
  match(stdout, /^server +on +10 s +2 s +10 +30 s +30 s$/m);
  match(stdout, /^system default +off /m);
}, 15_000);

const refusals: [string[], number, RegExp][] = [
  [
    ["demo", "--timeout", "30"],
    2,
    /^keepalive: --timeout takes a duration such as 1500ms, 10s, 2m or 1h; got "30" \(add a unit: 30s or 30ms\)/,
  ],
  [["demo", "--bogus"], 2, /^keepalive: Unknown option '--bogus'/],
  [["frobnicate"], 2, /^keepalive: unknown command "frobnicate"/],
  [[], 2, /^keepalive: no command given/],
  [["demo", "--timeout", "5s"], 1, /^keepalive: timeoutMs must be a finite number of at least 11000/],
];
for (const [args, exit, message] of refusals) {
  test(`keepalive ${args.join(" ")} exits ${exit} with one line, no stack`, async () => {
    const { code, stdout, stderr } = await keepalive(...args);
    equal(code, exit);
    equal(stdout, "");
    match(stderr, message);
    equal(/\n\s+at /.test(stderr), false, stderr);
  }, 15_000);
}
