/**
 * Turns a target (a descriptor, a Deno, Bun or `node:net` socket, listener or
 * server) into the descriptors it names, from what it reports of itself
 * (`_reported.ts`). Deno hands none out, so its sockets
 * are found by matching `getsockname`/`getpeername` against their addresses:
 * a connection is the one socket with both addresses, and is remembered; a
 * listener is every listening socket at its address (`SO_REUSEPORT` lets
 * several share one, in this process or its Workers, and nothing the runtimes
 * hand out tells them apart), looked up on every call, and where the OS has
 * `SO_COOKIE`, known again by the cookies it was first found with.
 *
 * @module
 */
import { parseIp, unmapped } from "./_ip.ts";
import {
  type AnyTarget,
  checkDescriptor,
  closed,
  type Handed,
  handed,
  hostText,
  NONE_HANDED,
  type Reported,
  reported,
} from "./_reported.ts";
import { describe } from "../options/mod.ts";
import { addressIs, connected, cookieOf, KeepaliveError, listening, type Side } from "../socket/mod.ts";
import { allListed, type Syscalls } from "../syscalls/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { KeepaliveTarget } from "../types/mod.ts";

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

/** Where a connection was found: its descriptor, and its `SO_COOKIE` where the OS has one. */
interface Found {
  readonly fd: number;
  readonly cookie: number | undefined;
}

/** A connection object as last seen: its addresses as it reported them, parsed, and the socket they led to. */
interface Known {
  readonly reported: Reported;
  readonly lookup: Lookup;
  /** Set once found; a new report starts a new record, found again. */
  found?: Found;
}

/** Finds the descriptors of a target: one for a connection, every listening socket at a listener's address. */
export type Finder = (sys: Syscalls) => readonly number[];

/** Each connection object, as long as it reports the same addresses: a socket is set again and again. */
const known = new WeakMap<object, Known>();
/** Each runtime listener's sockets, by `SO_COOKIE`, as first found: none of them there means it closed. */
const listenerCookies = new WeakMap<object, readonly number[]>();
const GUESSES = 8;

/** Whether one end of a socket is at an endpoint: its port, and its IP where the endpoint names one. */
function at(sys: Syscalls, platform: Platform, fd: number, side: Side, want: Endpoint): boolean {
  return addressIs(sys, platform, fd, side, (found, port) => {
    if (port !== want.port) return false;
    const ip = unmapped(found);
    return want.ip === undefined || (want.ip.length === ip.length && want.ip.every((b, i) => b === ip[i]));
  });
}

function atLocal(sys: Syscalls, platform: Platform, fd: number, lookup: Lookup): boolean {
  return at(sys, platform, fd, "local", lookup.local);
}

/** A connection matches by both addresses (a listening socket has no peer); a listener must be listening. */
function matches(sys: Syscalls, platform: Platform, fd: number, lookup: Lookup): boolean {
  if (!atLocal(sys, platform, fd, lookup)) return false;
  if (lookup.peer === null) return listening(sys, platform, fd);
  return at(sys, platform, fd, "peer", lookup.peer);
}

/** Whether the socket found before is still there: by its cookie where the OS has one, else by its addresses. */
function stillThere(sys: Syscalls, platform: Platform, found: Found, lookup: Lookup): boolean {
  return found.cookie === undefined
    ? matches(sys, platform, found.fd, lookup)
    : cookieOf(sys, platform, found.fd) === found.cookie;
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
 * @param descriptorOf What the runtime hands out of its own objects.
 * @returns A function that finds its descriptors.
 * @throws {TypeError | RangeError} If it names no socket, or a descriptor out of the OS's range.
 * @throws {KeepaliveError} `EBADF` if it is closed, `EOPNOTSUPP` if it is not TCP, `ENOTCONN` if not yet connected.
 */
export function finderFor(target: KeepaliveTarget, platform: Platform, descriptorOf: Handed = NONE_HANDED): Finder {
  if (typeof target !== "object" || target === null) {
    const fd = checkDescriptor(platform, target, "target");
    return () => [fd];
  }
  const what = reported(platform, target as AnyTarget);
  if (typeof what === "number") return () => [what];
  if (what.peer === null) {
    const lookup = toLookup(what);
    return (sys) =>
      handed(platform, target, descriptorOf) ??
        (what.once ? sameListener(sys, platform, target, lookup) : listeners(sys, platform, lookup));
  }
  // A node:net socket may connect again: what it was found by must be what it reports now.
  let seen = known.get(target);
  if (!seen || !sameReport(seen.reported, what)) known.set(target, seen = { reported: what, lookup: toLookup(what) });
  const record = seen;
  return (sys) => handed(platform, target, descriptorOf) ?? [connection(sys, platform, record)];
}

/** Whether a connection reports the same addresses as before. */
function sameReport(before: Reported, now: Reported): boolean {
  return before.local[0] === now.local[0] && before.local[1] === now.local[1] &&
    before.peer?.[0] === now.peer?.[0] && before.peer?.[1] === now.peer?.[1];
}

/** Every listening socket at the listener's address, found by a walk. */
function listeners(sys: Syscalls, platform: Platform, lookup: Lookup): number[] {
  const fds = allListed(sys.listing());
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
function connection(sys: Syscalls, platform: Platform, record: Known): number {
  const { lookup, found } = record;
  if (found) {
    if (stillThere(sys, platform, found, lookup)) return found.fd;
    // A socket keeps its descriptor while it is open: another socket there means this one closed.
    guesses.lookFirstAt(found.fd);
    throw closed(lookup.label);
  }
  const fd = guesses.find(sys, platform, lookup) ?? walk(sys, platform, lookup);
  record.found = { fd, cookie: cookieOf(sys, platform, fd) };
  return fd;
}

/** Checks every descriptor, and learns from them where new sockets will land. */
function walk(sys: Syscalls, platform: Platform, lookup: Lookup): number {
  const fds = allListed(sys.listing());
  guesses.learn(platform, fds);
  let peerless = false;
  for (const fd of fds) {
    if (!atLocal(sys, platform, fd, lookup)) continue;
    if (!connected(sys, fd)) peerless ||= !listening(sys, platform, fd);
    else if (at(sys, platform, fd, "peer", lookup.peer!)) {
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
