/**
 * The globals of Deno, Bun and Node, as far as this module reads them, and
 * what they say: which runtime, OS and CPU this is, and the runtime's
 * built-in modules without an `import`.
 *
 * @module
 */

/** The globals read here, each where its runtime has it. */
export const globals = globalThis as {
  Deno?: {
    build: { os: string; arch: string };
    unrefTimer(id: number): void;
    env: { get(name: string): string | undefined };
  };
  Bun?: unknown;
  process?: {
    platform: string;
    arch: string;
    versions?: { node?: string };
    env: Record<string, string | undefined>;
    getBuiltinModule?(name: string): unknown;
  };
};

/** The runtime: Bun and Deno say they are Node too (`process.versions.node`), so they are asked first. */
export const runtimeName: "bun" | "deno" | "node" | undefined = globals.Bun !== undefined
  ? "bun"
  : globals.Deno !== undefined
  ? "deno"
  : globals.process?.versions?.node !== undefined
  ? "node"
  : undefined;

/** The OS, as `Deno.build.os` names it (`"linux"`, `"darwin"`, `"freebsd"`, `"windows"`). */
export const os: string = globals.Deno?.build.os ??
  (globals.process?.platform === "win32" ? "windows" : globals.process?.platform ?? "unknown");

/** The CPU, as `Deno.build.arch` names it (`"x86_64"`, `"aarch64"`). */
export const arch: string = globals.Deno?.build.arch ??
  ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[globals.process?.arch ?? ""] ?? "unknown";

/**
 * A built-in module of the runtime, without an `import`: `process.getBuiltinModule` (Node 22.3, Deno 2.1; Bun 1.2.0
 * has none), else Bun's `import.meta.require`; `undefined` where neither is there.
 */
export function builtin(name: string): unknown {
  return globals.process?.getBuiltinModule?.(name) ??
    (globals.Bun ? (import.meta as unknown as { require?(id: string): unknown }).require?.(name) : undefined);
}
