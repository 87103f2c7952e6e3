/**
 * The version, which deno.json, package.json and CHANGELOG.md agree on (a test checks).
 *
 * @module
 */

/**
 * This module's version.
 *
 * @example Print it
 * ```ts
 * import { VERSION } from "./mod.ts";
 * import { match } from "node:assert/strict";
 *
 * match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION = "0.6.0";
