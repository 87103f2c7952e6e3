// Under Node: a worker_threads thread connects to a server of the main thread's, and says, in the turn of its
// 'connect' (from setImmediate, before any timer could sweep), what its socket holds. With "main" as the argument, the
// main thread starts autoKeepalive itself first (no preload). Prints the worker's report as JSON.
import net from "node:net";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { autoKeepalive, getKeepalive } from "../mod.ts";

if (isMainThread) {
  if (process.argv[2] === "main") {
    autoKeepalive({ idleMs: 20_000, intervalMs: 4000, count: 5 }, { everyMs: 2 ** 31 - 1 });
  }
  const server = net.createServer((socket) => socket.on("error", () => {}));
  server.listen(0, "127.0.0.1", () => {
    const worker = new Worker(new URL(import.meta.url), { workerData: (server.address() as net.AddressInfo).port });
    worker.once("message", (report) => {
      console.log(JSON.stringify(report));
      process.exit(0);
    });
  });
} else {
  const socket = net.connect(workerData as number, "127.0.0.1", () => {
    setImmediate(() => parentPort!.postMessage(getKeepalive(socket)));
  });
}
