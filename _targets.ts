/**
 * Turns a target (a descriptor, a Deno, Bun or `node:net` socket, listener or
 * server) into the descriptors it names. Deno hands none out, so its sockets
 * are found by matching `getsockname`/`getpeername` against their addresses:
 * a connection is the one socket with both addresses, and is remembered; a
 * listener is every listening socket at its address (`SO_REUSEPORT` lets
 * several share one, in this process or its Workers, and nothing the runtimes
 * hand out tells them apart), looked up on every call, and where the OS has
 * `SO_COOKIE`, known again by the cookies it was first found with.
 *
 * @module
 */
import type { Syscalls } from "./_syscalls.ts";
import { describe } from "./_describe.ts";
import { KeepaliveError } from "./_errors.ts";
import type { Platform } from "./platforms/mod.ts";
import type { KeepaliveTarget, NetAddrLike } from "./_types.ts";

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

/** The addresses an object reports, as it reports them: cheap to read, compared to see whether they changed. */
interface Reported {
  readonly local: readonly [host: unknown, port: unknown];
  readonly peer: readonly [host: unknown, port: unknown] | null;
  readonly label: string;
  /** A runtime's own listener, which never listens again once closed: its sockets' cookies are remembered. */
  readonly once?: true;
}

/** Where a connection was found: its descriptor, its `SO_COOKIE` where the OS has one, and what it was found by. */
interface Found {
  readonly key: string;
  readonly lookup: Lookup;
  readonly fd: number;
  readonly cookie: number | undefined;
}

/** Finds the descriptors of a target: one for a connection, every listening socket at a listener's address. */
export type Finder = (sys: Syscalls) => readonly number[];

type AnyTarget = Record<string, unknown>;

/** Each connection object's socket, once found. */
const remembered = new WeakMap<object, Found>();
/** Each runtime listener's sockets, by `SO_COOKIE`, as first found: none of them there means it closed. */
const listenerCookies = new WeakMap<object, readonly number[]>();
const GUESSES = 8;
const address = new Uint8Array(128); // sizeof(struct sockaddr_storage)
const cookieBytes = new Uint8Array(8);
const cookieView = new DataView(cookieBytes.buffer);

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
 * @returns The address bytes (4, or 16 for IPv6 that is not IPv4-mapped), or `undefined` for a name.
 */
export function parseIp(host: string): Uint8Array | undefined {
  const bare = host.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const ip = parseIPv4(bare) ?? parseIPv6(bare);
  return ip && unmapped(ip);
}

/**
 * The address family of a `sockaddr`, where the platform puts it.
 *
 * @param platform The OS's table.
 * @param sockaddr What `getsockname` or `getpeername` filled.
 * @returns `sa_family`.
 */
function familyOf(platform: Platform, sockaddr: Uint8Array): number {
  const { offset, bytes } = platform.sockaddrFamily;
  return bytes === 1 ? sockaddr[offset] : sockaddr[offset] | sockaddr[offset + 1] << 8;
}

/**
 * The port of a `sockaddr_in` or `sockaddr_in6`: at the same place in both, in network order.
 *
 * @param sockaddr What `getsockname` or `getpeername` filled.
 * @returns The port.
 */
function portOf(sockaddr: Uint8Array): number {
  return sockaddr[2] << 8 | sockaddr[3];
}

/**
 * Whether a descriptor is a TCP socket over IPv4 or IPv6: not Unix-domain, not UDP, not another descriptor.
 *
 * @param sys The binding.
 * @param platform The OS's table.
 * @param fd The descriptor.
 * @param into Receives its local address, for the caller to read.
 * @returns The local port of a TCP socket; `undefined` for anything else.
 */
export function tcpPort(sys: Syscalls, platform: Platform, fd: number, into: Uint8Array): number | undefined {
  if (sys.getsockname(fd, into) < 0) return undefined;
  const family = familyOf(platform, into);
  if (family !== platform.AF_INET && family !== platform.AF_INET6) return undefined;
  const { level, option } = platform.SO_TYPE;
  return sys.getsockoptInt(fd, level, option) === platform.SOCK_STREAM ? portOf(into) : undefined;
}

