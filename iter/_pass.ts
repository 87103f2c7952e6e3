/**
 * One pass of the kernel's TCP iterator over a network namespace: the rights,
 * the kernel and its BTF checked before anything is loaded; the namespace
 * entered by the calling thread for as long as the iterator takes to open
 * (the iterator covers the namespace of the thread that opens it), and left
 * whatever happens; each record decoded as it streams back; and the
 * programs closed after, so that nothing stays loaded.
 *
 * @module
 */
import {
  type BpfContext,
  heldCapabilities,
  iterate,
  kernelAtLeast,
  loadProgram,
  type ProgramSpec,
  readBtf,
  readWhole,
} from "../bpf/mod.ts";
import {
  FILE_RECORD,
  fileProgram,
  FLAGS,
  type KernelLayout,
  kernelLayout,
  TCP_RECORD,
  type TcpPass,
  tcpProgram,
} from "./_program.ts";
import { endpointText, errnoName, KeepaliveError } from "../socket/mod.ts";
import { toSettings } from "../options/mod.ts";
import type { Platform } from "../platforms/mod.ts";
import type { KeepaliveSettings, TcpState } from "../types/mod.ts";

/** Where the kernel's own BTF is. */
const KERNEL_BTF = "/sys/kernel/btf/vmlinux";
/** The nsfs `f_type` (`NSFS_MAGIC` of `<linux/magic.h>`): what a namespace file such as `/proc/PID/ns/net` is on. */
const NSFS_MAGIC = 0x6e736673;
/** The calling thread's network namespace: the one an iterator opened now would cover. */
const OWN_NETNS = "/proc/thread-self/ns/net";

/** What a pass is for: reading the sockets (`bpf_getsockopt`, 6.1), or setting them too (`bpf_setsockopt`, 5.15). */
export type PassNeeds = "read" | "set";

/** Why a pass cannot run here, before anything was loaded: said, and for a cgroup, the pidfd path taken instead. */
export class NoPass extends Error {}

/** The layout of the kernel this process runs on, read once: the kernel's BTF does not change while it runs. */
let layoutCache: KernelLayout | undefined;

/**
 * Checks that a pass can run, before anything is loaded: the kernel's version for what it does, its BTF, and the
 * capabilities (`CAP_BPF` and `CAP_PERFMON`, or `CAP_SYS_ADMIN`).
 *
 * @returns Where this kernel keeps what the programs read.
 * @throws {NoPass} Naming what is missing: the kernel too old, no BTF, or a struct member this kernel lacks.
 * @throws {KeepaliveError} `EPERM`, naming each capability missing.
 */
export function preparePass(c: BpfContext, needs: PassNeeds): KernelLayout {
  const release = c.calls.kernel().release;
  const since = needs === "set" ? c.bpf.iterator.setSince : c.bpf.iterator.readSince;
  if (!kernelAtLeast(release, since)) {
    throw new NoPass(
      `the TCP iterator cannot ${needs} keepalive on Linux ${release}: its bpf_${
        needs === "set" ? "set" : "get"
      }sockopt needs ${since.join(".")} or later`,
    );
  }
  const held = heldCapabilities(c);
  if (!held.CAP_SYS_ADMIN && !(held.CAP_BPF && held.CAP_PERFMON)) {
    const missing = (["CAP_BPF", "CAP_PERFMON"] as const).filter((name) => !held[name]);
    throw new KeepaliveError(
      `the TCP iterator needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); this process lacks ${
        missing.join(" and ")
      }; nothing was loaded`,
      { code: "EPERM", syscall: "bpf(BPF_PROG_LOAD)" },
    );
  }
  if (layoutCache) return layoutCache;
  const btf = readWhole(c, KERNEL_BTF);
  if (typeof btf === "number") {
    throw new NoPass(
      `the TCP iterator needs the kernel's BTF, and ${KERNEL_BTF} cannot be read (${
        errnoName(c.platform, -btf)
      }): a kernel built without CONFIG_DEBUG_INFO_BTF`,
    );
  }
  try {
    return layoutCache = kernelLayout(readBtf(btf));
  } catch (error) {
    throw new NoPass(`the TCP iterator cannot run on this kernel: ${(error as Error).message}`);
  }
}

