#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
// The npm package's command line, the bundled cli.ts, under Node 26.1 or later
// (node:ffi) or Bun. The command line is an application, so it turns off the
// one ExperimentalWarning node:ffi prints; the module never does. Node 26.1 to
// 26.8 offer node:ffi only with --experimental-ffi, which it runs itself again
// with; an older Node hands over to Bun if it is on PATH, or says what is needed.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const [major, minor] = process.versions.node.split(".").map(Number);
/** Runs this file again under `command`, passing on the exit code; `undefined` if it cannot start. */
function again(command, flags) {
  const run = spawnSync(command, [...flags, fileURLToPath(import.meta.url), ...args], { stdio: "inherit" });
  return run.error ? undefined : run.status ?? 1;
}
if (process.versions.bun || major > 26 || (major === 26 && minor >= 9) || process.getBuiltinModule?.("node:ffi")) {
  const { main } = await import("../dist/cli.js");
  process.exitCode = await main(args);
} else if (major === 26 && minor >= 1 && !process.execArgv.includes("--experimental-ffi")) {
  process.exitCode = again(process.execPath, ["--experimental-ffi", "--disable-warning=ExperimentalWarning"]);
} else {
  const code = again("bun", []);
  if (code === undefined) {
    console.error(
      `keepalive: needs Node 26.1 or later (node:ffi; this is Node ${process.versions.node}) or Bun on PATH`,
    );
  }
  process.exitCode = code ?? 1;
}
