/**
 * Connections for the command line, through `node:net` and `node:tls`, which
 * both runtimes have.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import type { HostPort } from "./_format.ts";

type ErrnoError = Error & { code?: string };

/** How long connecting, and the TLS handshake, may take: Go's `http.Transport` gives a handshake 10 s too. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects, and for `tls` completes the handshake, within {@linkcode CONNECT_TIMEOUT_MS}.
 *
 * @param to Where.
 * @param useTls Whether to speak TLS (verifying the server's certificate).
 * @returns The connected socket.
 * @throws {Error} One line naming the problem: a name that does not resolve, a refused connection, a failed or
 *   unanswered handshake.
 */
export function connect(to: HostPort, useTls: boolean): Promise<net.Socket> {
  const where = `${net.isIPv6(to.host) ? `[${to.host}]` : to.host}:${to.port}`;
  return new Promise((resolve, reject) => {
    const socket = useTls
      ? tls.connect({ host: to.host, port: to.port, servername: net.isIP(to.host) ? undefined : to.host })
      : net.connect(to.port, to.host);
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no ${useTls ? "TLS handshake" : "connection"} with ${where} within ${CONNECT_TIMEOUT_MS / 1000} s`),
      );
    }, CONNECT_TIMEOUT_MS);
    socket.once(useTls ? "secureConnect" : "connect", () => (clearTimeout(deadline), resolve(socket)));
    socket.once("error", (error: ErrnoError) => {
      clearTimeout(deadline);
      reject(
        new Error(
          error.code === "ENOTFOUND" || error.code === "EAI_AGAIN" || error.code === "EAI_NONAME"
            ? `cannot resolve ${to.host}`
            : error.code === "ECONNREFUSED"
            ? `connection refused by ${where}`
            : `cannot connect to ${where}: ${error.message}`,
        ),
      );
    });
  });
}

/** A connection's two ends, as text. */
export function describeConnection(socket: net.Socket): string {
  const end = (address?: string, port?: number) => `${net.isIPv6(address ?? "") ? `[${address}]` : address}:${port}`;
  return `${end(socket.localAddress, socket.localPort)} -> ${end(socket.remoteAddress, socket.remotePort)}`;
}

/**
 * How a connection ended: an errno name such as `ETIMEDOUT`, or `EOF`.
 *
 * @param socket The connection; it is put in flowing mode, its data dropped.
 * @returns Resolves when it ends.
 */
export function ending(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.on("data", () => {}); // flowing, so that errors and the end arrive
    socket.once("error", (error: ErrnoError) => resolve(error.code ?? error.message));
    socket.once("end", () => resolve("EOF"));
  });
}

/** A loopback connection: a listener, a client, and the socket the listener accepted. */
export interface LoopbackPair {
  server: net.Server;
  client: net.Socket;
  accepted: net.Socket;
  close(): void;
}

/**
 * Listens on a loopback address, connects, and accepts (the tests' `node:net` pair too).
 *
 * @param hostname `127.0.0.1` or `::1`.
 * @returns The pair.
 */
export async function loopbackPair(hostname = "127.0.0.1"): Promise<LoopbackPair> {
  let accept!: (socket: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => accept = resolve);
  const server = net.createServer(accept);
  await new Promise<void>((resolve) => server.listen(0, hostname, resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, hostname);
  await new Promise((resolve) => client.once("connect", resolve));
  const serverSide = await accepted;
  return {
    server,
    client,
    accepted: serverSide,
    close() {
      client.destroy();
      serverSide.destroy();
      server.close();
    },
  };
}