/** A network namespace to pass over: this thread's own, or one open on a namespace file. */
export interface Netns {
  /** What the caller named it, for errors: a path, or `"this process's"`. */
  readonly name: string;
  /** A descriptor open on it; `undefined` for the caller's own. */
  readonly fd: number | undefined;
  /** Its inode (`ip netns identify`, `ls -i /proc/PID/ns/net`), which tells namespaces apart. */
  readonly inode: number;
}

/** The calling thread's own network namespace, open: where it comes back to. */
function openOwnNetns(c: BpfContext): number {
  const own = c.calls.openFile(OWN_NETNS);
  if (own < 0) throw new KeepaliveError(`cannot open ${OWN_NETNS}`, { code: errnoName(c.platform, -own) });
  return own;
}

/**
 * Opens a namespace file as a network namespace, and enters it once and leaves, so that a path that is no network
 * namespace, or one this process may not enter, is refused before anything is loaded.
 *
 * @param path A namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`); this thread's own if absent.
 * @returns The namespace, which {@linkcode closeNetns} closes.
 * @throws {TypeError} Naming the path, if it is not there or no network namespace.
 * @throws {KeepaliveError} `EPERM` without `CAP_SYS_ADMIN`, which entering another namespace takes.
 */
export function openNetns(c: BpfContext, path?: string): Netns {
  const own = openOwnNetns(c);
  const ownInode = c.calls.inode(own);
  if (path === undefined) {
    c.sys.close(own);
    return { name: "this process's", fd: undefined, inode: ownInode };
  }
  const fd = c.calls.openFile(path);
  try {
    if (fd < 0) {
      const code = errnoName(c.platform, -fd);
      if (code === "EACCES" || code === "EPERM") {
        throw new KeepaliveError(`cannot open ${path}: not allowed`, { code, errno: -fd, syscall: "open" });
      }
      throw new TypeError(`${path} is not a network namespace: ${code === "ENOENT" ? "there is no such file" : code}`);
    }
    if (c.calls.filesystemType(fd) !== NSFS_MAGIC) {
      throw new TypeError(`${path} is not a network namespace: not a namespace file (such as /proc/PID/ns/net)`);
    }
    const inode = c.calls.inode(fd);
    if (inode === ownInode) {
      c.sys.close(fd);
      return { name: path, fd: undefined, inode };
    }
    enter(c, fd, path);
    enter(c, own, "this thread's own network namespace");
    return { name: path, fd, inode };
  } catch (error) {
    if (fd >= 0) c.sys.close(fd);
    throw error;
  } finally {
    c.sys.close(own);
  }
}

/** Closes what {@linkcode openNetns} opened. */
export function closeNetns(c: BpfContext, netns: Netns): void {
  if (netns.fd !== undefined) c.sys.close(netns.fd);
}

/** The calling thread enters a network namespace. */
function enter(c: BpfContext, fd: number, name: string): void {
  const result = c.calls.enterNamespace(fd, c.bpf.CLONE_NEWNET);
  if (result >= 0) return;
  const code = errnoName(c.platform, -result);
  if (code === "EINVAL") throw new TypeError(`${name} is not a network namespace: it is another kind of namespace`);
  throw new KeepaliveError(
    code === "EPERM"
      ? `cannot enter ${name}: that needs CAP_SYS_ADMIN, over it and in this process's user namespace`
      : `cannot enter ${name}`,
    { code, errno: -result, syscall: "setns" },
  );
}

/**
 * Runs an iterator program in a network namespace: the thread enters it to open the iterator, and comes back
 * before any record is read or anything else runs.
 */
function iterateIn(
  c: BpfContext,
  netns: Netns,
  program: number,
  recordBytes: number,
  visit: (chunk: DataView, at: number) => void,
): void {
  if (netns.fd === undefined) return iterate(c, program, recordBytes, visit);
  const own = openOwnNetns(c);
  try {
    enter(c, netns.fd, netns.name);
    let back = false;
    const leave = () => {
      if (!back) enter(c, own, "this thread's own network namespace");
      back = true;
    };
    try {
      iterate(c, program, recordBytes, visit, leave);
    } finally {
      leave();
    }
  } finally {
    c.sys.close(own);
  }
}

