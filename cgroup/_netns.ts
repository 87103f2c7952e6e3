/**
 * Every TCP socket of a network namespace, whoever holds it, in one pass of
 * the kernel's TCP iterator: what it is, the keepalive it holds, its owner's
 * uid, the cgroup it was made in (by path) and who holds it now; and the
 * same pass over the network namespaces a cgroup's processes use, keeping
 * only the sockets made in the cgroup's tree, read or set.
 *
 * @module
 */
import { type BpfContext, bpfContext } from "../bpf/mod.ts";
import { cgroup2Mount, type CgroupDirectory } from "./_cgroup.ts";
import {
  closeNetns,
  type Holder,
  holders,
  isConnection,
  type KernelLayout,
  type Netns,
  NO_HOLDERS,
  openNetns,
  type PassNeeds,
  passTcp,
  preparePass,
  type SocketSummary,
  SummaryCounter,
  type TcpPass,
  type TcpRecord,
  unseenMs,
} from "../iter/mod.ts";
import { checkNetnsInspection, deadPeerMs } from "../options/mod.ts";
import { KeepaliveError } from "../socket/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { KeepaliveSettings, TcpState } from "../types/mod.ts";

/** One TCP socket of a network namespace, as the kernel holds it. */
export interface NetnsSocket {
  /** Its local address, such as `127.0.0.1:5432` or `[::1]:6379`. */
  local: string;
  /** Its peer's address; `undefined` for a listener or a socket not connected. */
  peer: string | undefined;
  /** Its state. */
  state: TcpState;
  /** Its keepalive settings; `undefined` for a connection not yet accepted or in time-wait, which holds none. */
  settings: KeepaliveSettings | undefined;
  /** How soon an idle dead peer would be found (`idleMs + intervalMs * count`); `undefined` with keepalive off. */
  deadPeerMs: number | undefined;
  /** Its owner's uid (`sk_uid`): the user of the process that made it. */
  uid: number;
  /** The cgroup v2 directory it was made in; `undefined` if it has no cgroup (not a full socket) or it has gone. */
  cgroup: string | undefined;
  /** Its inode, as `ss -e` shows it (`ino:`); 0 where no file holds it (closed, and finishing). */
  inode: number;
  /** The processes holding it, each with its descriptor there, as this process's pid namespace numbers them. */
  holders: Holder[];
}

/** What {@linkcode scanNetnsAt} read of a network namespace, but the sockets, which it handed on one by one. */
export interface ScannedNetns {
  /** The namespace, as given: a path, or `"this process's"`. */
  netns: string;
  /** Its inode (`ls -iL /proc/PID/ns/net`). */
  inode: number;
  /** What a person reads first: counts, and how long idle dead peers would go unseen, by cgroup. */
  summary: SocketSummary;
}

/** What {@linkcode inspectNetnsAt} read. */
export interface InspectedNetns extends ScannedNetns {
  /** Every TCP socket, or, with `overMs`, the connections whose idle dead peer would go unseen longer. */
  sockets: NetnsSocket[];
}

/**
 * Each cgroup's path by id, as asked: the whole cgroup v2 tree walked from its mount once, on the first id asked,
 * each directory's inode being its cgroup's id.
 *
 * @returns The path of a cgroup by id; `undefined` for one that has gone (or has a name that is not UTF-8).
 */
export function cgroupNamer(c: BpfContext): (id: bigint) => string | undefined {
  let paths: Map<bigint, string> | undefined;
  const walk = () => {
    const found = new Map<bigint, string>();
    const visit = (path: string) => {
      const fd = c.calls.openDirectory(path);
      if (fd < 0) return;
      try {
        found.set(BigInt(c.calls.inode(fd)), path);
        const names = c.calls.subdirectories(fd);
        if (typeof names === "number") return;
        for (const name of names) visit(`${path}/${name}`);
      } catch {
        // a name that is not UTF-8: its cgroup stays unnamed
      } finally {
        c.sys.close(fd);
      }
    };
    const mount = cgroup2Mount(c);
    if (mount !== undefined) visit(mount);
    return found;
  };
  return (id) => id === 0n ? undefined : (paths ??= walk()).get(id);
}

/** A record as the public socket, its cgroup named. */
export function netnsSocket(
  record: TcpRecord,
  settings: KeepaliveSettings | undefined,
  cgroupOf: (id: bigint) => string | undefined,
): NetnsSocket {
  return {
    local: record.local,
    peer: record.peer,
    state: record.state,
    settings,
    deadPeerMs: deadPeerMs(settings),
    uid: record.uid,
    cgroup: cgroupOf(record.cgroupId),
    inode: record.inode,
    holders: record.holders,
  };
}

