/**
 * A timer that does not keep the process alive, in every runtime.
 *
 * @module
 */
import { globals } from "./_globals.ts";

/**
 * Runs `run` once after `ms`, on a timer that does not keep the process alive.
 *
 * @param ms The delay.
 * @param run What to run.
 * @returns Cancels the timer.
 */
export function afterUnref(ms: number, run: () => void): () => void {
  const timer = setTimeout(run, ms);
  // Deno's timers are numbers, unreferenced through Deno; Bun's and Node's are objects with unref().
  if (typeof timer === "number") globals.Deno?.unrefTimer(timer);
  else (timer as { unref(): void }).unref();
  return () => clearTimeout(timer);
}
