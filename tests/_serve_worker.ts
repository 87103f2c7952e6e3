// A Worker that serves HTTP with its runtime's own server on the port it is sent, sharing it (reusePort), and
// answers "listening".
import { Bun } from "./_net.ts";

self.addEventListener("message", (event) => {
  const port = (event as MessageEvent<number>).data;
  const reply = () => new Response("worker");
  if (Bun) Bun.serve({ hostname: "127.0.0.1", port, reusePort: true, fetch: reply });
  else Deno.serve({ hostname: "127.0.0.1", port, reusePort: true, onListen() {} }, reply);
  (self as unknown as Worker).postMessage("listening");
});
