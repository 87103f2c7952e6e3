// Runs inside a network namespace of its own (see mod_dead_peer_test.ts):
// connects over loopback, configures the client, takes loopback down, and
// reports on stdout how the client's pending read ended, with what getTcpInfo
// said every 200 ms until then (the info-* modes).
import { execFileSync } from "node:child_process";
import { getTcpInfo, setKeepalive, type TcpInfo } from "../mod.ts";
import { openPair } from "./_net.ts";

const [mode, waitMs] = [process.argv.at(-2)!, Number(process.argv.at(-1))];
const pair = await openPair("127.0.0.1");
if (mode === "tuned") setKeepalive(pair.client, { idleMs: 1000, intervalMs: 1000, count: 2 });
else if (mode === "runtime") pair.runtimeKeepAlive();
else if (mode === "user-timeout") setKeepalive(pair.client, { enable: false, userTimeoutMs: 2000 });
else if (mode === "info-probes") setKeepalive(pair.client, { idleMs: 1000, intervalMs: 1000, count: 3 });
else if (mode === "info-unacked") setKeepalive(pair.client, { enable: false, userTimeoutMs: 3000 });
else throw new Error(`unknown mode ${mode}`);
let done = false;
const ended = pair.clientEnded().finally(() => done = true);
execFileSync("ip", ["link", "set", "lo", "down"]);
const start = performance.now();
if (mode === "user-timeout" || mode === "info-unacked") pair.send(new Uint8Array(1000));
const samples: TcpInfo[] = [];
const poll = mode.startsWith("info-") ? setInterval(() => done || samples.push(getTcpInfo(pair.client)), 200) : 0;
const outcome = await Promise.race([
  ended,
  new Promise<string>((resolve) => setTimeout(() => resolve("pending"), waitMs)),
]);
clearInterval(poll);
console.log(JSON.stringify({ outcome, elapsedMs: Math.round(performance.now() - start), samples }));
process.exit(0);
