// deno run -A bench/startup.ts, bun bench/startup.ts, node bench/startup.ts : what importing the module
// and configuring one socket adds to a script's start (target: <= 15 ms).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const RUNS = 21;
const runtime = "Deno" in globalThis ? "Deno" : "Bun" in globalThis ? "Bun" : "Node";
const script = (name: string) => fileURLToPath(new URL(`./_startup_${name}.js`, import.meta.url));
const command = (name: string) =>
  runtime === "Deno"
    ? ["run", "-A", script(name)]
    : runtime === "Node"
    ? ["--disable-warning=ExperimentalWarning", script(name)]
    : [script(name)];

function median(name: string): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    execFileSync(process.execPath, command(name), { stdio: "ignore" });
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[RUNS >> 1];
}

// Bun and Node users of the npm package get the bundle in dist/; Deno users the TypeScript, from JSR.
const variants = runtime === "Deno" ? ["with"] : ["with", "package"];
const labels: Record<string, string> = { with: "with the module (source)", package: "with the npm package's bundle" };
for (const name of ["without", ...variants]) median(name); // warm caches
const without = median("without");
console.log(`\nstart-up under ${runtime} (target: <= 15 ms more), median of ${RUNS}:`);
console.log(`  script without the module                 ${without.toFixed(1)} ms`);
for (const name of variants) {
  const time = median(name);
  console.log(
    `  script ${labels[name].padEnd(34)} ${time.toFixed(1)} ms  +${(time - without).toFixed(1)} ms, ${
      (time / without).toFixed(2)
    }x`,
  );
}
