// node tests/matrix.ts: run by `npm test` after every runtime's tests. Holds the README's matrix of platforms to what
// this run's tests showed (tests/_evidence.ts): a cell may claim no more than a test showed; exits 1 naming each cell
// that does, and prints the matrix as shown.
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { EVIDENCE } from "./_evidence.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));
const COLUMNS = ["tables", "Deno", "Bun", "Node"];

/** The matrix's rows: each cell's claims, by row name (`Linux arm64 glibc`, `macOS x86-64`) and column. */
export function claims(readme: string): { row: string; column: string; kinds: string[] }[] {
  const section = /^### Platforms, and how each is tested\n([\s\S]*?)\n#/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "### Platforms, and how each is tested" section');
  const lines = section.split("\n").filter((line) => line.startsWith("|"));
  const header = lines[0].split("|").slice(1, -1).map((cell) => cell.trim());
  return lines.slice(2).flatMap((line) => {
    const cells = Object.fromEntries(line.split("|").slice(1, -1).map((cell, i) => [header[i], cell.trim()]));
    const row = cells.OS === "Linux" ? `${cells.OS} ${cells.CPU} ${cells["C library"]}` : `${cells.OS} ${cells.CPU}`;
    return COLUMNS.map((column) => ({
      row,
      column,
      kinds: cells[column].split("; ").map((kind) => kind.replaceAll("*", "").trim()).filter((kind) => kind !== "—"),
    }));
  });
}

/** What the tests showed: `row|column|kind`, the column in lower case. */
function shown(): Set<string> {
  try {
    return new Set(readdirSync(EVIDENCE).map(decodeURIComponent));
  } catch {
    return new Set();
  }
}

if (import.meta.main) {
  const evidence = shown();
  const unshown: string[] = [];
  for (const { row, column, kinds } of claims(readFileSync(README, "utf8"))) {
    for (const kind of kinds) {
      const ok = evidence.has([row, column.toLowerCase(), kind].join("|"));
      if (!ok) unshown.push(`${row}, ${column}: "${kind}" is claimed, and no test showed it in this run`);
      console.log(`${ok ? "shown  " : "UNSHOWN"}  ${row.padEnd(20)} ${column.padEnd(7)} ${kind}`);
    }
  }
  if (unshown.length > 0) {
    console.error(`\nREADME.md's matrix claims more than the tests showed:\n${unshown.join("\n")}`);
    process.exitCode = 1;
  }
}
