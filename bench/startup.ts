// deno run -A bench/startup.ts, bun bench/startup.ts : what importing the module
// and configuring one socket adds to a script's start (target: <= 15 ms).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const RUNS = 21;
const deno = "Deno" in globalThis;
const script = (name: string) => fileURLToPath(new URL(`./_startup_${name}.ts`, import.meta.url));
const command = (name: string) => deno ? ["run", "-A", script(name)] : [script(name)];

function median(name: string): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    execFileSync(process.execPath, command(name), { stdio: "ignore" });
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[RUNS >> 1];
}

median("with"); // warm caches (Deno's type-check and module caches)
median("without");
const without = median("without");
const withModule = median("with");
console.log(
  `\nstart-up under ${deno ? "Deno" : "Bun"} (target: <= 15 ms more), median of ${RUNS}:` +
    `\n  script without the module  ${without.toFixed(1)} ms` +
    `\n  script with the module     ${withModule.toFixed(1)} ms  +${(withModule - without).toFixed(1)} ms, ${
      (withModule / without).toFixed(2)
    }x`,
);