/**
 * A `sockaddr` of IPv4 or IPv6 as text: `127.0.0.1:80`, `[::1]:80`.
 *
 * @param platform The OS's table.
 * @param sockaddr What `getsockname` or `getpeername` filled.
 * @returns The text; `undefined` for another family.
 */
export function sockaddrText(platform: Platform, sockaddr: Uint8Array): string | undefined {
  const family = familyOf(platform, sockaddr);
  const port = portOf(sockaddr);
  if (family === platform.AF_INET) return `${sockaddr.subarray(4, 8).join(".")}:${port}`;
  if (family !== platform.AF_INET6) return undefined;
  const words = Array.from({ length: 8 }, (_, i) => sockaddr[8 + 2 * i] << 8 | sockaddr[9 + 2 * i]);
  // RFC 5952: the first longest run of two or more zero words becomes "::".
  let [start, length] = [-1, 1];
  for (let i = 0, run = 0; i < 8; i++) {
    run = words[i] === 0 ? run + 1 : 0;
    if (run > length) [start, length] = [i - run + 1, run];
  }
  const hex = (part: number[]) => part.map((word) => word.toString(16)).join(":");
  const text = start < 0 ? hex(words) : `${hex(words.slice(0, start))}::${hex(words.slice(start + length))}`;
  return `[${text}]:${port}`;
}

function sameEndpoint(platform: Platform, sockaddr: Uint8Array, want: Endpoint): boolean {
  if (portOf(sockaddr) !== want.port) return false;
  const family = familyOf(platform, sockaddr);
  let ip: Uint8Array;
  if (family === platform.AF_INET) ip = sockaddr.subarray(4, 8);
  else if (family === platform.AF_INET6) ip = unmapped(sockaddr.subarray(8, 24));
  else return false;
  return want.ip === undefined || (want.ip.length === ip.length && want.ip.every((b, i) => b === ip[i]));
}

function atLocal(sys: Syscalls, platform: Platform, fd: number, lookup: Lookup): boolean {
  return sys.getsockname(fd, address) >= 0 && sameEndpoint(platform, address, lookup.local);
}

/**
 * Whether the socket is listening (`SO_ACCEPTCONN`).
 *
 * @param sys The binding.
 * @param platform The OS's table.
 * @param fd The socket.
 * @returns `true` for a listener.
 */
export function listening(sys: Syscalls, platform: Platform, fd: number): boolean {
  const { level, option } = platform.SO_ACCEPTCONN;
  return sys.getsockoptInt(fd, level, option) > 0;
}

/** A connection matches by both addresses (a listening socket has no peer); a listener must be listening. */
function matches(sys: Syscalls, platform: Platform, fd: number, lookup: Lookup): boolean {
  if (!atLocal(sys, platform, fd, lookup)) return false;
  if (lookup.peer === null) return listening(sys, platform, fd);
  return sys.getpeername(fd, address) >= 0 && sameEndpoint(platform, address, lookup.peer);
}

/**
 * A socket's `SO_COOKIE`, where the OS has one.
 *
 * @param sys The binding.
 * @param platform The OS's table.
 * @param fd The descriptor.
 * @returns The cookie; `undefined` where the OS has none, or `fd` is no socket.
 */
export function cookieOf(sys: Syscalls, platform: Platform, fd: number): number | undefined {
  const cookie = platform.SO_COOKIE;
  if (!cookie || sys.getsockopt(fd, cookie.level, cookie.option, cookieBytes) !== 8) return undefined;
  return cookieView.getUint32(0, true) + cookieView.getUint32(4, true) * 2 ** 32;
}

/** Whether the socket found before is still there: by its cookie where the OS has one, else by its addresses. */
function stillThere(sys: Syscalls, platform: Platform, found: Found): boolean {
  return found.cookie === undefined
    ? matches(sys, platform, found.fd, found.lookup)
    : cookieOf(sys, platform, found.fd) === found.cookie;
}

