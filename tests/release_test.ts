// What a release needs: one version everywhere, JSR's checks clean, the docs' examples typed.
import { equal, match } from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { VERSION } from "../mod.ts";
import { test, testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (name: string) => readFileSync(`${ROOT}${name}`, "utf8");

test("the code, deno.json, package.json and the changelog agree on the version", () => {
  match(VERSION, /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  equal(JSON.parse(read("deno.json")).version, VERSION);
  equal(JSON.parse(read("package.json")).version, VERSION);
  equal(/^## (\S+)/m.exec(read("CHANGELOG.md"))?.[1], VERSION);
});

test("package.json's engines claim the oldest releases that ran (tests/cross/versions.json), as do the errors", () => {
  const claimed = JSON.parse(read("tests/cross/versions.json"));
  const { engines } = JSON.parse(read("package.json"));
  equal(engines.bun, `>=${claimed.bun.oldest}`);
  equal(engines.node, `>=${claimed.node.oldest}`);
  // The refusals of an older runtime name the same releases.
  const minor = (version: string) => version.split(".").slice(0, 2).join(".");
  match(read("ffi/_runtime_bun.ts"), new RegExp(`\\[${claimed.bun.oldest.split(".").join(", ")}\\]`));
  match(read("ffi/_runtime_deno.ts"), new RegExp(`\\[${minor(claimed.deno.oldest).split(".").join(", ")}\\]`));
  match(read("ffi/_runtime_node.ts"), new RegExp(`Node has from ${minor(claimed.node.oldest)} on`));
});

/** Runs deno in the repository: its exit status, and stdout and stderr together. */
function deno(...args: string[]): { status: number | null; out: string } {
  const { status, stdout, stderr } = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status, out: stdout + stderr };
}

testUnder("deno", "deno publish --dry-run passes with no warnings, publishing the module and not its tests", () => {
  const { status, out } = deno("publish", "--dry-run", "--allow-dirty");
  equal(status, 0, out);
  equal(/warning/i.test(out), false, out);
  match(out, /Success Dry run complete/);
  match(out, /\/mod\.ts /);
  equal(/\/(tests|bench)\//.test(out), false, out);
}, 60_000);

testUnder("deno", "deno doc --lint finds nothing to say about the public modules", () => {
  const { status, out } = deno("doc", "--lint", "mod.ts", "plan.ts", "cli.ts");
  equal(status, 0, out);
  equal(out.trim(), "Checked 3 files");
}, 60_000);

testUnder("deno", "deno check passes on every entry point, and every target kind is a KeepaliveTarget", () => {
  const { status, out } = deno(
    "check",
    "mod.ts",
    "plan.ts",
    "cli.ts",
    "bench/deno.ts",
    "tests/types/deno_targets.ts",
  );
  equal(status, 0, out);
}, 120_000);

for (
  const [config, what] of [
    [
      "tsconfig.bun.json",
      "the module and the command line, strict with unchecked indexes refused, under Bun's types; every Bun target kind; the FFI tables and the BPF keys exact",
    ],
    ["tsconfig.pure.json", "the runtime-free files, with no runtime's types at all"],
  ]
) {
  testUnder("bun", `tsc -p ${config}: ${what}`, () => {
    const { status, stdout } = spawnSync(`${ROOT}node_modules/.bin/tsc`, ["-p", config], {
      cwd: ROOT,
      encoding: "utf8",
    });
    equal(status, 0, stdout);
  }, 120_000);
}

test("the type checks refuse an unchecked index: tsconfig.bun.json (which the pure one extends) says so", () => {
  const config = readFileSync(`${ROOT}tsconfig.bun.json`, "utf8");
  match(config, /"strict": true,/);
  match(config, /"noUncheckedIndexedAccess": true,/);
  match(readFileSync(`${ROOT}tsconfig.pure.json`, "utf8"), /"extends": "\.\/tsconfig\.bun\.json"/);
});