/**
 * Reads every TCP socket of a network namespace in one pass, and writes nothing: each socket handed to `visit` as
 * it streams from the kernel, and none kept, so that memory stays flat at any count.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param path A namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`); this process's own if absent.
 * @param settings `overMs`: hand on only the connections whose idle dead peer would go unseen longer (keepalive off
 *   counts as never found); the summary counts every socket.
 * @param visit Given each socket.
 * @returns The namespace and the summary.
 * @throws {TypeError | RangeError} On a bad path or setting, before any call; `TypeError` naming the path if it is
 *   no network namespace.
 * @throws {Error} On an OS other than Linux; if the kernel is before 6.1, or has no BTF.
 * @throws {KeepaliveError} `EPERM` naming each capability missing; nothing is loaded then.
 */
export function scanNetnsAt(
  open: () => Syscalls,
  platform: Platform,
  path: string | undefined,
  settings: { overMs?: number },
  visit: (socket: NetnsSocket) => void,
): ScannedNetns {
  const { path: where, overMs } = checkNetnsInspection(path, settings);
  if (!platform.bpf) {
    throw new Error(`inspecting a network namespace is Linux only (the TCP iterator); this is ${platform.name}`);
  }
  const c = bpfContext(open(), platform);
  const layout = preparePass(c, "read");
  const netns = openNetns(c, where);
  try {
    // Who holds what first: a socket made after this pass is said to be held by none, never by a wrong process.
    const held = holders(c, layout);
    const cgroupOf = cgroupNamer(c);
    const counter = new SummaryCounter();
    passTcp(c, layout, [netns], {}, held, (record) => {
      const socket = netnsSocket(record, record.before, cgroupOf);
      counter.add(socket);
      if (overMs === undefined || (isConnection(socket) && unseenMs(socket) > overMs)) visit(socket);
    });
    return { netns: netns.name, inode: netns.inode, summary: counter.summary() };
  } finally {
    closeNetns(c, netns);
  }
}

/**
 * Reads every TCP socket of a network namespace in one pass, and writes nothing.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param path A namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`); this process's own if absent.
 * @param settings `overMs`: keep only the connections whose idle dead peer would go unseen longer (keepalive off
 *   counts as never found); the summary counts every socket.
 * @returns The summary, and the sockets.
 * @throws {TypeError | RangeError} On a bad path or setting, before any call; `TypeError` naming the path if it is
 *   no network namespace.
 * @throws {Error} On an OS other than Linux; if the kernel is before 6.1, or has no BTF.
 * @throws {KeepaliveError} `EPERM` naming each capability missing; nothing is loaded then.
 */
export function inspectNetnsAt(
  open: () => Syscalls,
  platform: Platform,
  path?: string,
  settings: { overMs?: number } = {},
): InspectedNetns {
  const sockets: NetnsSocket[] = [];
  const scanned = scanNetnsAt(open, platform, path, settings, (socket) => sockets.push(socket));
  return { ...scanned, sockets };
}

/**
 * The network namespaces some processes use, and this process's own first, each opened once (entered once and left,
 * so that one this process may not enter is refused before anything changes); a process gone meanwhile is passed by.
 */
function namespacesOfPids(c: BpfContext, pids: Iterable<number | string>): Netns[] {
  const opened: Netns[] = [openNetns(c)];
  try {
    for (const pid of pids) {
      const path = `/proc/${pid}/ns/net`;
      const probe = c.calls.openFile(path);
      if (probe < 0) continue; // gone since, or a kernel thread
      const inode = c.calls.inode(probe);
      c.sys.close(probe);
      if (opened.some((netns) => netns.inode === inode)) continue;
      try {
        opened.push(openNetns(c, path));
      } catch (error) {
        if (!(error instanceof TypeError)) throw error; // gone between the two opens
      }
    }
    return opened;
  } catch (error) {
    for (const netns of opened) closeNetns(c, netns);
    throw error;
  }
}

/** Every network namespace a process of this pid namespace uses, this process's own first. */
function hostNamespaces(c: BpfContext): Netns[] {
  const proc = c.calls.openDirectory("/proc");
  const names = proc < 0 ? [] : c.calls.subdirectories(proc);
  if (proc >= 0) c.sys.close(proc);
  return namespacesOfPids(c, (typeof names === "number" ? [] : names).filter((name) => /^\d+$/.test(name)));
}

/**
 * Checks that the TCP iterator can pass over the host's connections (as {@linkcode preparePass}), and opens every
 * network namespace in use: before anything is loaded.
 */
