// A node:net server on loopback, for the benchmarks of both runtimes.
import net from "node:net";

/** A listening server that drops what it reads, and a way to connect to it. */
export interface LoopbackServer {
  connect(): Promise<net.Socket>;
  close(): void;
}

/** Listens on 127.0.0.1 on a free port. */
export async function loopbackServer(): Promise<LoopbackServer> {
  const server = net.createServer((socket) => socket.on("data", () => {}));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    connect: () =>
      new Promise<net.Socket>((resolve) => {
        const client = net.connect(port, "127.0.0.1", () => resolve(client));
      }),
    close: () => void server.close(),
  };
}
