/**
 * A socket's addresses and identity, read from the kernel: the family and
 * port of a `sockaddr` where the platform puts them, whether it is TCP or
 * listening, its `SO_COOKIE`. The one buffer they are read into stays here.
 *
 * @module
 */
import type { Syscalls } from "../syscalls/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/**
 * Where a `sockaddr_in` and a `sockaddr_in6` keep their port and address: the same on every OS here, after a 16-bit
 * family (Linux, Windows) or an 8-bit length and family (the BSDs).
 */
export const SOCKADDR = {
  sin_port: 2,
  sin_addr: 4,
  sin6_port: 2,
  sin6_addr: 8,
  "sizeof(struct sockaddr_storage)": 128,
};

/** The one buffer every `getsockname` and `getpeername` here fills. */
const sockaddr = new Uint8Array(SOCKADDR["sizeof(struct sockaddr_storage)"]);
const cookieBytes = new Uint8Array(8);
const cookieView = new DataView(cookieBytes.buffer);

/**
 * The address family of a `sockaddr`, where the platform puts it.
 *
 * @param bytes What `getsockname` or `getpeername` filled.
 * @returns `sa_family`.
 */
function familyOf(platform: Platform, bytes: Uint8Array): number {
  const { offset, bytes: width } = platform.sockaddrFamily;
  return width === 1 ? bytes[offset]! : bytes[offset]! | bytes[offset + 1]! << 8;
}

/**
 * The port of a `sockaddr_in` or `sockaddr_in6`: at the same place in both, in network order.
 *
 * @param bytes What `getsockname` or `getpeername` filled.
 * @returns The port.
 */
function portOf(bytes: Uint8Array): number {
  return bytes[SOCKADDR.sin_port]! << 8 | bytes[SOCKADDR.sin_port + 1]!;
}

/**
 * The IP address of a `sockaddr_in` or `sockaddr_in6`, as the bytes it holds.
 *
 * @param bytes What `getsockname` or `getpeername` filled.
 * @returns 4 bytes, or 16; `undefined` for another family.
 */
function ipOf(platform: Platform, bytes: Uint8Array): Uint8Array | undefined {
  const family = familyOf(platform, bytes);
  if (family === platform.AF_INET) return bytes.subarray(SOCKADDR.sin_addr, SOCKADDR.sin_addr + 4);
  if (family === platform.AF_INET6) return bytes.subarray(SOCKADDR.sin6_addr, SOCKADDR.sin6_addr + 16);
  return undefined;
}

/**
 * Whether a descriptor is a TCP socket over IPv4 or IPv6: not Unix-domain, not UDP, not another descriptor.
 *
 * @param fd The descriptor.
 * @returns The local port of a TCP socket; `undefined` for anything else.
 */
export function tcpPort(sys: Syscalls, platform: Platform, fd: number): number | undefined {
  if (fill(sys, fd, "local") < 0) return undefined;
  const family = familyOf(platform, sockaddr);
  if (family !== platform.AF_INET && family !== platform.AF_INET6) return undefined;
  const { level, optname } = platform.SO_TYPE;
  return sys.getsockoptInt(fd, level, optname) === platform.SOCK_STREAM ? portOf(sockaddr) : undefined;
}

/** One end of a connection: `getsockname`'s, or `getpeername`'s. */
export type Side = "local" | "peer";

/** Fills the buffer with one end's address: its length, or `-errno` (a socket with no peer, not connected). */
function fill(sys: Syscalls, fd: number, side: Side): number {
  return side === "local" ? sys.getsockname(fd, sockaddr) : sys.getpeername(fd, sockaddr);
}

/**
 * Whether a socket has a peer: connected, not a listener, not reset.
 *
 * @param fd The socket.
 * @returns `true` once `getpeername` answers.
 */
export function connected(sys: Syscalls, fd: number): boolean {
  return fill(sys, fd, "peer") >= 0;
}