export function prepareHostPass(c: BpfContext, needs: PassNeeds): PreparedPass {
  const layout = preparePass(c, needs);
  return { layout, namespaces: hostNamespaces(c) };
}

/** What a node agent counts of a connection: its state, whether keepalive is on, how soon, and its cgroup's id. */
export interface CountedSocket {
  readonly state: TcpState;
  readonly settings: KeepaliveSettings | undefined;
  readonly deadPeerMs: number | undefined;
  /** The id of the cgroup it was made in (its directory's inode); 0 for a request or time-wait socket. */
  readonly cgroupId: bigint;
}

/**
 * Reads every TCP socket of every network namespace a process of this pid namespace uses (a host's, and its pods'),
 * one program for them all and one pass each, no address, holder or cgroup path made, and writes nothing: what a node
 * agent counts, every period.
 *
 * @param visit Given each socket.
 * @returns How many namespaces were read.
 * @throws {Error} If the kernel is before 6.1, or has no BTF.
 * @throws {KeepaliveError} `EPERM` naming each capability missing; nothing is loaded then.
 */
export function scanHostAt(open: () => Syscalls, platform: Platform, visit: (socket: CountedSocket) => void): number {
  const c = bpfContext(open(), platform);
  const { layout, namespaces } = prepareHostPass(c, "read");
  try {
    passTcp(c, layout, namespaces, {}, NO_HOLDERS, ({ state, before, cgroupId }) => {
      visit({ state, settings: before, deadPeerMs: deadPeerMs(before), cgroupId });
    }, { addresses: false });
    return namespaces.length;
  } finally {
    for (const netns of namespaces) closeNetns(c, netns);
  }
}

/** What a pass over a cgroup's tree found: every socket made there, by record, with its holders named. */
export interface CgroupPass {
  readonly records: TcpRecord[];
  readonly paths: ReadonlyMap<bigint, string>;
}

/** The network namespaces a cgroup tree's processes use, and this process's own, each opened once. */
function namespacesOf(c: BpfContext, tree: readonly CgroupDirectory[]): Netns[] {
  try {
    return namespacesOfPids(c, tree.flatMap(({ pids }) => pids));
  } catch (error) {
    throw error instanceof KeepaliveError
      ? new KeepaliveError(`cannot reach a network namespace of the cgroup's processes: ${error.message}`, {
        code: error.code,
        errno: error.errno,
        syscall: error.syscall,
      })
      : error;
  }
}

/** A pass over a cgroup tree, ready to run: checked, its namespaces open; nothing loaded yet. */
export interface PreparedPass {
  readonly layout: KernelLayout;
  readonly namespaces: readonly Netns[];
}

/**
 * Checks that the TCP iterator can pass over a cgroup tree, and opens the namespaces its processes use: before
 * anything is loaded or attached.
 *
 * @throws {NoPass} Where the kernel is too old or has no BTF: the caller takes the pidfd path instead.
 * @throws {KeepaliveError} A missing capability, or a namespace that may not be entered.
 */
export function prepareCgroupPass(c: BpfContext, tree: readonly CgroupDirectory[], needs: PassNeeds): PreparedPass {
  const layout = preparePass(c, needs);
  return { layout, namespaces: namespacesOf(c, tree) };
}

/** Closes the namespaces of a prepared pass that will not run (something failed between preparing and running). */
export function closeCgroupPass(c: BpfContext, prepared: PreparedPass): void {
  for (const netns of prepared.namespaces) closeNetns(c, netns);
}

/**
 * Runs a prepared pass in each namespace: the sockets made in the given cgroups, read, or set with `writes`; the
 * namespaces closed after.
 */
export function runCgroupPass(
  c: BpfContext,
  prepared: PreparedPass,
  cgroups: readonly CgroupDirectory[],
  writes?: TcpPass["writes"],
): CgroupPass {
  let records: TcpRecord[] = [];
  try {
    // No cgroup, no pass: a program without a filter would keep (and set) every socket.
    if (cgroups.length) {
      const pass = { cgroups: cgroups.map((directory) => directory.id), writes };
      passTcp(c, prepared.layout, prepared.namespaces, pass, NO_HOLDERS, (record) => records.push(record));
    }
  } finally {
    closeCgroupPass(c, prepared);
  }
  // Who holds them, looked for only where there are any: a cgroup just made has none, and a host's 100,000 files
  // need not be walked for it.
  if (records.length) {
    const held = holders(c, prepared.layout);
    records = records.map((record) => ({ ...record, holders: held.of(record.inode) }));
  }
  return { records, paths: new Map(cgroups.map((directory) => [directory.id, directory.path])) };
}
