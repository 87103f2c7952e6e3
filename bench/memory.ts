// deno run -A --v8-flags=--expose-gc bench/memory.ts, bun bench/memory.ts :
// 100,000 calls on live and closed connections (target: the heap within 1 MB of
// where it started: buffers are reused, and closed connections are forgotten).
import { getKeepalive, setKeepalive } from "../mod.ts";
import { loopbackServer } from "./_loopback.ts";

const CALLS = 100_000;
const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
const collect = () => g.Bun ? g.Bun.gc(true) : g.gc!();
const heap = () => (collect(), process.memoryUsage().heapUsed);

const server = await loopbackServer();

async function round(calls: number): Promise<void> {
  const live = await server.connect();
  const closed = await server.connect();
  setKeepalive(closed, { idleMs: 5000 });
  closed.destroy();
  await new Promise((resolve) => closed.once("close", resolve));
  for (let i = 0; i < calls; i++) {
    if (i % 2) setKeepalive(live, { idleMs: i % 4 === 1 ? 5000 : 6000 });
    else getKeepalive(live);
    if (i % 1000 === 0) {
      try {
        setKeepalive(closed, { idleMs: 5000 });
      } catch {
        // EBADF: closed
      }
    }
  }
  live.destroy();
}

await round(1_000); // warm up: code compiled, buffers allocated
const before = heap();
for (let i = 0; i < 10; i++) await round(CALLS / 10);
await new Promise((resolve) => setTimeout(resolve, 100));
const after = heap();
console.log(
  `\nmemory under ${g.Bun ? "Bun" : "Deno"} (target: within 1 MB): ${CALLS} calls on live and closed connections:` +
    ` heap ${(before / 1e6).toFixed(2)} MB -> ${(after / 1e6).toFixed(2)} MB, ${
      ((after - before) / 1e3).toFixed(0)
    } KB`,
);
server.close();
