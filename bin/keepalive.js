#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
// The npm package's command line, the bundled cli.ts, under Node 26.1 or later
// (node:ffi) or Bun. The command line is an application, so it turns off the
// one ExperimentalWarning node:ffi prints; the module never does. An older Node
// hands over to Bun if it is on PATH, or says what is needed.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const [major, minor] = process.versions.node.split(".").map(Number);
if (process.versions.bun || major > 26 || (major === 26 && minor >= 1)) {
  const { main } = await import("../dist/cli.js");
  process.exitCode = await main(args);
} else {
  const bun = spawnSync("bun", [fileURLToPath(import.meta.url), ...args], { stdio: "inherit" });
  if (bun.error) {
    console.error(
      `keepalive: needs Node 26.1 or later (node:ffi; this is Node ${process.versions.node}) or Bun on PATH`,
    );
    process.exitCode = 1;
  } else {
    process.exitCode = bun.status ?? 1;
  }
}
