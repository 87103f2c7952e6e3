// One test function for `deno test`, `bun test` and `node --test` (via tsx).
type Body = () => void | Promise<void>;

const g = globalThis as { Deno?: unknown; Bun?: unknown };

/** The runtime running the tests. */
export const runtime: "deno" | "bun" | "node" = g.Deno ? "deno" : g.Bun ? "bun" : "node";

// Specifiers in variables: neither runtime resolves the other's module.
const bunTest = "bun:test";
const nodeTest = "node:test";

async function runner(): Promise<(name: string, body: Body, timeoutMs: number) => void> {
  if (runtime === "deno") return (name, fn) => Deno.test({ name, fn });
  if (runtime === "bun") return (await import(bunTest)).test;
  const { test } = await import(nodeTest);
  return (name, fn, timeout) => test(name, { timeout }, fn);
}

const register = await runner();

/**
 * Registers a test; `timeoutMs` bounds it where the runner has per-test timeouts
 * (Bun's default of 5 s is too short for a dead peer).
 */
export function test(name: string, body: Body, timeoutMs = 5_000): void {
  register(name, body, timeoutMs);
}

/** Registers a test under one runtime only: its API is not in the other. */
export function testUnder(only: typeof runtime, name: string, body: Body, timeoutMs?: number): void {
  if (runtime === only) test(name, body, timeoutMs);
}
