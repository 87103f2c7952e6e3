// The layout: the import graph of every entry point, read with `deno info --json`, has no cycle, and each import goes
// the one way the layers allow, through a folder's door (its mod.ts); CONTRIBUTING.md's layout section is what `ls`
// shows; every file with examples has them run; the README is a first screen, and every relative link of the docs
// resolves, to a file and a heading.
import { deepEqual, equal } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runtime, test, testUnder } from "./_harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ENTRY_POINTS = ["mod.ts", "plan.ts", "auto.ts", "cli.ts"];

/**
 * What each folder may import besides itself: down the layers (cgroup -> sweep; targets and sweep -> socket ->
 * syscalls, the binding's contract; socket -> options -> platforms -> types); ffi the contract it implements, the
 * C strings of options and what runtime/ says of the OS and CPU; runtime nothing; cli the public API, the options'
 * text forms and the OS's table its flags are checked against. An entry point (a file at the root) may import
 * anything.
 */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  types: [],
  platforms: ["types"],
  options: ["platforms", "types"],
  syscalls: [],
  socket: ["syscalls", "options", "platforms", "types"],
  targets: ["socket", "syscalls", "options", "platforms", "types"],
  sweep: ["socket", "syscalls", "options", "platforms", "types"],
  bpf: ["socket", "syscalls", "options", "platforms", "types"],
  iter: ["bpf", "socket", "syscalls", "options", "platforms", "types"],
  cgroup: ["iter", "bpf", "sweep", "socket", "syscalls", "options", "platforms", "types"],
  agent: ["cgroup", "iter", "syscalls", "options", "platforms", "types"],
  runtime: [],
  ffi: ["syscalls", "options", "runtime"],
  cli: ["mod.ts", "options", "platforms", "types"],
};

/** The folder of a file (`"socket"`), or the file itself at the root (`"mod.ts"`). */
const roomOf = (file: string) => file.split("/")[0];

/** Every import between the package's files, as [from, to], relative to the root. */
function importGraph(): [string, string][] {
  const deno = runtime === "deno" ? process.execPath : `${ROOT}node_modules/.bin/deno`;
  const modules: { specifier: string; dependencies?: Record<string, { specifier: string }>[] }[] = ENTRY_POINTS
    .flatMap((entry) =>
      JSON.parse(execFileSync(deno, ["info", "--json", entry], { cwd: ROOT, encoding: "utf8" })).modules
    );
  const local = (specifier: string) =>
    specifier.startsWith("file://") ? relative(ROOT, fileURLToPath(specifier)) : undefined;
  const edges = new Map<string, [string, string]>();
  for (const module of modules) {
    const from = local(module.specifier);
    for (const dependency of module.dependencies ?? []) {
      for (const kind of ["code", "type"]) {
        const to = dependency[kind] && local(dependency[kind].specifier);
        if (from && to) edges.set(`${from} ${to}`, [from, to]);
      }
    }
  }
  return [...edges.values()];
}

/** The imports that break a rule, each said: against the layers' direction, past a folder's door, in a cycle. */
export function breaches(edges: readonly [string, string][]): string[] {
  const said: string[] = [];
  for (const [from, to] of edges) {
    const [a, b] = [roomOf(from), roomOf(to)];
    if (a === b || ENTRY_POINTS.includes(from)) continue;
    if (!(ALLOWED[a] ?? []).includes(b)) said.push(`${from} imports ${to}: ${a}/ may not import ${b}`);
    else if (to.includes("/") && !to.endsWith("/mod.ts")) said.push(`${from} imports ${to}, past ${b}/mod.ts`);
  }
  const next = new Map<string, string[]>();
  for (const [from, to] of edges) next.set(from, [...next.get(from) ?? [], to]);
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      said.push(`a cycle: ${[...path.slice(path.indexOf(file)), file].join(" -> ")}`);
      return;
    }
    state.set(file, "open");
    for (const to of next.get(file) ?? []) visit(to, [...path, file]);
    state.set(file, "done");
  };
  for (const file of next.keys()) visit(file, []);
  return said;
}

testUnder("deno", "the import graph has no cycle, and every import goes down the layers through a door", () => {
  const edges = importGraph();
  equal(edges.length > 50, true, `the graph was read: ${edges.length} imports`);
  deepEqual(breaches(edges), []);
});

test("the import check says each kind of breach: upward, past a door, a cycle", () => {
  deepEqual(breaches([["options/_plan.ts", "socket/mod.ts"]]), [
    "options/_plan.ts imports socket/mod.ts: options/ may not import socket",
  ]);
  deepEqual(breaches([["targets/_find.ts", "socket/_address.ts"]]), [
    "targets/_find.ts imports socket/_address.ts, past socket/mod.ts",
  ]);
  deepEqual(breaches([["sweep/_sweeps.ts", "targets/mod.ts"]]), [
    "sweep/_sweeps.ts imports targets/mod.ts: sweep/ may not import targets",
  ]);
  deepEqual(breaches([["options/_a.ts", "options/_b.ts"], ["options/_b.ts", "options/_a.ts"]]), [
    "a cycle: options/_a.ts -> options/_b.ts -> options/_a.ts",
  ]);
  deepEqual(breaches([["mod.ts", "ffi/_bind.ts"], ["cli/_plan.ts", "options/mod.ts"]]), []);
});

