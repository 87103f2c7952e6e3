/**
 * Pure data: the option table of an operating system, by name. Nothing here
 * makes a call; `socket/_values.ts` turns a table into calls.
 *
 * @module
 */
import { darwin } from "./_darwin.ts";
import { freebsd } from "./_freebsd.ts";
import { linux } from "./_linux.ts";
import { windows } from "./_windows.ts";
import type { Platform } from "./_types.ts";

export type { BpfOpcode, BpfTable, InfoField, Platform, SocketOption, TcpInfoLayout, Unit } from "./_types.ts";

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
