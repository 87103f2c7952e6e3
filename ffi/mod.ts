/**
 * The binding: picks the runtime's FFI (Deno, Bun, or Node through
 * `node:ffi`) and the OS's library once, and opens it on first use.
 * No top-level `await`, so that the module can be `require`d and loads at once
 * in a Worker.
 *
 * @module
 */
import type { Syscalls } from "../syscalls/mod.ts";
import { arch, os, runtimeName } from "../runtime/mod.ts";
import { openLibrary, type Runtime } from "./_bind.ts";
import { bunRuntime } from "./_runtime_bun.ts";
import { denoRuntime } from "./_runtime_deno.ts";
import { nodeRuntime } from "./_runtime_node.ts";
import { darwinLibSystem } from "./_library_darwin.ts";
import { freebsdLibc } from "./_library_freebsd.ts";
import { linuxLibc } from "./_library_linux.ts";
import { windowsWinsock } from "./_library_windows.ts";

const RUNTIMES: Readonly<Record<NonNullable<typeof runtimeName>, Runtime>> = {
  bun: bunRuntime,
  deno: denoRuntime,
  node: nodeRuntime,
};

/** Each OS's library, opened by a runtime: each typed by its own tables. */
const LIBRARIES: Readonly<Record<string, (runtime: Runtime) => Syscalls>> = {
  linux: (runtime) => openLibrary(linuxLibc, runtime, arch),
  darwin: (runtime) => openLibrary(darwinLibSystem, runtime, arch),
  freebsd: (runtime) => openLibrary(freebsdLibc, runtime, arch),
  windows: (runtime) => openLibrary(windowsWinsock, runtime, arch),
};

let opened: Syscalls | undefined;

/**
 * The system calls of this runtime, opening the library on the first call.
 *
 * @returns The binding.
 * @throws {Error} Under a runtime without FFI (a Node before 26.1), on an OS without a library, or if it does
 *   not open; a runtime's permission error unchanged.
 */
export function syscalls(): Syscalls {
  if (opened) return opened;
  if (!runtimeName) {
    throw new Error("tcp-keepalive needs Deno, Bun or Node 26.1 or later: it calls the C library through their FFI");
  }
  const open = LIBRARIES[os];
  if (!open) throw new Error(`tcp-keepalive has no C library binding for ${os}`);
  return opened = open(RUNTIMES[runtimeName]);
}
