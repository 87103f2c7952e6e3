/**
 * The Bun runtime: `bun:ffi`, taken with Bun's `import.meta.require` when
 * the library is first opened (`process.getBuiltinModule` is newer than Bun
 * 1.1), so that nothing here needs a top-level `await` and other runtimes
 * never load it.
 *
 * @module
 */
import { requireVersion, type Runtime } from "./_bind.ts";
import type { CType, Opened } from "./_library.ts";

/** The part of `bun:ffi` used here; its type names are strings. */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: unknown };
}

const BUN_TYPES: Record<CType, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64_fast", // a number where it fits, as the other runtimes return it
  u64: "u64",
  usize: "u64", // size_t: every platform Bun runs on is 64-bit
  isize: "i64_fast",
  buffer: "ptr",
  pointer: "ptr",
};

let ffi: BunFfi | undefined;
const bunFfi = () => ffi ??= (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");

/** Opens libraries with `bun:ffi`. */
export const bunRuntime: Runtime = {
  // Its own sockets hand out their descriptor (socket.fd) from 1.3.3 on; before, nothing tells them apart.
  ready: () =>
    requireVersion(
      "Bun",
      (globalThis as unknown as { Bun: { version: string } }).Bun.version,
      [1, 3, 3],
      "whose own sockets hand out their descriptor, socket.fd",
    ),
  dlopen(path, symbols) {
    const bunSymbols = Object.fromEntries(
      Object.entries(symbols).map((
        [name, { parameters, result }],
      ) => [name, { args: parameters.map((type) => BUN_TYPES[type]), returns: BUN_TYPES[result] }]),
    );
    return bunFfi().dlopen(path, bunSymbols).symbols as Opened<typeof symbols>;
  },
  // Bun has no permissions to ask.
  permitted: () => true,
  isPermissionError: () => false,
};