/** One TCP socket as the iterator read it. */
export interface TcpRecord {
  /** Its inode, as `ss -e` shows it (`ino:`); 0 where no file holds it. */
  readonly inode: number;
  /** The id of the cgroup it was made in (its directory's inode); 0 for a request or time-wait socket. */
  readonly cgroupId: bigint;
  readonly uid: number;
  readonly local: string;
  /** `undefined` for a listener, or a socket not connected. */
  readonly peer: string | undefined;
  readonly state: TcpState;
  /** What it held; `undefined` for a request or time-wait socket, which holds no options. */
  readonly before: KeepaliveSettings | undefined;
  /** What it holds after the writes; `undefined` where none were made. */
  readonly after: KeepaliveSettings | undefined;
  /** The errno name of the write the kernel refused, if one was; the writes after it were not made. */
  readonly refused: string | undefined;
  /** Whether a write was made: only the options that held another value are written. */
  readonly wrote: boolean;
  /** The processes holding it, each with its descriptor there, as this process's pid namespace numbers them. */
  readonly holders: Holder[];
}

/** What an iterator program is loaded as. */
const iteratorSpec = (c: BpfContext, layout: KernelLayout, iterator: "tcp" | "task_file"): ProgramSpec => ({
  what: `iter/${iterator}`,
  name: iterator === "tcp" ? "tcp_ka_iter" : "tcp_ka_files",
  programType: c.bpf.programTypes.BPF_PROG_TYPE_TRACING,
  attachType: c.bpf.attachTypes.BPF_TRACE_ITER,
  attachBtfId: layout.iterators[iterator].btfId,
});

/**
 * Every TCP socket of some network namespaces, read (and, with writes, set) in one pass each, each handed to `visit`
 * as it streams back, with its holders: the program loaded once for them all, and unloaded after. Without
 * `addresses`, no address is made into text (`local` is `""`, `peer` `undefined`): a count needs none.
 *
 * @throws {KeepaliveError} If the kernel refuses the program (the verifier's log), the link or the iterator.
 */
export function passTcp(
  c: BpfContext,
  layout: KernelLayout,
  namespaces: readonly Netns[],
  pass: TcpPass,
  held: Holders,
  visit: (socket: TcpRecord) => void,
  { addresses = true } = {},
): void {
  const program = loadProgram(c, iteratorSpec(c, layout, "tcp"), tcpProgram(c.bpf, c.platform, layout, pass));
  const decode = recordDecoder(c.platform, layout, held, addresses);
  try {
    for (const netns of namespaces) {
      iterateIn(c, netns, program, TCP_RECORD.bytes, (chunk, at) => visit(decode(chunk, at)));
    }
  } finally {
    c.sys.close(program);
  }
}

/** Reads a `u64` the kernel wrote that is known to stay below 2^53 (an inode number), as a number. */
function u64(chunk: DataView, at: number): number {
  const high = chunk.getUint32(at + 4, true);
  // Without the high half, a small integer: the engine keeps it unboxed, and a Map finds it faster.
  return high === 0 ? chunk.getUint32(at, true) : chunk.getUint32(at, true) + high * 2 ** 32;
}

/** What a record of `iter/tcp` says, as a {@linkcode TcpRecord}, with its holders. */
function recordDecoder(
  platform: Platform,
  layout: KernelLayout,
  held: Holders,
  addresses: boolean,
): (chunk: DataView, at: number) => TcpRecord {
  const names = platform.tcpInfo.state.names;
  const count = platform.socketOptions.length;
  const raw: number[] = new Array(count).fill(0); // each record's values, read into one array
  const values = (chunk: DataView, at: number) => {
    for (let i = 0; i < count; i++) raw[i] = chunk.getInt32(at + 4 * i, true);
    return toSettings(platform, raw);
  };
  let bytes: Uint8Array = new Uint8Array(0); // the chunk's bytes, for the addresses, viewed once a chunk
  return (chunk, at) => {
    if (bytes.buffer !== chunk.buffer) bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const flags = chunk.getUint8(at + TCP_RECORD.flags);
    const [local, peer, ipBytes] = chunk.getUint16(at + TCP_RECORD.family, true) === platform.AF_INET
      ? [TCP_RECORD.localV4, TCP_RECORD.peerV4, 4]
      : [TCP_RECORD.localV6, TCP_RECORD.peerV6, 16];
    const peerPort = chunk.getUint16(at + TCP_RECORD.peerPort, false);
    const stateNumber = chunk.getUint8(at + TCP_RECORD.state);
    const setErrno = -chunk.getInt32(at + TCP_RECORD.setErrno, true);
    const inode = u64(chunk, at + TCP_RECORD.inode);
    return {
      inode,
      cgroupId: chunk.getBigUint64(at + TCP_RECORD.cgroup, true),
      uid: chunk.getUint32(at + TCP_RECORD.uid, true),
      local: addresses
        ? endpointText(bytes, chunk.getUint16(at + TCP_RECORD.localPort, true), at + local, ipBytes)
        : "",
      peer: peerPort === 0 || !addresses ? undefined : endpointText(bytes, peerPort, at + peer, ipBytes),
      state: stateNumber === layout.TCP_NEW_SYN_RECV ? "syn-received" : names[stateNumber] ?? "closed",
      before: flags & FLAGS.READ ? values(chunk, at + TCP_RECORD.before) : undefined,
      after: flags & FLAGS.SET ? values(chunk, at + TCP_RECORD.after) : undefined,
      refused: setErrno > 0 ? errnoName(platform, setErrno) : undefined,
      wrote: (flags & FLAGS.WROTE) !== 0,
      holders: held.of(inode),
    };
  };
}

