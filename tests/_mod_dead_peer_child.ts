// Runs inside a network namespace of its own (see dead_peer_test.ts): connects
// over loopback, configures the client, takes loopback down, and reports on
// stdout how the client's pending read ended.
import { execFileSync } from "node:child_process";
import { setKeepalive } from "../mod.ts";
import { openPair } from "./_net.ts";

const [mode, waitMs] = [process.argv.at(-2)!, Number(process.argv.at(-1))];
execFileSync("ip", ["link", "set", "lo", "up"]);
const pair = await openPair("127.0.0.1");
if (mode === "tuned") setKeepalive(pair.client, { idleMs: 1000, intervalMs: 1000, count: 2 });
else if (mode === "runtime") pair.runtimeKeepAlive();
else if (mode === "user-timeout") setKeepalive(pair.client, { enable: false, userTimeoutMs: 2000 });
else throw new Error(`unknown mode ${mode}`);
const ended = pair.clientEnded();
execFileSync("ip", ["link", "set", "lo", "down"]);
const start = performance.now();
if (mode === "user-timeout") pair.send(new Uint8Array(1000));
const outcome = await Promise.race([
  ended,
  new Promise<string>((resolve) => setTimeout(() => resolve("pending"), waitMs)),
]);
console.log(JSON.stringify({ outcome, elapsedMs: Math.round(performance.now() - start) }));
process.exit(0);
