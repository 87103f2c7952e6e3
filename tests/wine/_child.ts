// Runs in Deno's or Bun's Windows build under Wine: keepalive on a loopback
// connection of the runtime's own API through ws2_32, reported as one JSON
// line; the connection stays open for HOLD_MS so the host can read its timer
// with ss (Wine's sockets are the host's).
import { getKeepalive, getTcpInfo, setKeepalive, setProcessKeepalive } from "../../mod.ts";

const HOLD_MS = 3000;
const g = globalThis as { Deno?: typeof Deno };

/** A loopback connection: Deno's hands out no SOCKET (found by walking handle values), Bun's its `fd`. */
async function connection() {
  if (g.Deno) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const close = () => (client.close(), listener.close());
    return { client, fd: null, port: client.localAddr.port, close };
  }
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const client = await Bun.connect({ hostname: "127.0.0.1", port: listener.port, socket: { data() {} } });
  return { client, fd: client.fd, port: client.localPort, close: () => (client.end(), listener.stop(true)) };
}

const attempt = (run: () => unknown) => {
  try {
    return run();
  } catch (error) {
    return {
      error: {
        name: (error as Error).name,
        code: (error as { code?: string }).code,
        message: (error as Error).message,
      },
    };
  }
};
const { client, fd, port, close } = await connection();
const report = {
  runtime: g.Deno ? "deno" : "bun",
  platform: process.platform,
  fd,
  port,
  before: attempt(() => getKeepalive(client)),
  set: attempt(() => setKeepalive(client, { idleMs: 5000, intervalMs: 2000, count: 10 })),
  after: attempt(() => getKeepalive(client)),
  count4: attempt(() => setKeepalive(client, { count: 4 })),
  userTimeout: attempt(() => setKeepalive(client, { userTimeoutMs: 1000 })),
  process: attempt(() => setProcessKeepalive(1, { idleMs: 5000 })),
  info: attempt(() => getTcpInfo(client)),
};
console.log(JSON.stringify(report, (_key, value) => value === undefined ? null : value));
await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
close();
process.exit(0);
