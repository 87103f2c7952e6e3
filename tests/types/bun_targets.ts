// Type-checked by `tsc -p tsconfig.bun.json` (release_test.ts), never run: every target kind the README lists,
// under Bun's types (@types/bun), is a KeepaliveTarget.
import http from "node:http";
import net from "node:net";
import { getKeepalive, type KeepaliveTarget, setKeepalive } from "../../mod.ts";

export async function bunTargets(): Promise<KeepaliveTarget[]> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const socket = await Bun.connect({ hostname: "127.0.0.1", port: 1, socket: { data() {} } });
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  setKeepalive(listener, { idleMs: 10_000 });
  setKeepalive(socket, { idleMs: 10_000 });
  setKeepalive(server, { idleMs: 10_000 });
  const targets: KeepaliveTarget[] = [
    3,
    listener,
    socket,
    server,
    new net.Socket(),
    net.createServer(),
    http.createServer(),
  ];
  return targets.filter((target) => getKeepalive(target).enabled);
}
