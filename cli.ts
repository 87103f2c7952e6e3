/**
 * The keepalive command line, on the public API, with the options layer's
 * checks worded in the flags' terms: `plan`, `check`, `watch`, `demo`,
 * `apply`, `detach`, `inspect` and `agent`, each a file in `cli/` and a line of
 * {@linkcode COMMANDS}. Run it as `deno task keepalive ...`, `bun cli.ts ...`
 * or the npm package's `keepalive`.
 *
 * @example Run it
 * ```sh
 * deno task keepalive plan 30s
 * bun cli.ts check db.internal:5432 --timeout 30s
 * ```
 *
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { VERSION } from "./mod.ts";
import { os } from "./runtime/mod.ts";
import { platformFor } from "./platforms/mod.ts";
import { agentCommand } from "./cli/_agent.ts";
import { applyCommand } from "./cli/_apply.ts";
import { checkCommand } from "./cli/_check.ts";
import { type Command, DENO_PERMISSIONS, type FlagType } from "./cli/_command.ts";
import { cutCommand, demoCommand } from "./cli/_demo.ts";
import { detachCommand } from "./cli/_detach.ts";
import { typedFields } from "./cli/_flags.ts";
import { flagTerms, printJson, UsageError } from "./cli/_format.ts";
import { inspectCommand } from "./cli/_inspect.ts";
import { planCommand } from "./cli/_plan.ts";
import { watchCommand } from "./cli/_watch.ts";

/** Every command, in the order the help lists them. */
const COMMANDS: readonly Command[] = [
  planCommand,
  checkCommand,
  watchCommand,
  demoCommand,
  applyCommand,
  detachCommand,
  inspectCommand,
  agentCommand,
  cutCommand,
];

/** The flags every command takes. */
const COMMON = { json: "boolean", help: "boolean", version: "boolean" } as const;

const HELP = `usage: keepalive <command> [options]

commands:
${COMMANDS.filter((command) => command.summary).map((command) => `  ${command.summary}`).join("\n")}

Durations take a unit: 1500ms, 10s, 2m, 1h. Every command takes --json and --help;
--version prints the version.

examples:
  keepalive plan 30s
  keepalive check db.internal:5432 --timeout 30s
  keepalive watch [::1]:6379 --idle 10s --interval 2s --count 3 --for 5m
  keepalive demo --json
  keepalive apply --pid 4242 --timeout 30s
  keepalive apply --cgroup /sys/fs/cgroup/system.slice/api.service --timeout 30s --enforce
  keepalive inspect --cgroup /sys/fs/cgroup/system.slice/api.service
  keepalive inspect --netns --over 350s
  keepalive agent --config /etc/tcp-keepalive/agent.json`;

/**
 * Every command's flags, for one parse: a flag means one thing, of one type, in every command that takes it.
 *
 * @throws {Error} If two commands give one flag two types.
 */
function allFlags(): Record<string, { type: FlagType }> {
  const flags: Record<string, { type: FlagType }> = {};
  for (const { name, flags: own } of COMMANDS) {
    for (const [flag, type] of Object.entries({ ...own, ...COMMON })) {
      if (flags[flag] && flags[flag].type !== type) throw new Error(`${name} takes --${flag} as another type`);
      flags[flag] = { type };
    }
  }
  return flags;
}

/** How to run this command line again: under Deno with the same permissions as the task. */
function self(): string[] {
  if ("Deno" in globalThis) return [process.execPath, "run", ...DENO_PERMISSIONS, import.meta.url];
  return [process.execPath, fileURLToPath(import.meta.url)];
}

/** Refuses a flag given twice: which of the two was meant is not this command's to guess. */
function once(tokens: readonly { kind: string; name?: string; value?: string }[]): void {
  const seen = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined) continue;
    const values = [...seen.get(token.name) ?? [], token.value ?? "(set)"];
    seen.set(token.name, values);
    if (values.length > 1) throw new UsageError(`--${token.name} is given twice (${values.join(", ")}); give it once`);
  }
}

/** A flag whose value may be left out, given alone (last, or before another flag), as given with `""`. */
function withOptionalValues(args: readonly string[]): string[] {
  const optional = new Set(COMMANDS.flatMap((command) => command.optionalValue ?? []).map((flag) => `--${flag}`));
  return args.map((arg, i) => optional.has(arg) && (args[i + 1] ?? "-").startsWith("-") ? `${arg}=` : arg);
}

async function run(given: string[]): Promise<number> {
  const args = withOptionalValues(given);
  const { values, positionals, tokens } = parseArgs({
    args,
    options: allFlags(),
    allowPositionals: true,
    strict: true,
    tokens: true,
  });
  once(tokens);
  const [name = "", ...rest] = positionals;
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  const command = COMMANDS.find((command) => command.name === name);
  if (name === "") {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  if (!command) {
    const names = COMMANDS.filter((command) => command.summary).map((command) => command.name);
    throw new UsageError(`unknown command "${name}"; commands are ${names.join(", ")}`);
  }
  if (values.help) {
    console.log(command.usage);
    return 0;
  }
  const stray = Object.keys(values).find((flag) => !(flag in command.flags) && !(flag in COMMON));
  if (stray) throw new UsageError(`${name} does not take --${stray}`);
  return await command.run({
    values,
    args: rest,
    json: values.json === true,
    terms: flagTerms(typedFields(values)),
    platform: platformFor(os),
    self: self(),
  });
}

/**
 * Runs the command line: one line on stderr for any error, no stack trace.
 *
 * @param args The arguments after the program.
 * @returns The exit code: 0; 1 for a failure at run time; 2 for a mistake in the call.
 */
export async function main(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    // Only a mistake in what was typed: parseArgs' own, or a value refused before anything ran (see asUsage).
    const code = (error as { code?: unknown }).code;
    const usage = error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
    const message = (error as Error).message;
    // With --json, the error is data too, on stdout where the report would have been.
    if (args.includes("--json")) {
      printJson({ error: { code: typeof code === "string" ? code : usage ? "ERR_USAGE" : "ERR_FAILED", message } });
    } else console.error(`keepalive: ${message}${usage ? " (see keepalive --help)" : ""}`);
    return usage ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