test("CONTRIBUTING.md's layout section names each folder and file at the root, and nothing else", () => {
  const contributing = readFileSync(`${ROOT}CONTRIBUTING.md`, "utf8");
  const section = /^## Layout\n[\s\S]*?```\n([\s\S]*?)```/m.exec(contributing)?.[1] ?? "";
  const named = section.trim().split("\n").flatMap((line) => line.split(/\s{2,}/)[0]!.split(" "));
  const tracked = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n");
  const root = [...new Set(tracked.map((file) => file.split("/")[0]))]
    .filter((name) => !name.startsWith(".") && /\.(ts|json|toml)$|^[^.]+$/.test(name) && name !== "LICENSE")
    .map((name) => statSync(`${ROOT}${name}`).isDirectory() ? `${name}/` : name)
    .filter((name) => !/^(package-lock|deno\.lock)/.test(name));
  deepEqual(named.toSorted(), root.toSorted());
});

test("every file with an example has it run: the deno test task names it", () => {
  const task: string = JSON.parse(readFileSync(`${ROOT}deno.json`, "utf8")).tasks.test;
  const withExamples = [
    "",
    ...readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name),
  ]
    .filter((folder) => !["node_modules", "tests", "bench", "dist", ".git"].includes(folder))
    .flatMap((folder) =>
      readdirSync(`${ROOT}${folder}`).filter((name) => name.endsWith(".ts")).map((name) =>
        folder ? `${folder}/${name}` : name
      )
    )
    .filter((file) => /^ \* ```ts$/m.test(readFileSync(`${ROOT}${file}`, "utf8")));
  deepEqual(withExamples.filter((file) => !task.split(" ").includes(file)), []);
});

test("every page with an example that runs has it run: the deno test task names it", () => {
  const task: string = JSON.parse(readFileSync(`${ROOT}deno.json`, "utf8")).tasks.test;
  const pages = ["README.md", "CONTRIBUTING.md", ...readdirSync(`${ROOT}docs`).map((name) => `docs/${name}`)];
  const withExamples = pages.filter((page) => /^```ts$/m.test(readFileSync(`${ROOT}${page}`, "utf8")));
  equal(withExamples.length > 0, true, "some page has an example");
  deepEqual(withExamples.filter((page) => !task.split(" ").includes(page)), []);
});

test("the README is a first screen: an import within 40 lines, under 200 lines, every page of docs/ linked", () => {
  const lines = readFileSync(`${ROOT}README.md`, "utf8").split("\n");
  const firstImport = lines.findIndex((line) => line.startsWith("import "));
  equal(firstImport >= 0 && firstImport < 40, true, `the first import is on line ${firstImport + 1}`);
  equal(lines.length < 200, true, `the README has ${lines.length} lines`);
  const linked = new Set(lines.join("\n").match(/\]\(docs\/[^)#]+/g)?.map((link) => link.slice(2)));
  deepEqual(readdirSync(`${ROOT}docs`).map((name) => `docs/${name}`).filter((page) => !linked.has(page)), []);
});

/** A heading's anchor, as GitHub and JSR make it: lower case, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
}

/**
 * Every relative link of a set of Markdown pages that does not resolve: to no file, or to no heading of it.
 *
 * @param pages Each page's path (relative to the root) and text.
 * @param exists Whether a path (relative to the root) is there.
 * @returns One line per broken link.
 */
export function brokenLinks(pages: ReadonlyMap<string, string>, exists: (path: string) => boolean): string[] {
  const anchors = (text: string) =>
    new Set(
      text.replace(/^```[\s\S]*?^```/gm, "").match(/^#+ .*/gm)?.map((line) => anchorOf(line.replace(/^#+ /, ""))),
    );
  const broken: string[] = [];
  for (const [page, text] of pages) {
    const prose = text.replace(/^```[\s\S]*?^```/gm, "");
    for (const [, target = ""] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file = "", anchor] = target.split("#");
      const path = file === "" ? page : relative(ROOT, fileURLToPath(new URL(file, new URL(page, `file://${ROOT}`))));
      if (!exists(path)) broken.push(`${page}: ${target}: no ${path}`);
      else if (
        anchor !== undefined && !anchors(pages.get(path) ?? readFileSync(`${ROOT}${path}`, "utf8")).has(anchor)
      ) {
        broken.push(`${page}: ${target}: ${path} has no heading #${anchor}`);
      }
    }
  }
  return broken;
}

test("every relative link and anchor of the README, CONTRIBUTING.md and docs/ resolves", () => {
  const names = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", ...readdirSync(`${ROOT}docs`).map((n) => `docs/${n}`)];
  const pages = new Map(names.map((name) => [name, readFileSync(`${ROOT}${name}`, "utf8")]));
  const exists = (path: string) => {
    try {
      statSync(`${ROOT}${path}`);
      return true;
    } catch {
      return false;
    }
  };
  const links = [...pages.values()].join("\n").match(/\]\((?!https?:)[^)\s]+\)/g) ?? [];
  equal(links.length > 20, true, `the links were read: ${links.length}`);
  deepEqual(brokenLinks(pages, exists), []);
});

test("the link check says each kind of broken link: no file, no heading, no heading here", () => {
  const pages = new Map([
    ["README.md", "# Top\n\n## Cost of it\n\n[a](docs/gone.md) [b](docs/here.md#nowhere) [c](#cost-of-it) [d](#nope)"],
    ["docs/here.md", "# Here\n\n```sh\n# not a heading\n```\n[e](../README.md#top) [f](#not-a-heading)"],
  ]);
  deepEqual(brokenLinks(pages, (path) => pages.has(path)), [
    "README.md: docs/gone.md: no docs/gone.md",
    "README.md: docs/here.md#nowhere: docs/here.md has no heading #nowhere",
    "README.md: #nope: README.md has no heading #nope",
    "docs/here.md: #not-a-heading: docs/here.md has no heading #not-a-heading",
  ]);
});
