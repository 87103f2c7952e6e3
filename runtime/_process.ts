/**
 * The process around this module: whether this is its main thread, and its
 * environment.
 *
 * @module
 */
import { builtin, globals } from "./_globals.ts";

/**
 * Whether this is the process's main thread, not a Node `worker_threads` one (where the preload runs too).
 *
 * @returns `false` in a worker thread.
 */
export function mainThread(): boolean {
  return (builtin("node:worker_threads") as { isMainThread?: boolean } | undefined)?.isMainThread ?? true;
}

/**
 * An environment variable; under Deno it needs `--allow-env` for that name, whose error comes through unchanged.
 *
 * @param name The variable.
 * @returns Its value, or `undefined` if it is not set.
 */
export function environment(name: string): string | undefined {
  return globals.Deno ? globals.Deno.env.get(name) : globals.process?.env[name];
}