/**
 * One end of a socket as text: `127.0.0.1:80`, `[::1]:80`.
 *
 * @param fd The socket.
 * @param side Which end.
 * @returns The text; `undefined` for no such end, or another family.
 */
export function addressText(sys: Syscalls, platform: Platform, fd: number, side: Side): string | undefined {
  return fill(sys, fd, side) < 0 ? undefined : sockaddrText(platform, sockaddr);
}

/**
 * Whether one end of a socket is an address: asked of its IP's bytes (4 or 16) and its port, read in place.
 *
 * @param fd The socket.
 * @param side Which end.
 * @param matches Told the IP and the port; the bytes are the buffer's, good only during the call.
 * @returns What `matches` said; `false` for no such end, or another family.
 */
export function addressIs(
  sys: Syscalls,
  platform: Platform,
  fd: number,
  side: Side,
  matches: (ip: Uint8Array, port: number) => boolean,
): boolean {
  if (fill(sys, fd, side) < 0) return false;
  const ip = ipOf(platform, sockaddr);
  return ip !== undefined && matches(ip, portOf(sockaddr));
}

/**
 * Both ends' bytes, as one text: what tells a socket from another where the OS has no `SO_COOKIE`.
 *
 * @param fd The descriptor.
 * @returns The text; `undefined` if `fd` is no socket.
 */
export function addressKey(sys: Syscalls, fd: number): string | undefined {
  const local = fill(sys, fd, "local");
  if (local < 0) return undefined;
  const localBytes = sockaddr.slice(0, local).join(".");
  const peer = fill(sys, fd, "peer");
  return `${localBytes} ${peer < 0 ? "-" : sockaddr.slice(0, peer).join(".")}`;
}

/**
 * A `sockaddr` of IPv4 or IPv6 as text: `127.0.0.1:80`, `[::1]:80`.
 *
 * @param bytes What `getsockname` or `getpeername` filled.
 * @returns The text; `undefined` for another family.
 */
function sockaddrText(platform: Platform, bytes: Uint8Array): string | undefined {
  const ip = ipOf(platform, bytes);
  return ip === undefined ? undefined : endpointText(ip, portOf(bytes));
}

/**
 * An IP address and port as text: `127.0.0.1:80`, `[::1]:80` (RFC 5952).
 *
 * @param ip 4 bytes, or 16; or, with `at` and `length`, bytes holding them there (no view made for each address:
 *   the TCP iterator's 100,000 records are read where they lie).
 * @param port The port.
 * @returns The text.
 */
export function endpointText(ip: Uint8Array, port: number, at = 0, bytes = ip.length): string {
  if (bytes === 4) return `${ip[at]}.${ip[at + 1]}.${ip[at + 2]}.${ip[at + 3]}:${port}`;
  const words = Array.from({ length: 8 }, (_, i) => ip[at + 2 * i]! << 8 | ip[at + 2 * i + 1]!);
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

/**
 * Whether the socket is listening (`SO_ACCEPTCONN`).
 *
 * @param fd The socket.
 * @returns `true` for a listener.
 */
export function listening(sys: Syscalls, platform: Platform, fd: number): boolean {
  const { level, optname } = platform.SO_ACCEPTCONN;
  return sys.getsockoptInt(fd, level, optname) > 0;
}

/**
 * A socket's `SO_COOKIE`, where the OS has one.
 *
 * @param fd The descriptor.
 * @returns The cookie; `undefined` where the OS has none, or `fd` is no socket.
 */
export function cookieOf(sys: Syscalls, platform: Platform, fd: number): number | undefined {
  const cookie = platform.SO_COOKIE;
  if (!cookie || sys.getsockopt(fd, cookie.level, cookie.optname, cookieBytes) !== 8) return undefined;
  return cookieView.getUint32(0, true) + cookieView.getUint32(4, true) * 2 ** 32;
}