/** Who holds a socket: a process, and its descriptor there. */
export interface Holder {
  /** The process, as this process's pid namespace numbers it. */
  readonly pid: number;
  /** Its descriptor for the socket. */
  readonly fd: number;
}

/** Who holds each socket, by inode. */
export interface Holders {
  /** The holders of the socket with this inode, in the order found; none for inode 0 (no file holds it). */
  of(inode: number): Holder[];
}

/** No holder for any socket. */
export const NO_HOLDERS: Holders = { of: () => [] };

/**
 * Every socket's holders, in one pass over every open file of every process of this process's pid namespace, as
 * it numbers them: kept in typed arrays, since a host may hold 100,000 sockets and more. (A kernel map that the TCP
 * program reads, joining them in the kernel, was tried: at 100,000 sockets its updates took twice as long.)
 *
 * @returns The holders; none at all where this process is not in the initial pid namespace, whose numbers the
 *   kernel's `task->tgid` are, and which this process could not tell from its own.
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function holders(c: BpfContext, layout: KernelLayout): Holders {
  const ownPidNamespace = c.calls.openFile("/proc/thread-self/ns/pid");
  if (ownPidNamespace < 0) return NO_HOLDERS;
  const initial = c.calls.inode(ownPidNamespace) === c.bpf.PROC_PID_INIT_INO;
  c.sys.close(ownPidNamespace);
  if (!initial) return NO_HOLDERS;
  const program = loadProgram(c, iteratorSpec(c, layout, "task_file"), fileProgram(c.bpf, layout));
  // Each holder found, by its number in the order found; the first of each socket by its inode, the others (a
  // socket shared by processes, after fork or SCM_RIGHTS: rare) beside it.
  let pids = new Uint32Array(4096);
  let fds = new Uint32Array(4096);
  let count = 0;
  const first = new Map<number, number>();
  const more = new Map<number, number[]>();
  try {
    iterate(c, program, FILE_RECORD.bytes, (chunk, at) => {
      if (count === pids.length) {
        const [grownPids, grownFds] = [new Uint32Array(2 * count), new Uint32Array(2 * count)];
        grownPids.set(pids);
        grownFds.set(fds);
        [pids, fds] = [grownPids, grownFds];
      }
      pids[count] = chunk.getUint32(at + FILE_RECORD.pid, true);
      fds[count] = chunk.getUint32(at + FILE_RECORD.fd, true);
      const inode = u64(chunk, at + FILE_RECORD.inode);
      if (!first.has(inode)) first.set(inode, count);
      else if (more.has(inode)) more.get(inode)!.push(count);
      else more.set(inode, [count]);
      count++;
    });
  } finally {
    c.sys.close(program);
  }
  const holder = (n: number): Holder => ({ pid: pids[n]!, fd: fds[n]! });
  return {
    of(inode) {
      const n = first.get(inode); // never 0: a socket no file holds has no holder
      if (n === undefined) return [];
      const others = more.get(inode);
      return others ? [holder(n), ...others.map(holder)] : [holder(n)];
    },
  };
}
