/**
 * The Deno runtime: `Deno.dlopen`. A path is opened only if `--allow-ffi`
 * already grants it; otherwise the first path is asked for once, and Deno's
 * `NotCapable` is rethrown unchanged.
 *
 * @module
 */
import { requireVersion, type Runtime } from "./_bind.ts";
import type { Opened } from "./_library.ts";

/** Opens libraries with `Deno.dlopen`. */
export const denoRuntime: Runtime = {
  // Deno.dlopen is always there, and --allow-ffi asked for by the call itself; process.getBuiltinModule, through
  // which node:net's sockets are heard of, from 2.1 on.
  ready: () =>
    requireVersion("Deno", Deno.version.deno, [2, 1], "process.getBuiltinModule, to hear of node:net's sockets"),
  // The C types of ffi/_library.ts are spelled as Deno spells them.
  dlopen: (path, symbols) =>
    Deno.dlopen(path, symbols as Deno.ForeignLibraryInterface).symbols as unknown as Opened<typeof symbols>,
  permitted: (path) => Deno.permissions.querySync({ name: "ffi", path }).state === "granted",
  isPermissionError: (error) =>
    error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied,
};
