/**
 * Turns a target (a descriptor, a Deno, Bun or `node:net` socket or listener)
 * into a descriptor. Deno hands none out, so its sockets are found by matching
 * `getsockname`/`getpeername` against their addresses, and remembered.
 *
 * @module
 */
import type { Syscalls } from "./_syscalls.ts";
import { KeepaliveError } from "./errors.ts";
import type { Platform } from "./platforms/mod.ts";
import type { KeepaliveTarget, NetAddrLike } from "./types.ts";

/** An address to match: `ip` undefined matches any address (a name such as `localhost`). */
interface Endpoint {
  readonly ip: Uint8Array | undefined;
  readonly port: number;
}

/** A socket known by its addresses: `peer` null for a listener. */
interface Lookup {
  readonly local: Endpoint;
  readonly peer: Endpoint | null;
  readonly label: string;
}

type AnyTarget = Record<string, unknown>;

/** The descriptor each object was last found at, and its addresses. */
const found = new WeakMap<object, { fd: number; lookup?: Lookup }>();
const GUESSES = 8;
const address = new Uint8Array(128); // sizeof(struct sockaddr_storage)

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) < 256)) return undefined;
  return Uint8Array.from(parts, Number);
}

function wordsOf(text: string): number[] | undefined {
  if (text === "") return [];
  const words: number[] = [];
  const pieces = text.split(":");
  for (const [i, piece] of pieces.entries()) {
    const v4 = i === pieces.length - 1 ? parseIPv4(piece) : undefined;
    if (v4) words.push(v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]);
    else if (/^[0-9a-f]{1,4}$/i.test(piece)) words.push(parseInt(piece, 16));
    else return undefined;
  }
  return words;
}

function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = wordsOf(halves[0]);
  const tail = halves.length === 2 ? wordsOf(halves[1]) : [];
  if (!head || !tail) return undefined;
  const gap = 8 - head.length - tail.length;
  if (halves.length === 2 ? gap < 1 : gap !== 0) return undefined;
  const bytes = new Uint8Array(16);
  [...head, ...new Array<number>(gap).fill(0), ...tail].forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the IPv4 address, so both spellings match. */
function unmapped(ip: Uint8Array): Uint8Array {
  const mapped = ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
  return mapped ? ip.slice(12) : ip;
}

/**
 * Parses an IP literal (IPv4, IPv6 with or without brackets and zone).
 *
 * @param host The text.
 * @returns The address bytes (4 or 16), or `undefined` for a name.
 */
function parseIp(host: string): Uint8Array | undefined {
  const bare = host.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const ip = parseIPv4(bare) ?? parseIPv6(bare);
  return ip && unmapped(ip);
}

function endpoint(host: unknown, port: unknown): Endpoint | undefined {
  if (typeof port !== "number") return undefined;
  return { ip: typeof host === "string" ? parseIp(host) : undefined, port };
}

function sameEndpoint(platform: Platform, sockaddr: Uint8Array, want: Endpoint): boolean {
  const { offset, bytes } = platform.sockaddrFamily;
  const family = bytes === 1 ? sockaddr[offset] : sockaddr[offset] | sockaddr[offset + 1] << 8;
  const port = sockaddr[2] << 8 | sockaddr[3];
  if (port !== want.port) return false;
  let ip: Uint8Array;
  if (family === platform.AF_INET) ip = sockaddr.subarray(4, 8);
  else if (family === platform.AF_INET6) ip = unmapped(sockaddr.subarray(8, 24));
  else return false;
  return want.ip === undefined || (want.ip.length === ip.length && want.ip.every((b, i) => b === ip[i]));
}

function matches(sys: Syscalls, platform: Platform, fd: number, lookup: Lookup): boolean {
  if (sys.getsockname(fd, address) < 0 || !sameEndpoint(platform, address, lookup.local)) return false;
  const peer = sys.getpeername(fd, address);
  return lookup.peer === null ? peer < 0 : peer >= 0 && sameEndpoint(platform, address, lookup.peer);
}

function notTcp(label: string, transport: unknown): KeepaliveError {
  return new KeepaliveError(`${label} is a ${String(transport)} socket; keepalive needs TCP`, { code: "EOPNOTSUPP" });
}

function closed(label: string): KeepaliveError {
  return new KeepaliveError(`${label} is closed`, { code: "EBADF" });
}

function addrText(addr: NetAddrLike): string {
  return `${addr.hostname}:${addr.port}`;
}

function fromDenoAddrs(local: NetAddrLike, peer: NetAddrLike | null, label: string): Lookup {
  if (local.transport !== "tcp") throw notTcp(label, local.transport);
  return {
    local: endpoint(local.hostname, local.port)!,
    peer: peer && endpoint(peer.hostname, peer.port)!,
    label: peer ? `${label} ${addrText(local)} -> ${addrText(peer)}` : `${label} ${addrText(local)}`,
  };
}

function notASocket(got: string): TypeError {
  return new TypeError(`target must be a descriptor or a Deno, Bun or node:net socket or listener; got ${got}`);
}

