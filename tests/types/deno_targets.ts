// Type-checked by `deno check` (release_test.ts), never run: every target kind the README lists, under Deno's
// types, is a KeepaliveTarget.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { getKeepalive, type KeepaliveTarget, setKeepalive } from "../../mod.ts";

export async function denoTargets(): Promise<KeepaliveTarget[]> {
  const listener: Deno.Listener = Deno.listen({ port: 0 });
  const tlsListener: Deno.TlsListener = Deno.listenTls({ port: 0, cert: "", key: "" });
  const conn: Deno.TcpConn = await Deno.connect({ port: 1 });
  const tlsConn: Deno.TlsConn = await Deno.connectTls({ port: 1 });
  const startedTls: Deno.TlsConn = await Deno.startTls(conn, { hostname: "localhost" });
  const server: Deno.HttpServer = Deno.serve(() => new Response());
  const targets: KeepaliveTarget[] = [3, listener, tlsListener, conn, tlsConn, startedTls, server];
  const nodeTargets: KeepaliveTarget[] = [
    new net.Socket(),
    net.createServer(),
    new tls.TLSSocket(new net.Socket()),
    tls.createServer(),
    http.createServer(),
    https.createServer(),
  ];
  for (const target of targets) setKeepalive(target, { timeoutMs: 30_000 });
  return [...targets, ...nodeTargets].filter((target) => getKeepalive(target).enabled);
}
