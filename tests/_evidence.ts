// What the suite has shown, cell by cell of docs/platforms.md's matrix of platforms: a test that shows a cell writes a file
// for it, and tests/matrix.ts, run by `npm test` after every runtime's tests, holds that page to them.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where the files go; tests/prepare.sh empties it before a run. */
export const EVIDENCE = fileURLToPath(new URL("../node_modules/.cache/tcp-keepalive-evidence/", import.meta.url));

/** The matrix's row names for each OS's table, by CPU: one recording of a table shows every CPU it runs on. */
export const ROWS: Readonly<Record<string, readonly string[]>> = {
  darwin: ["macOS x86-64", "macOS arm64"],
  freebsd: ["FreeBSD x86-64"],
  windows: ["Windows x86-64"],
};

/**
 * Records that a test showed a cell: the row (such as `Linux arm64 glibc`), the column (`deno`, `bun`, `node`, or
 * `tables`) and how (`real kernel`, `real kernel under qemu`, `Wine`, `recorded`, `headers verified`, ...).
 */
export function prove(row: string, column: string, kind: string): void {
  mkdirSync(EVIDENCE, { recursive: true });
  writeFileSync(`${EVIDENCE}${encodeURIComponent([row, column, kind].join("|"))}`, "");
}
