// A second copy of the module, as another version or path of it would be: every source file copied elsewhere and
// imported from there, so that no module instance is shared with the copy the tests import.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const LEFT_OUT = new Set(["node_modules", "tests", "bench", "dist", ".git"]);

let copied: string | undefined;

/** Imports the copy's `mod.ts`, copying the sources on the first call. */
export function secondCopy(): Promise<typeof import("../mod.ts")> {
  if (!copied) {
    const directory = mkdtempSync(join(tmpdir(), "tcp-keepalive-copy-"));
    cpSync(ROOT, directory, {
      recursive: true,
      filter: (source) => !LEFT_OUT.has(relative(ROOT, source).split("/")[0]),
    });
    process.once("exit", () => rmSync(directory, { recursive: true, force: true }));
    copied = directory;
  }
  return import(pathToFileURL(join(copied, "mod.ts")).href);
}
