/**
 * Pure: the option table of an operating system, by name.
 *
 * @module
 */
import { darwin } from "./darwin.ts";
import { freebsd } from "./freebsd.ts";
import { linux } from "./linux.ts";
import { windows } from "./windows.ts";
import type { Platform } from "./_types.ts";

export type { KeepaliveIoctl, Platform, SocketOption, Unit } from "./_types.ts";
export type { Values } from "./_sockopt.ts";
export { readOptions, writeOptions } from "./_sockopt.ts";

const PLATFORMS: Readonly<Record<string, Platform>> = { linux, darwin, freebsd, windows };

/**
 * The table for an OS, named as `Deno.build.os` names it.
 *
 * @param os `"linux"`, `"darwin"`, `"freebsd"` or `"windows"`.
 * @returns The table.
 * @throws {Error} For an OS without a table.
 */
export function platformFor(os: string): Platform {
  const platform = PLATFORMS[os];
  if (!platform) {
    throw new Error(`keepalive timing is not supported on ${os}; supported: ${Object.keys(PLATFORMS).join(", ")}`);
  }
  return platform;
}
