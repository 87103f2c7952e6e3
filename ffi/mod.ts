/**
 * The only reader of the `Deno`, `Bun` and `process` globals: picks the
 * runtime's binding and the OS once, and opens libc on first use.
 *
 * @module
 */
import type { Syscalls } from "../_syscalls.ts";

type Binding = { open(os: string): Syscalls };
const g = globalThis as { Deno?: { build: { os: string } }; Bun?: unknown; process?: { platform: string } };

const binding: Binding | undefined = g.Bun !== undefined
  ? await import("./bun.ts")
  : g.Deno !== undefined
  ? await import("./deno.ts")
  : undefined;

/** The OS, as `Deno.build.os` names it (`"linux"`, `"darwin"`, `"freebsd"`, `"windows"`). */
export const os: string = g.Deno?.build.os ??
  (g.process?.platform === "win32" ? "windows" : g.process?.platform ?? "unknown");

let opened: Syscalls | undefined;

/**
 * The system calls of this runtime, opening libc on the first call.
 *
 * @returns The binding.
 * @throws {Error} Under a runtime without FFI (Node), or if libc does not open.
 */
export function syscalls(): Syscalls {
  if (opened) return opened;
  if (!binding) throw new Error("tcp-keepalive needs Deno or Bun: it calls libc through their FFI");
  return opened = binding.open(os);
}
