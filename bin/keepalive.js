#!/usr/bin/env node
// The npm package's command line: the bundled cli.ts, under Bun. Started by a
// runtime that is not Bun, it hands over to Bun, or says how to get it.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
if (process.versions.bun) {
  const { main } = await import("../dist/cli.js");
  process.exitCode = await main(args);
} else {
  const bun = spawnSync("bun", [fileURLToPath(import.meta.url), ...args], { stdio: "inherit" });
  if (bun.error) {
    console.error(
      "keepalive: needs Bun, which is not on PATH: install it (npm install -g bun), or run bunx tcp-keepalive",
    );
    process.exitCode = 1;
  } else {
    process.exitCode = bun.status ?? 1;
  }
}
