/**
 * The only reader of the `Deno`, `Bun` and `process` globals: picks the
 * runtime and the OS once, and opens the OS's library on first use.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";
import { openLibrary, type Runtime } from "./_bind.ts";
import type { Library } from "./_types.ts";

const g = globalThis as { Deno?: { build: { os: string } }; Bun?: unknown; process?: { platform: string } };

const runtime: Runtime | undefined = g.Bun !== undefined
  ? (await import("./bun.ts")).runtime
  : g.Deno !== undefined
  ? (await import("./deno.ts")).runtime
  : undefined;

/** The OS, as `Deno.build.os` names it (`"linux"`, `"darwin"`, `"freebsd"`, `"windows"`). */
export const os: string = g.Deno?.build.os ??
  (g.process?.platform === "win32" ? "windows" : g.process?.platform ?? "unknown");

// Only this OS's library description is loaded: each module more costs start-up time.
const library: Library | undefined = os === "linux"
  ? (await import("./_linux.ts")).linux
  : os === "darwin"
  ? (await import("./_darwin.ts")).darwin
  : os === "freebsd"
  ? (await import("./_freebsd.ts")).freebsd
  : os === "windows"
  ? (await import("./_windows.ts")).windows
  : undefined;

let opened: Syscalls | undefined;

/**
 * The system calls of this runtime, opening the library on the first call.
 *
 * @returns The binding.
 * @throws {Error} Under a runtime without FFI (Node), on an OS without a library, or if it does not open.
 */
export function syscalls(): Syscalls {
  if (opened) return opened;
  if (!runtime) throw new Error("tcp-keepalive needs Deno or Bun: it calls the C library through their FFI");
  if (!library) throw new Error(`tcp-keepalive has no C library binding for ${os}`);
  return opened = openLibrary(library, runtime);
}
