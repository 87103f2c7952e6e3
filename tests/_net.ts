// Loopback connections made with each runtime's own API, so the same test runs
// against Deno.TcpConn under Deno, Bun's Socket under Bun, and node:net under Node.
import { execFileSync } from "node:child_process";
import type net from "node:net";
import type { KeepaliveTarget } from "../mod.ts";
import { ending, loopbackPair } from "../cli/_net.ts";
import { runtime } from "./_harness.ts";

/** A listener, a client and the socket it accepted; closed at the end of its scope (`using pair = ...`). */
export interface Pair extends Disposable {
  listener: KeepaliveTarget;
  client: KeepaliveTarget;
  accepted: KeepaliveTarget;
  clientPort: number;
  listenerPort: number;
  /** The runtime's own `setKeepAlive(true)` on the client. */
  runtimeKeepAlive(): void;
  /** Resolves with how the client's read ended: an errno name, or "EOF". */
  clientEnded(): Promise<string>;
  /** Writes on the client. */
  send(bytes: Uint8Array): void;
  close(): void;
}

const DENO_ERRORS: Record<string, string> = {
  TimedOut: "ETIMEDOUT",
  ConnectionReset: "ECONNRESET",
  ConnectionAborted: "ECONNABORTED",
  BrokenPipe: "EPIPE",
};

async function denoPair(hostname: string): Promise<Omit<Pair, typeof Symbol.dispose>> {
  const listener = Deno.listen({ hostname, port: 0 });
  const client = await Deno.connect({ hostname, port: listener.addr.port });
  const accepted = await listener.accept();
  return {
    listener,
    client,
    accepted,
    clientPort: (client.localAddr as Deno.NetAddr).port,
    listenerPort: listener.addr.port,
    runtimeKeepAlive: () => client.setKeepAlive(true),
    async clientEnded() {
      try {
        return (await client.read(new Uint8Array(64))) === null ? "EOF" : "data";
      } catch (error) {
        return DENO_ERRORS[(error as Error).name] ?? (error as Error).name;
      }
    },
    send: (bytes) => void client.write(bytes).catch(() => {}),
    close() {
      for (const closer of [client, accepted, listener]) {
        try {
          closer.close();
        } catch { /* already closed by the test */ }
      }
    },
  };
}

// Bun's types stay out of Deno's type check.
// deno-lint-ignore no-explicit-any
export const Bun: any = Reflect.get(globalThis, "Bun");
type ErrnoError = Error & { code?: string };

async function bunPair(hostname: string): Promise<Omit<Pair, typeof Symbol.dispose>> {
  // deno-lint-ignore no-explicit-any
  const { promise: acceptedOnce, resolve: accept } = Promise.withResolvers<any>();
  const { promise: ended, resolve: end } = Promise.withResolvers<string>();
  const listener = Bun.listen({ hostname, port: 0, socket: { open: accept, data() {} } });
  const client = await Bun.connect({
    hostname,
    port: listener.port,
    socket: {
      data() {},
      error: (_socket: unknown, error: ErrnoError) => end(error.code ?? error.message),
      close: (_socket: unknown, error?: ErrnoError) => end(error ? error.code ?? error.message : "EOF"),
    },
  });
  const accepted = await acceptedOnce;
  return {
    listener,
    client,
    accepted,
    clientPort: client.localPort,
    listenerPort: listener.port,
    runtimeKeepAlive: () => void client.setKeepAlive(true),
    clientEnded: () => ended,
    send: (bytes) => void client.write(bytes),
    close() {
      client.end();
      accepted.end();
      listener.stop(true);
    },
  };
}

/** The command line's node:net pair, with what the tests ask of every pair. */
async function nodePair(hostname: string): Promise<Omit<Pair, typeof Symbol.dispose>> {
  const { server, client, accepted, close } = await loopbackPair(hostname);
  const ended = ending(client);
  return {
    listener: server,
    client,
    accepted,
    clientPort: client.localPort!,
    listenerPort: (server.address() as net.AddressInfo).port,
    runtimeKeepAlive: () => void client.setKeepAlive(true),
    clientEnded: () => ended,
    send: (bytes) => void client.write(bytes),
    close,
  };
}

/** Opens a listener on `hostname`, connects to it and accepts. */
export async function openPair(hostname: string): Promise<Pair> {
  const pair =
    await (runtime === "bun" ? bunPair(hostname) : runtime === "deno" ? denoPair(hostname) : nodePair(hostname));
  return Object.assign(pair, { [Symbol.dispose]: () => pair.close() });
}

/** A network namespace of a test's own (`ip netns add`), deleted at the end of its scope (`using`). */
export interface TestNamespace extends Disposable {
  readonly name: string;
}

/** Adds the network namespace `name`, its loopback up (a new one's is down); `using` deletes it, with what is left. */
export function testNamespace(name: string): TestNamespace {
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  return { name, [Symbol.dispose]: () => void execFileSync("ip", ["netns", "del", name]) };
}
