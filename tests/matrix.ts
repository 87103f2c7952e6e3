// node tests/matrix.ts: run by `npm test` after every runtime's tests. Holds docs/platforms.md's matrix of platforms, and
// its table of the versions claimed, to what this run's tests showed (tests/_evidence.ts): a cell may claim no more
// than a test showed, and the oldest version claimed must be one that ran; exits 1 naming each cell that does not,
// and prints the matrix as shown.
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { EVIDENCE } from "./_evidence.ts";

const PLATFORMS = fileURLToPath(new URL("../docs/platforms.md", import.meta.url));
const COLUMNS = ["tables", "Deno", "Bun", "Node"];

/** The text of a section of docs/platforms.md (`## title`), up to the next heading or the end. */
function sectionOf(page: string, title: string): string {
  const at = page.indexOf(`\n## ${title}\n`);
  if (at < 0) throw new Error(`docs/platforms.md has no "## ${title}" section`);
  const body = page.slice(at + title.length + 5);
  const next = body.search(/^#/m);
  return next < 0 ? body : body.slice(0, next);
}

/** The matrix's rows: each cell's claims, by row name (`Linux arm64 glibc`, `macOS x86-64`) and column. */
export function claims(page: string): { row: string; column: string; kinds: string[] }[] {
  const section = sectionOf(page, "Platforms, and how each is tested");
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

/**
 * The versions table's rows: each runtime's oldest version claimed, as docs/platforms.md writes it, and the releases it
 * says ran: `deno 2.1.0` with `real kernel`, and with `preload` for those under the preload.
 */
export function versionClaims(
  page: string,
): { runtime: string; oldest: string; ran: { row: string; kind: string }[] }[] {
  const section = sectionOf(page, "Versions, and how each is tested");
  return section.split("\n").filter((line) => line.startsWith("|")).slice(2).map((line) => {
    const [runtime, claimed, ran] = line.split("|").slice(1, -1).map((cell) => cell.trim());
    const [kernel, preload = ""] = ran.split("; the preload: ");
    const rows = (list: string, kind: string) =>
      list.split(", ").filter(Boolean).map((version) => ({ row: `${runtime.toLowerCase()} ${version}`, kind }));
    return {
      runtime: runtime.toLowerCase(),
      oldest: /\d+\.\d+(?:\.\d+)?/.exec(claimed)?.[0] ?? "",
      ran: [...rows(kernel, "real kernel"), ...rows(preload, "preload")],
    };
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
  for (const { row, column, kinds } of claims(readFileSync(PLATFORMS, "utf8"))) {
    for (const kind of kinds) {
      const ok = evidence.has([row, column.toLowerCase(), kind].join("|"));
      if (!ok) unshown.push(`${row}, ${column}: "${kind}" is claimed, and no test showed it in this run`);
      console.log(`${ok ? "shown  " : "UNSHOWN"}  ${row.padEnd(20)} ${column.padEnd(7)} ${kind}`);
    }
  }
  for (const { runtime, oldest, ran } of versionClaims(readFileSync(PLATFORMS, "utf8"))) {
    // The oldest claimed ran: 2.1 is 2.1.0.
    const padded = (version: string) => [...version.split("."), "0", "0"].slice(0, 3).join(".");
    if (!ran.some(({ row, kind }) => kind === "real kernel" && padded(row.split(" ")[1]) === padded(oldest))) {
      unshown.push(`${runtime}: ${oldest} and later is claimed, and ${oldest} is not among the releases said to run`);
    }
    for (const { row, kind } of ran) {
      const ok = evidence.has([row, "versions", kind].join("|"));
      if (!ok) unshown.push(`${row}: "${kind}" is claimed, and no test showed it in this run`);
      console.log(`${ok ? "shown  " : "UNSHOWN"}  ${row.padEnd(20)} ${"version".padEnd(7)} ${kind}`);
    }
  }
  if (unshown.length > 0) {
    console.error(`\ndocs/platforms.md's matrix claims more than the tests showed:\n${unshown.join("\n")}`);
    process.exitCode = 1;
  }
}
