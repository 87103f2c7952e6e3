/**
 * What a target reports of itself, before any system call: a descriptor it
 * hands out (a Bun socket's `fd`, a `node:net` handle's), or the addresses it
 * reports (Deno's `NetAddr`s, a `node:net` socket's, a server's), with what
 * it is called in errors; and its shape checked (closed, not TCP, no socket).
 *
 * @module
 */
import { describe } from "../options/mod.ts";
import { KeepaliveError } from "../socket/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { NetAddrLike } from "../types/mod.ts";

/** The addresses an object reports, as it reports them: cheap to read, compared to see whether they changed. */
export interface Reported {
  readonly local: readonly [host: unknown, port: unknown];
  readonly peer: readonly [host: unknown, port: unknown] | null;
  readonly label: string;
  /** A runtime's own listener, which never listens again once closed: its sockets' cookies are remembered. */
  readonly once?: true;
}

/** A target object, its fields read as the runtimes name them. */
export type AnyTarget = Record<string, unknown>;

function notTcp(label: string, transport: unknown): KeepaliveError {
  return new KeepaliveError(`${label} is a ${String(transport)} socket; keepalive needs TCP`, { code: "EOPNOTSUPP" });
}

export function closed(label: string): KeepaliveError {
  return new KeepaliveError(`${label} is closed`, { code: "EBADF" });
}

function notASocket(got: unknown): TypeError {
  return new TypeError(
    `target must be a descriptor or a Deno, Bun or node:net socket, listener or server; got ${describe(got)}`,
  );
}

export function checkDescriptor(platform: Platform, fd: unknown, label: string): number {
  if (typeof fd !== "number") throw notASocket(fd);
  if (!Number.isInteger(fd) || fd < 0 || fd > platform.descriptorMax) {
    throw new RangeError(
      `${label} must be an integer from 0 to ${platform.descriptorMax} (a ${platform.name} ${
        platform.name === "Windows" ? "SOCKET" : "descriptor"
      }); got ${describe(fd)}`,
    );
  }
  return fd;
}

export function hostText(host: unknown): string {
  return typeof host === "string" && host.includes(":") ? `[${host}]` : String(host);
}

/** Deno's `NetAddr`: `transport` is "tcp", or absent on a `Deno.startTls` connection. */
function denoAddr(addr: NetAddrLike, label: string): readonly [unknown, unknown] {
  if (addr.transport !== undefined && addr.transport !== "tcp") throw notTcp(label, addr.transport);
  return [addr.hostname, addr.port];
}

/** What an object reports, before any system call; `number` for a descriptor it hands out. */
export function reported(platform: Platform, t: AnyTarget): number | Reported {
  if (typeof t.fd === "number") { // Bun Socket, Bun.listen
    if (t.fd === -1) throw closed("Bun socket");
    return checkDescriptor(platform, t.fd, "the socket's fd");
  }
  if (typeof t.localAddr === "object" && typeof t.remoteAddr === "object") { // Deno.TcpConn, Deno.TlsConn
    const label = "Deno connection";
    return {
      local: denoAddr(t.localAddr as NetAddrLike, label),
      peer: denoAddr(t.remoteAddr as NetAddrLike, label),
      label,
    };
  }
  if (typeof t.addr === "object" && t.addr !== null) { // Deno.Listener, Deno.serve
    const label = "Deno listener";
    return { local: denoAddr(t.addr as NetAddrLike, label), peer: null, label, once: true };
  }
  const url = t.url as { protocol?: unknown } | null | undefined;
  if (typeof url?.protocol === "string") { // Bun.serve: a URL
    if (url.protocol === "unix:") throw notTcp("Bun server", "unix");
    return { local: [t.hostname, t.port], peer: null, label: "Bun server", once: true };
  }
  if ("remotePort" in t) { // node:net Socket
    const label = "node:net socket";
    // Before its addresses: node:net keeps the peer's after destroy(), once it was read, but not its own.
    if (t.destroyed) throw closed(label);
    if (t.remotePort === undefined) {
      if (t.connecting) {
        throw new KeepaliveError(`${label} is still connecting; call this once it has emitted 'connect'`, {
          code: "ENOTCONN",
        });
      }
      throw notTcp(label, "Unix-domain");
    }
    return { local: [t.localAddress, t.localPort], peer: [t.remoteAddress, t.remotePort], label };
  }
  if (typeof t.send === "function" && /^udp/.test(String(t.type))) throw notTcp("node:dgram socket", "UDP");
  if (typeof t.address === "function") { // node:net Server
    const label = "node:net server";
    const info = (t.address as () => unknown)() as { address?: string; port?: number } | string | null;
    if (info === null) throw new KeepaliveError(`${label} is not listening`, { code: "EBADF" });
    if (typeof info === "string") throw notTcp(label, "Unix-domain");
    return { local: [info.address, info.port], peer: null, label };
  }
  if (typeof t.port === "number" && typeof t.hostname === "string") { // a listener known by its address
    return { local: [t.hostname, t.port], peer: null, label: "listener" };
  }
  throw notASocket(t);
}

/** The descriptor the runtime hands out for an object of its own, where it does (Node's `node:net`). */
export type Handed = (target: object) => number | undefined;

/** A runtime that hands out no descriptor: its objects are found by what they report. */
export const NONE_HANDED: Handed = () => undefined;

/** The descriptor the runtime hands out for its own object, checked like a number given. */
export function handed(platform: Platform, target: object, descriptorOf: Handed): number[] | undefined {
  const fd = descriptorOf(target);
  return fd === undefined ? undefined : [checkDescriptor(platform, fd, "the runtime's descriptor")];
}
