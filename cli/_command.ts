/**
 * What a command of the command line is: its name, its line in the help, its
 * usage, the flags it takes with their types, and what it runs. `cli.ts` is
 * the table of them and the dispatch; a new command is one file here and one
 * line there.
 *
 * @module
 */
import type { Terms } from "../options/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/** A flag's type, as `node:util`'s `parseArgs` takes it. */
export type FlagType = "string" | "boolean";

/** The flags a command takes, by name without the dashes. */
export type FlagTypes = Readonly<Record<string, FlagType>>;

/** What a flag of a type is given as: a string flag's text, or `true`. */
type FlagValue<T extends FlagType> = T extends "string" ? string : boolean;

/** What was given for each flag. */
export type FlagValues<F extends FlagTypes> = { readonly [K in keyof F]?: FlagValue<F[K]> };

/** One call of a command, parsed. */
export interface Invocation<F extends FlagTypes> {
  /** The flags given. */
  readonly values: FlagValues<F>;
  /** The arguments after the command's name. */
  readonly args: readonly string[];
  /** `--json`: the report as JSON on stdout. */
  readonly json: boolean;
  /** The flags' terms, that errors are worded in. */
  readonly terms: Terms;
  /** This OS's table, to check the flags against its limits before anything runs. */
  readonly platform: Platform;
  /** How to run this command line again, as a child (the demo's cut peer). */
  readonly self: readonly string[];
}

/** One command. */
export interface Command<F extends FlagTypes = FlagTypes> {
  /** What is typed: `plan`. */
  readonly name: string;
  /** Its line in `keepalive --help`, after its name; a command without one is not listed (an internal one). */
  readonly summary?: string;
  /** `keepalive <name> --help`. */
  readonly usage: string;
  /** The flags it takes, but `--json` and `--help`, which every command takes. */
  readonly flags: F;
  /** String flags whose value may be left out (`--netns` alone: this process's own), given as `""` then. */
  readonly optionalValue?: readonly string[];
  /**
   * Runs it.
   *
   * @returns The exit code: 0; 1 for a failure at run time; 2 for a mistake in the call.
   */
  run(invocation: Invocation<F>): number | Promise<number>;
}

/**
 * What the command line needs under Deno, as the `keepalive` task grants it: libc, the network, `ip` for the
 * demo's namespace and `ss` for the live timer, and the environment that `node:child_process` reads. The agent
 * needs `--allow-all` besides: it watches the cgroup tree, under `/sys`, which Deno lets only that read.
 */
export const DENO_PERMISSIONS: readonly string[] = ["--allow-ffi", "--allow-net", "--allow-run=ip", "--allow-env"];