function notTcp(label: string, transport: unknown): KeepaliveError {
  return new KeepaliveError(`${label} is a ${String(transport)} socket; keepalive needs TCP`, { code: "EOPNOTSUPP" });
}

function closed(label: string): KeepaliveError {
  return new KeepaliveError(`${label} is closed`, { code: "EBADF" });
}

function notASocket(got: unknown): TypeError {
  return new TypeError(
    `target must be a descriptor or a Deno, Bun or node:net socket, listener or server; got ${describe(got)}`,
  );
}

function checkDescriptor(platform: Platform, fd: unknown, label: string): number {
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

function hostText(host: unknown): string {
  return typeof host === "string" && host.includes(":") ? `[${host}]` : String(host);
}

/** Deno's `NetAddr`: `transport` is "tcp", or absent on a `Deno.startTls` connection. */
function denoAddr(addr: NetAddrLike, label: string): readonly [unknown, unknown] {
  if (addr.transport !== undefined && addr.transport !== "tcp") throw notTcp(label, addr.transport);
  return [addr.hostname, addr.port];
}

/** What an object reports, before any system call; `number` for a descriptor it hands out. */
function reported(platform: Platform, t: AnyTarget): number | Reported {
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

function endpoint([host, port]: readonly [unknown, unknown], label: string): Endpoint {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`${label} has no TCP port: its address is ${describe(host)} port ${describe(port)}`);
  }
  return { ip: typeof host === "string" ? parseIp(host) : undefined, port };
}

function toLookup({ local, peer, label }: Reported): Lookup {
  const where = peer
    ? `${hostText(local[0])}:${local[1]} -> ${hostText(peer[0])}:${peer[1]}`
    : `${hostText(local[0])}:${local[1]}`;
  return { local: endpoint(local, label), peer: peer && endpoint(peer, label), label: `${label} ${where}` };
}

/**
 * Checks a target's shape against the platform, before any system call.
 *
 * @param target What the caller passed.
 * @param platform The OS's table, for the descriptor range and the address layout.
 * @returns A function that finds its descriptors.
 * @throws {TypeError | RangeError} If it names no socket, or a descriptor out of the OS's range.
 * @throws {KeepaliveError} `EBADF` if it is closed, `EOPNOTSUPP` if it is not TCP, `ENOTCONN` if not yet connected.
 */
export function finderFor(target: KeepaliveTarget, platform: Platform): Finder {
  if (typeof target !== "object" || target === null) {
    const fd = checkDescriptor(platform, target, "target");
    return () => [fd];
  }
  const what = reported(platform, target as AnyTarget);
  if (typeof what === "number") return () => [what];
  if (what.peer === null) {
    const lookup = toLookup(what);
    return (sys) =>
      handed(sys, platform, target) ??
        (what.once ? sameListener(sys, platform, target, lookup) : listeners(sys, platform, lookup));
  }
  // A node:net socket may connect again: what it was found by must be what it reports now.
  const key = `${what.local[0]}|${what.local[1]}|${what.peer[0]}|${what.peer[1]}`;
  const known = remembered.get(target);
  const lookup = known?.key === key ? known.lookup : toLookup(what);
  return (sys) => handed(sys, platform, target) ?? [connection(sys, platform, target, key, lookup)];
}

/** The descriptor the runtime hands out for its own object (Node's `node:net`), checked like a number given. */
function handed(sys: Syscalls, platform: Platform, target: object): number[] | undefined {
  const fd = sys.descriptorOf(target);
  return fd === undefined ? undefined : [checkDescriptor(platform, fd, "the runtime's descriptor")];
}

/** Every listening socket at the listener's address, found by a walk. */
function listeners(sys: Syscalls, platform: Platform, lookup: Lookup): number[] {
  const fds = sys.descriptors();
  guesses.learn(platform, fds);
  const found = fds.filter((fd) => matches(sys, platform, fd, lookup));
  if (found.length === 0) {
    throw new KeepaliveError(`no socket of this process is listening as ${lookup.label}; is it closed?`, {
      code: "EBADF",
      syscall: "getsockname",
    });
  }
  return found;
}

