// Runs in Bun's Windows build under Wine: keepalive on a loopback connection
// through ws2_32, reported as one JSON line; the connection stays open for
// HOLD_MS so the host can read its timer with ss.
import { getKeepalive, setKeepalive, setProcessKeepalive } from "../../mod.ts";

const HOLD_MS = 3000;
const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const client = await Bun.connect({ hostname: "127.0.0.1", port: listener.port, socket: { data() {} } });
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
const report = {
  platform: process.platform,
  fd: client.fd,
  port: client.localPort,
  before: attempt(() => getKeepalive(client)),
  set: attempt(() => setKeepalive(client, { idleMs: 5000, intervalMs: 2000, count: 10 })),
  after: attempt(() => getKeepalive(client)),
  count4: attempt(() => setKeepalive(client, { count: 4 })),
  userTimeout: attempt(() => setKeepalive(client, { userTimeoutMs: 1000 })),
  process: attempt(() => setProcessKeepalive(process.pid, { idleMs: 5000 })),
};
console.log(JSON.stringify(report, (_key, value) => value === undefined ? null : value));
await Bun.sleep(HOLD_MS);
client.end();
listener.stop(true);
process.exit(0);