/** What a target is, before any system call: a descriptor, or addresses to look up. */
function classify(target: KeepaliveTarget): number | Lookup {
  if (typeof target === "number") {
    if (!Number.isInteger(target) || target < 0) {
      throw new RangeError(`target must be a descriptor (an integer of at least 0) or a socket; got ${target}`);
    }
    return target;
  }
  if (typeof target !== "object" || target === null) throw notASocket(String(target));
  const t = target as AnyTarget;
  if (typeof t.fd === "number") { // Bun Socket, Bun.listen
    if (t.fd < 0) throw closed("Bun socket");
    return t.fd;
  }
  if (typeof t.localAddr === "object" && typeof t.remoteAddr === "object") { // Deno.TcpConn, Deno.TlsConn
    return fromDenoAddrs(t.localAddr as NetAddrLike, t.remoteAddr as NetAddrLike, "Deno connection");
  }
  if (typeof t.addr === "object") { // Deno.Listener, Deno.serve
    return fromDenoAddrs(t.addr as NetAddrLike, null, "Deno listener");
  }
  if (t.url instanceof URL && typeof t.port === "number") { // Bun.serve
    return { local: endpoint(t.hostname, t.port)!, peer: null, label: `Bun server ${t.url.host}` };
  }
  if ("remotePort" in t) { // node:net Socket
    const local = endpoint(t.localAddress, t.localPort);
    const peer = endpoint(t.remoteAddress, t.remotePort);
    if (!local || !peer) throw closed("node:net socket");
    return {
      local,
      peer,
      label: `node:net socket ${t.localAddress}:${t.localPort} -> ${t.remoteAddress}:${t.remotePort}`,
    };
  }
  if (typeof t.address === "function") { // node:net Server, node:dgram Socket
    const info = (t.address as () => unknown)() as { address?: string; port?: number } | string | null;
    if (info === null) throw closed("node:net server");
    if (typeof info === "string") throw notTcp("node:net server", "pipe");
    return {
      local: endpoint(info.address, info.port)!,
      peer: null,
      label: `node:net server ${info.address}:${info.port}`,
    };
  }
  throw notASocket(Object.prototype.toString.call(target));
}

/**
 * Checks a target's shape, before any system call.
 *
 * @param target What the caller passed.
 * @returns A function that finds its descriptor.
 * @throws {TypeError | RangeError} If it names no socket.
 * @throws {KeepaliveError} `EBADF` if it is closed, `EOPNOTSUPP` if it is not TCP.
 */
export function checkTarget(target: KeepaliveTarget): (sys: Syscalls, platform: Platform) => number {
  // A connection's addresses never change: one seen before skips classify, which costs more than the two calls
  // below. A listener's can (a node:net server may listen again elsewhere), so it is classified every time.
  const what = (typeof target === "object" && target !== null && found.get(target)?.lookup) || classify(target);
  if (typeof what === "number") return () => what;
  return (sys, platform) => {
    const known = found.get(target as object)?.fd;
    if (known !== undefined) {
      if (matches(sys, platform, known, what)) return known;
      guesses.found(known); // closed: a new socket is likely to land there
    }
    const fd = guesses.find(sys, platform, what) ?? walk(sys, platform, what);
    found.set(target as object, { fd, lookup: what.peer ? what : undefined });
    return fd;
  };
}

/** Checks every descriptor, and learns from them where new sockets will land. */
function walk(sys: Syscalls, platform: Platform, what: Lookup): number {
  const fds = sys.descriptors();
  guesses.learn(fds);
  for (const fd of fds) {
    if (matches(sys, platform, fd, what)) {
      guesses.found(fd);
      return fd;
    }
  }
  throw new KeepaliveError(`no open socket of this process is ${what.label}; is it closed?`, {
    code: "EBADF",
    syscall: "getsockname",
  });
}

/**
 * Where a socket not yet known is likely to be, so that it is found with a few
 * calls instead of a walk: the kernel hands out the lowest free descriptor, so
 * a new socket lands in a gap the last walk saw, or where a recent one closed.
 * A guess is only a place to look first: it is taken only if both addresses match.
 */
const guesses = {
  /** Descriptors of sockets found or forgotten lately, newest first. */
  recent: [] as number[],
  /** The lowest descriptors the last walk did not see. */
  gaps: [] as number[],

  find(sys: Syscalls, platform: Platform, what: Lookup): number | undefined {
    for (const fd of [...this.recent, ...this.gaps]) {
      if (matches(sys, platform, fd, what)) {
        this.found(fd);
        return fd;
      }
    }
    return undefined;
  },
  found(fd: number): void {
    this.recent = [fd, ...this.recent.filter((other) => other !== fd)].slice(0, GUESSES);
    this.gaps = this.gaps.filter((gap) => gap !== fd);
  },
  learn(fds: readonly number[]): void {
    const gaps: number[] = [];
    for (let fd = 0, i = 0; gaps.length < GUESSES; fd++) {
      if (fds[i] === fd) i++;
      else gaps.push(fd);
    }
    this.gaps = gaps;
  },
};