/**
 * A runtime listener's sockets, checked against the cookies they were first found with: a Deno listener keeps its
 * address once closed, and a new listener may take the port.
 */
function sameListener(sys: Syscalls, platform: Platform, target: object, lookup: Lookup): number[] {
  const fds = listeners(sys, platform, lookup);
  const cookies = fds.map((fd) => cookieOf(sys, platform, fd));
  if (!cookies.every((cookie) => cookie !== undefined)) return fds; // no SO_COOKIE here (not Linux, or before 4.12)
  const first = listenerCookies.get(target);
  if (!first) listenerCookies.set(target, cookies);
  else if (!cookies.some((cookie) => first.includes(cookie))) throw closed(lookup.label);
  return fds;
}

/** The one socket with the connection's addresses: the remembered one, a guess, or a walk. */
function connection(sys: Syscalls, platform: Platform, target: object, key: string, lookup: Lookup): number {
  const known = remembered.get(target);
  if (known?.key === key) {
    if (stillThere(sys, platform, known)) return known.fd;
    // A socket keeps its descriptor while it is open: another socket there means this one closed.
    guesses.lookFirstAt(known.fd);
    throw closed(lookup.label);
  }
  const fd = guesses.find(sys, platform, lookup) ?? walk(sys, platform, lookup);
  remembered.set(target, { key, lookup, fd, cookie: cookieOf(sys, platform, fd) });
  return fd;
}

/** Checks every descriptor, and learns from them where new sockets will land. */
function walk(sys: Syscalls, platform: Platform, lookup: Lookup): number {
  const fds = sys.descriptors();
  guesses.learn(platform, fds);
  let peerless = false;
  for (const fd of fds) {
    if (!atLocal(sys, platform, fd, lookup)) continue;
    if (sys.getpeername(fd, address) < 0) peerless ||= !listening(sys, platform, fd);
    else if (sameEndpoint(platform, address, lookup.peer!)) {
      guesses.lookFirstAt(fd);
      return fd;
    }
  }
  if (peerless) {
    // A connection reset by its peer keeps its local address and loses its peer.
    throw new KeepaliveError(
      `${lookup.label} has no peer any more: it was reset by its peer or shut down, so there is nothing to probe`,
      { code: "ENOTCONN", syscall: "getpeername" },
    );
  }
  throw new KeepaliveError(`no open socket of this process is ${lookup.label}; is it closed?`, {
    code: "EBADF",
    syscall: "getsockname",
  });
}

/**
 * Where a connection not yet known is likely to be, so that it is found with
 * a few calls instead of a walk: the kernel hands out the lowest free
 * descriptor, so a new socket lands in a gap the last walk saw, or where a
 * recent one closed. A guess is only a place to look first: it is taken only
 * if both addresses match.
 */
const guesses = {
  /** Descriptors of sockets found or seen closed lately, newest first. */
  recent: [] as number[],
  /** The lowest descriptors the last walk did not see. */
  gaps: [] as number[],

  find(sys: Syscalls, platform: Platform, lookup: Lookup): number | undefined {
    for (const fd of [...this.recent, ...this.gaps]) {
      if (matches(sys, platform, fd, lookup)) {
        this.lookFirstAt(fd);
        return fd;
      }
    }
    return undefined;
  },
  /** A socket was found at `fd`, or closed there: the next one may land there too. */
  lookFirstAt(fd: number): void {
    this.recent = [fd, ...this.recent.filter((other) => other !== fd)].slice(0, GUESSES);
    this.gaps = this.gaps.filter((gap) => gap !== fd);
  },
  learn(platform: Platform, fds: readonly number[]): void {
    const gaps: number[] = [];
    for (let fd = 0, i = 0; platform.newDescriptor.lowestFree && gaps.length < GUESSES; fd++) {
      if (fds[i] === fd) i++;
      else gaps.push(fd);
    }
    this.gaps = gaps;
  },
};
