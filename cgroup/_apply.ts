/**
 * Keepalive for a whole cgroup: this module's programs attached there (in
 * place of its own earlier ones, whoever's, beside everyone else's) under
 * the cgroup's lock, the sockets its processes already hold set through
 * `pidfd_getfd`, but for those of a cgroup below with a policy of its own;
 * taken off again, by owner; and read, programs and sockets, without a write.
 *
 * Policies nest as configuration does: a connection gets the policy of the
 * cgroup nearest the one it was made in, its own or its closest ancestor's.
 *
 * @module
 */
import { type BpfContext, bpfContext, loadProgram, programById, programInfo } from "../bpf/mod.ts";
import { attachedPrograms, attachProgram, detachProgram, specOf } from "./_attach.ts";
import {
  ancestorsOf,
  type CgroupDirectory,
  cgroupTree,
  checkKernel,
  isRoot,
  lockCgroup,
  openCgroup,
} from "./_cgroup.ts";
import {
  type CgroupPass,
  closeCgroupPass,
  netnsSocket,
  prepareCgroupPass,
  type PreparedPass,
  prepareHostPass,
  runCgroupPass,
} from "./_netns.ts";
import { closeNetns, NO_HOLDERS, NoPass, passTcp } from "../iter/mod.ts";
import {
  currentTemplate,
  decodeProgram,
  PROGRAM_NAMES,
  type ProgramKind,
  programLines,
  type ProgramValues,
  type ReadBack,
} from "./_program.ts";
import { checkCgroupSettings, checkPath, planWrites, toSettings, type Write } from "../options/mod.ts";
import { KeepaliveError } from "../socket/mod.ts";
import type { Syscalls } from "../syscalls/mod.ts";
import {
  applyToProcess,
  checkReachable,
  type InspectedSocket,
  inspectProcessAt,
  type ProcessSocket,
} from "../sweep/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings } from "../types/mod.ts";
import type { Platform, SocketOption } from "../platforms/mod.ts";

/** One of this module's programs, as attached. */
export interface CgroupProgram {
  /** `sock_ops` (set at connect and accept) or `setsockopt` (enforced over an application's own). */
  kind: ProgramKind;
  /** The kernel's id for it (`bpftool prog show id ID`). */
  id: number;
  /** Whose it is: the owner it was attached with (`""` for a program of 0.7 or 0.8, which recorded none). */
  owner: string;
  /** The owner of this module's earlier program there, which it took the place of; `undefined` if there was none. */
  replaced: string | undefined;
}

/**
 * A process holding TCP sockets made in the cgroup, and what they held before and hold after; or why they could not
 * be set. Through the TCP iterator, sockets are grouped by who holds them and the cgroup they were made in (a socket
 * passed on to a process elsewhere is its holder's; one no process holds has pid 0); through `pidfd_getfd`, by the
 * processes in the cgroup.
 */
export interface CgroupProcess {
  /** The process; 0 for sockets no process of this pid namespace holds. */
  pid: number;
  /** The cgroup its sockets were made in (the iterator), or it is in (`pidfd_getfd`). */
  cgroup: string;
  /** Its TCP sockets, before and after. */
  sockets: ProcessSocket[];
  /** Why its sockets could not be set; absent when they were. */
  error?: string;
}

/**
 * How the sockets already there were reached: in one pass of the kernel's TCP iterator in each network namespace
 * the cgroup's processes use (Linux 5.15 to set, 6.1 to read, with BTF; no `CAP_SYS_PTRACE`), or through
 * `pidfd_getfd`, process by process, where the kernel cannot (`fallback` says why).
 */
export type Reach = "iterator" | "pidfd";

/** What {@linkcode applyToCgroup} did: the programs attached, and the sockets the cgroup's processes already held. */
export interface CgroupKeepalive {
  /** The cgroup v2 directory. */
  path: string;
  /** This module's programs attached there now. */
  programs: CgroupProgram[];
  /** Every process in the cgroup and below, but in a cgroup with a policy of its own, with its TCP sockets, set now. */
  processes: CgroupProcess[];
  /** The cgroups below with a policy of their own, which holds for their connections: left as they are. */
  nested: string[];
  /** How the sockets already there were reached. */
  reach: Reach;
  /** Why not through the TCP iterator, where `reach` is `"pidfd"`. */
  fallback?: string;
}

/** One of this module's programs at a cgroup, and whether `detach` took it off. */
export interface DetachedProgram {
  /** `sock_ops` or `setsockopt`. */
  kind: ProgramKind;
  /** The kernel's id for it. */
  id: number;
  /** Whose it is (`""` for a program of 0.7 or 0.8). */
  owner: string;
  /** Taken off; `false` for another owner's, which stays (unless `all`). */
  detached: boolean;
}

/** A program that runs for a cgroup's connections, and, for this module's own, whose it is and what it sets. */
export interface CgroupProgramInfo {
  /** The kernel's id for it. */
  id: number;
  /** Its name in the kernel (`bpf_prog_info.name`). */
  name: string;
  /** The cgroup it is attached to: this one or an ancestor. */
  cgroup: string;
  /** This module's kind of program; `undefined` for another's, whatever its name. */
  kind: ProgramKind | undefined;
  /** Whose it is, for this module's (`""` for one of 0.7 or 0.8); `undefined` for another's. */
  owner: string | undefined;
  /** What this module's `sock_ops` program sets, the fields it does not set absent; `undefined` otherwise. */
  settings: Partial<KeepaliveSettings> | undefined;
  /** The fields this module's `setsockopt` program holds over the applications' own; `undefined` otherwise. */
  holds: (keyof KeepaliveSettings)[] | undefined;
}

/** One TCP socket of a cgroup's process, with the policy that holds for it and where it holds something else. */
export interface CgroupSocket extends InspectedSocket {
  /** Its owner's uid, read by the TCP iterator; `undefined` through `pidfd_getfd`. */
  uid: number | undefined;
  /** The cgroup whose policy holds for it, the nearest with one; `undefined` if none does. */
  policy: string | undefined;
  /**
   * The fields whose values differ from that policy's (a 32-bit process's own `setsockopt`, which no cgroup
   * program sees, or an application's without `--enforce`); empty where it holds the policy, or none holds.
   */
  drift: (keyof KeepaliveSettings)[];
}

/** What a cgroup holds now: the programs that run for its connections, and its processes' TCP sockets. */
export interface InspectedCgroup {
  /** The cgroup v2 directory. */
  path: string;
  /** The programs that run for its connections, in the order the kernel runs them: its own, then its ancestors'. */
  programs: CgroupProgramInfo[];
  /** Every process holding sockets made in the cgroup and below, with them as they are, or why they could not be read. */
  processes: { pid: number; cgroup: string; sockets: CgroupSocket[]; error?: string }[];
  /** How the sockets were reached. */
  reach: Reach;
  /** Why not through the TCP iterator, where `reach` is `"pidfd"`. */
  fallback?: string;
}

const KINDS: readonly ProgramKind[] = ["sock_ops", "setsockopt"];
/** How bpftool names each hook, for what to type. */
const BPFTOOL_TYPES: Readonly<Record<ProgramKind, string>> = { sock_ops: "sock_ops", setsockopt: "setsockopt" };

/** Refuses an OS without cgroup BPF, before any call. */
function checkLinux(platform: Platform): void {
  if (!platform.bpf) throw new Error(`cgroup keepalive is Linux only (cgroup BPF); this is ${platform.name}`);
}

/** A program attached to a cgroup, read: this module's, with what it holds, or another's. */
interface Seen {
  readonly id: number;
  readonly name: string;
  readonly values: ReadBack | undefined;
}

/** Reads one attached program by id, and tells whether it is this module's: by its name and its instructions. */
function readProgram(c: BpfContext, id: number, kind: ProgramKind): Seen {
  const fd = programById(c, id);
  try {
    const info = programInfo(c, fd);
    const values = info.name === PROGRAM_NAMES[kind]
      ? decodeProgram(c.bpf, kind, info.instructions, c.platform.socketOptions)
      : undefined;
    return { id, name: info.name, values };
  } finally {
    c.sys.close(fd);
  }
}

/** The programs attached to the cgroup itself for a kind, read. */
function programsAt(c: BpfContext, cgroup: number, kind: ProgramKind): Seen[] {
  return attachedPrograms(c, cgroup, kind).ids.map((id) => readProgram(c, id, kind));
}

/** This module's `sock_ops` program of each directory that has one, by path: the policies that may hold. */
function policiesAt(c: BpfContext, paths: readonly string[]): Map<string, ReadBack> {
  const found = new Map<string, ReadBack>();
  for (const path of paths) {
    const fd = c.calls.openDirectory(path);
    if (fd < 0) continue; // removed since
    try {
      const ours = programsAt(c, fd, "sock_ops").find((seen) => seen.values);
      if (ours) found.set(path, ours.values!);
    } finally {
      c.sys.close(fd);
    }
  }
  return found;
}

/** The nearest of `path` and its ancestors with a policy: the one that holds for its connections. */
function nearest(policies: ReadonlyMap<string, unknown>, path: string): string | undefined {
  for (let at = path; at; at = at.slice(0, at.lastIndexOf("/"))) if (policies.has(at)) return at;
  return policies.has("/") ? "/" : undefined;
}

/** The default owner: the host's name (a Kubernetes pod's is the pod's). */
function ownerOf(c: BpfContext, owner: string | undefined): string {
  return owner ?? c.calls.kernel().hostname;
}

/**
 * Refuses a cgroup where another program was attached exclusively, here or above: the kernel then lets no other
 * program of its kind run there or below. Named, with what to do; before anything is attached.
 */
function checkShared(c: BpfContext, path: string, kinds: readonly ProgramKind[]): void {
  for (const at of [path, ...ancestorsOf(c, path)]) {
    const fd = c.calls.openDirectory(at);
    if (fd < 0) continue;
    try {
      for (const kind of kinds) {
        const { ids: [id], flags } = attachedPrograms(c, fd, kind);
        if (id === undefined || flags & c.bpf.BPF_F_ALLOW_MULTI) continue;
        const { name } = readProgram(c, id, kind);
        const how = flags & c.bpf.BPF_F_ALLOW_OVERRIDE
          ? "with override (BPF_F_ALLOW_OVERRIDE), which lets a cgroup below replace it, not run beside it"
          : "exclusively (without BPF_F_ALLOW_MULTI, bpftool's default)";
        const type = BPFTOOL_TYPES[kind];
        throw new KeepaliveError(
          `cannot attach to ${path}: ${kind} program ${id} ${name} is attached to ${at} ${how}, so the kernel lets no other ${kind} program run there or below; nothing was attached. To run both, attach it again with multi (bpftool cgroup detach ${at} ${type} id ${id}; bpftool cgroup attach ${at} ${type} id ${id} multi), or take it off`,
          { code: "EPERM", syscall: "bpf(BPF_PROG_ATTACH)" },
        );
      }
    } finally {
      c.sys.close(fd);
    }
  }
}

/**
 * Attaches this module's programs to a cgroup v2 directory, and sets the sockets its processes already hold, but
 * for those in a cgroup below with a policy of its own, whose policy holds for them.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param path The cgroup's directory.
 * @param options The policy, as for `setKeepalive`.
 * @param settings `enforce`: also hold the policy over the applications' own `setsockopt` of these options;
 *   `owner`: whose programs these are (default: the host's name); `root`: the hierarchy's root is meant.
 * @returns The programs attached, and each process's sockets before and after.
 * @throws {TypeError | RangeError} On bad options or settings, before any call; `TypeError` naming the path if it
 *   is no cgroup v2 directory, or is the root without `root`.
 * @throws {Error} On an OS other than Linux, or a kernel before 5.9.
 * @throws {KeepaliveError} If the kernel refuses: `EPERM` without `CAP_BPF` and `CAP_NET_ADMIN`, or naming another's
 *   program attached exclusively; the verifier's log; a process whose sockets this process may not take
 *   (`CAP_SYS_PTRACE`), before anything is attached.
 */
export function applyToCgroup(
  open: () => Syscalls,
  platform: Platform,
  path: string,
  options: KeepaliveOptions,
  settings: { enforce?: boolean; owner?: string; root?: boolean } = {},
): CgroupKeepalive {
  const writes = planWrites(options, platform);
  const { enforce = false, owner: asked, root = false } = checkCgroupSettings(
    "setCgroupKeepalive's settings",
    settings,
    ["enforce", "owner", "root"],
  );
  const where = checkPath(path);
  checkLinux(platform);
  const c = bpfContext(open(), platform);
  checkKernel(c, c.calls.kernel().release);
  const owner = ownerOf(c, asked);
  const cgroup = openCgroup(c, where);
  try {
    if (isRoot(c, cgroup) && !root) {
      throw new TypeError(
        `${where} is the root of the cgroup hierarchy: every process of the host is in it or below, this one's too; pass root: true (--root) if that is what is meant`,
      );
    }
    lockCgroup(c, cgroup, where);
    const tree = cgroupTree(c, where);
    const policies = policiesAt(c, tree.slice(1).map((directory) => directory.path));
    const mine = tree.filter((directory) => nearest(policies, directory.path) === undefined);
    // Every socket to be set must be reachable before anything changes: never attached, then half-done.
    const { prepared, fallback } = cgroupPass(c, tree, "set");
    if (!prepared) checkAllReachable(c, where, mine);
    let programs;
    try {
      programs = attachPolicy(c, cgroup, where, { owner, writes }, enforce);
    } catch (error) {
      if (prepared) closeCgroupPass(c, prepared);
      throw error;
    }
    const processes = prepared
      ? setByPass(runCgroupPass(c, prepared, mine, writes))
      : mine.flatMap(({ path: cgroupPath, pids }) =>
        pids.flatMap((pid): CgroupProcess[] => {
          try {
            return [{ pid, cgroup: cgroupPath, sockets: applyToProcess(() => c.sys, platform, pid, options) }];
          } catch (error) {
            if (!(error instanceof KeepaliveError)) throw error;
            return error.code === "ESRCH" ? [] : [{ pid, cgroup: cgroupPath, sockets: [], error: error.message }];
          }
        })
      );
    return {
      path: where,
      programs,
      processes,
      nested: [...policies.keys()],
      reach: prepared ? "iterator" : "pidfd",
      ...(fallback === undefined ? {} : { fallback }),
    };
  } finally {
    c.sys.close(cgroup);
  }
}

/** The TCP iterator's pass over a tree, checked and ready; or, where the kernel cannot run it, why not. */
function cgroupPass(
  c: BpfContext,
  tree: readonly CgroupDirectory[],
  needs: "read" | "set",
): { prepared?: PreparedPass; fallback?: string } {
  try {
    return { prepared: prepareCgroupPass(c, tree, needs) };
  } catch (error) {
    if (!(error instanceof NoPass)) throw error;
    return { fallback: `${error.message}; through pidfd_getfd instead, which needs CAP_SYS_PTRACE` };
  }
}

/** Refuses, before anything changes, a process of the cgroups whose sockets `pidfd_getfd` may not take. */
function checkAllReachable(c: BpfContext, where: string, mine: readonly CgroupDirectory[]): void {
  for (const { pids } of mine) {
    for (const pid of pids) {
      try {
        checkReachable(c.sys, c.platform, pid);
      } catch (error) {
        if (error instanceof KeepaliveError && error.code === "ESRCH") continue;
        throw error instanceof KeepaliveError
          ? new KeepaliveError(
            `cannot set the sockets the processes of ${where} already hold, so nothing was attached: ${error.message}`,
            { code: error.code, errno: error.errno, syscall: error.syscall },
          )
          : error;
      }
    }
  }
}

/**
 * Each socket of a pass in the group of each process holding it and the cgroup it was made in (pid 0 for one no
 * process holds), in the order found.
 */
function byHolder<T>(
  pass: CgroupPass,
  make: (record: CgroupPass["records"][number], fd: number) => T,
): { pid: number; cgroup: string; sockets: T[] }[] {
  const groups = new Map<string, { pid: number; cgroup: string; sockets: T[] }>();
  for (const record of pass.records) {
    const cgroup = pass.paths.get(record.cgroupId) ?? "";
    const held = record.holders;
    for (const { pid, fd } of held.length ? held : [{ pid: 0, fd: -1 }]) {
      const key = `${pid} ${cgroup}`;
      let group = groups.get(key);
      if (!group) groups.set(key, group = { pid, cgroup, sockets: [] });
      group.sockets.push(make(record, fd));
    }
  }
  return [...groups.values()];
}

/** What a setting pass did, by process: each socket before and after, and the writes the kernel refused. */
function setByPass(pass: CgroupPass): CgroupProcess[] {
  return byHolder(pass, (record, fd) => ({ record, fd })).map(({ pid, cgroup, sockets }) => {
    const refused = sockets.filter(({ record }) => record.refused)
      .map(({ record }) => `bpf_setsockopt refused ${record.refused} on ${record.local}`);
    return {
      pid,
      cgroup,
      sockets: sockets.map(({ record, fd }) => ({
        fd,
        local: record.local,
        peer: record.peer,
        before: record.before!, // the pass keeps only full sockets, which hold options
        after: record.after!,
      })),
      ...(refused.length ? { error: refused.join("; ") } : {}),
    };
  });
}

/**
 * Loads the programs first, so that a refusal changes nothing; then attaches each in place of this module's own
 * earlier one, taking off what the policy no longer asks for. If the second attach fails, the first is undone.
 */
function attachPolicy(
  c: BpfContext,
  cgroup: number,
  path: string,
  values: ProgramValues,
  enforce: boolean,
): CgroupProgram[] {
  const wanted = enforce ? KINDS : KINDS.slice(0, 1);
  checkShared(c, path, wanted);
  const loaded = new Map<ProgramKind, number>();
  const earlier = new Map<ProgramKind, { fd: number; owner: string }[]>();
  const undo: (() => void)[] = [];
  try {
    for (const kind of wanted) {
      loaded.set(kind, loadProgram(c, specOf(c, kind), programLines(currentTemplate(c.bpf, kind), values)));
    }
    for (const kind of KINDS) {
      earlier.set(
        kind,
        programsAt(c, cgroup, kind).filter((seen) => seen.values).map(({ id, values }) => ({
          fd: programById(c, id),
          owner: values!.owner,
        })),
      );
    }
    const programs: CgroupProgram[] = [];
    try {
      for (const kind of KINDS) {
        const [replacing, ...extra] = earlier.get(kind)!;
        const fd = loaded.get(kind);
        if (fd === undefined) {
          for (const old of earlier.get(kind)!) detachProgram(c, cgroup, old.fd, kind);
          continue;
        }
        attachProgram(c, cgroup, fd, kind, replacing?.fd);
        undo.push(() =>
          replacing === undefined
            ? detachProgram(c, cgroup, fd, kind)
            : attachProgram(c, cgroup, replacing.fd, kind, fd)
        );
        for (const old of extra) detachProgram(c, cgroup, old.fd, kind);
        programs.push({ kind, id: programInfo(c, fd).id, owner: values.owner, replaced: replacing?.owner });
      }
    } catch (error) {
      for (const step of undo.reverse()) step();
      throw error;
    }
    return programs;
  } finally {
    for (const fd of [...loaded.values(), ...[...earlier.values()].flat().map((old) => old.fd)]) c.sys.close(fd);
  }
}

/**
 * Takes this module's programs of one owner off a cgroup (or every owner's, with `all`): connections made there
 * afterwards get the policy above it, or the system's defaults. Others' programs, another owner's, and the sockets
 * that exist, are left as they are.
 *
 * @param open Opens the binding.
 * @param path The cgroup's directory.
 * @param settings `owner`: whose to take off (default: the host's name); `all`: every owner's. A program of 0.7 or
 *   0.8, which recorded no owner, is anyone's.
 * @returns Each of this module's programs there, and whether it was taken off.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory, or on bad settings.
 * @throws {KeepaliveError} If the kernel refuses (`EPERM` without the capabilities).
 */
export function clearCgroup(
  open: () => Syscalls,
  platform: Platform,
  path: string,
  settings: { owner?: string; all?: boolean } = {},
): DetachedProgram[] {
  const { owner: asked, all = false } = checkCgroupSettings("clearCgroupKeepalive's settings", settings, [
    "owner",
    "all",
  ]);
  const where = checkPath(path);
  checkLinux(platform);
  const c = bpfContext(open(), platform);
  const owner = ownerOf(c, asked);
  const cgroup = openCgroup(c, where);
  const seen: DetachedProgram[] = [];
  try {
    lockCgroup(c, cgroup, where);
    for (const kind of KINDS) {
      for (const { id, values } of programsAt(c, cgroup, kind)) {
        if (!values) continue;
        const detached = all || values.owner === owner || values.owner === "";
        if (detached) {
          const fd = programById(c, id);
          try {
            detachProgram(c, cgroup, fd, kind);
          } finally {
            c.sys.close(fd);
          }
        }
        seen.push({ kind, id, owner: values.owner, detached });
      }
    }
  } finally {
    c.sys.close(cgroup);
  }
  return seen;
}

/**
 * Reads a cgroup without writing anything: the programs that run for its connections (its ancestors' too), whose
 * this module's are and what they set, and every TCP socket of its processes and those below, each with the policy
 * that holds for it and what it holds otherwise.
 *
 * @param open Opens the binding.
 * @param path The cgroup's directory.
 * @returns What it holds now.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory.
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function inspectCgroupAt(open: () => Syscalls, platform: Platform, path: string): InspectedCgroup {
  const where = checkPath(path);
  checkLinux(platform);
  const c = bpfContext(open(), platform);
  const cgroup = openCgroup(c, where);
  const programs: CgroupProgramInfo[] = [];
  let tree;
  let policies;
  try {
    const chain = [where, ...ancestorsOf(c, where)];
    tree = cgroupTree(c, where);
    policies = policiesAt(c, [...chain.slice(1), ...tree.map((directory) => directory.path)]);
    // Where each program runs from: the effective list is ids only.
    const attachedAt = new Map<number, string>();
    for (const at of chain) {
      const fd = c.calls.openDirectory(at);
      if (fd < 0) continue;
      try {
        for (const kind of KINDS) for (const id of attachedPrograms(c, fd, kind).ids) attachedAt.set(id, at);
      } finally {
        c.sys.close(fd);
      }
    }
    for (const kind of KINDS) {
      for (const id of attachedPrograms(c, cgroup, kind, true).ids) {
        const { name, values } = readProgram(c, id, kind);
        programs.push({
          id,
          name,
          cgroup: attachedAt.get(id) ?? where,
          kind: values && kind,
          owner: values?.owner,
          settings: values && kind === "sock_ops" ? settingsOf(platform, values.writes) : undefined,
          holds: values && kind === "setsockopt" ? values.holds.map((option) => option.field) : undefined,
        });
      }
    }
  } finally {
    c.sys.close(cgroup);
  }
  const held = new Map([...policies].map(([at, values]) => [at, settingsOf(platform, values.writes)]));
  const judged = (socket: InspectedSocket, cgroupPath: string, uid: number | undefined): CgroupSocket => {
    const policy = nearest(held, cgroupPath);
    const settings = policy === undefined ? {} : held.get(policy)!;
    const fields = Object.keys(settings) as (keyof KeepaliveSettings)[];
    return { ...socket, uid, policy, drift: fields.filter((field) => settings[field] !== socket.settings[field]) };
  };
  const { prepared, fallback } = cgroupPass(c, tree, "read");
  const reach = prepared ? "iterator" : "pidfd";
  const said = fallback === undefined ? {} : { fallback };
  if (prepared) {
    const pass = runCgroupPass(c, prepared, tree);
    const processes = byHolder(pass, (record, fd) => {
      const socket = netnsSocket(record, record.before, (id) => pass.paths.get(id));
      const { local, peer, state, settings, deadPeerMs, uid, cgroup: made = "" } = socket;
      return judged({ fd, local, peer, state, settings: settings!, deadPeerMs, sinceHeardMs: undefined }, made, uid);
    });
    return { path: where, programs, processes, reach, ...said };
  }
  const processes = tree.flatMap(({ path: cgroupPath, pids }) =>
    pids.flatMap((pid) => {
      try {
        const sockets = inspectProcessAt(() => c.sys, platform, pid).map((socket) =>
          judged(socket, cgroupPath, undefined)
        );
        return [{ pid, cgroup: cgroupPath, sockets }];
      } catch (error) {
        if (!(error instanceof KeepaliveError)) throw error;
        return error.code === "ESRCH" ? [] : [{ pid, cgroup: cgroupPath, sockets: [], error: error.message }];
      }
    })
  );
  return { path: where, programs, processes, reach, ...said };
}

/** One of this module's programs attached to a cgroup itself, read back from the kernel's instructions. */
export interface HeldProgram {
  readonly kind: ProgramKind;
  readonly id: number;
  /** Whose it is (`""` for a program of 0.7 or 0.8). */
  readonly owner: string;
  /** What `sock_ops` sets, in the kernel's units; empty for `setsockopt`. */
  readonly writes: readonly Write[];
  /** The options `setsockopt` holds; empty for `sock_ops`. */
  readonly holds: readonly SocketOption[];
}

/**
 * This module's programs attached to a cgroup itself (not its ancestors'), read back: what a node agent checks each
 * period, with no socket read. A program is read once: its id names it until it is unloaded, and `read` keeps what
 * each id was read as (`null` for another's).
 *
 * @param open Opens the binding.
 * @param path The cgroup's directory.
 * @param read What programs were read as before, by id; filled with those read now.
 * @returns Each program, `sock_ops` first.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory (or has gone).
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function heldProgramsAt(
  open: () => Syscalls,
  platform: Platform,
  path: string,
  read: Pick<Map<number, HeldProgram | null>, "get" | "set"> = new Map(),
): HeldProgram[] {
  checkLinux(platform);
  const c = bpfContext(open(), platform);
  const cgroup = openCgroup(c, checkPath(path));
  try {
    return KINDS.flatMap((kind) =>
      attachedPrograms(c, cgroup, kind).ids.flatMap((id) => {
        let held = read.get(id);
        if (held === undefined) {
          const { values } = readProgram(c, id, kind);
          held = values ? { kind, id, owner: values.owner, writes: values.writes, holds: values.holds } : null;
          read.set(id, held);
        }
        return held ? [held] : [];
      })
    );
  } finally {
    c.sys.close(cgroup);
  }
}

/** A cgroup's policy to hold on the sockets already made in it and in the cgroups below it that it holds for. */
export interface PolicyTarget {
  /** The cgroup's directory, as the results name it. */
  readonly path: string;
  readonly options: KeepaliveOptions;
  /** The ids of the cgroups whose sockets it holds for: its own, and those below but the ones with a policy of their own. */
  readonly ids: readonly bigint[];
}

/** What {@linkcode correctCgroups} found in a cgroup's tree. */
export interface CorrectedCgroup {
  readonly path: string;
  /** Sockets that held another value than the policy, and were put back to it. */
  readonly corrected: number;
  /** The writes the kernel refused, by socket; empty when none was. */
  readonly refused: string[];
}

/**
 * Puts back to its policy every socket already made in each target's cgroups, writing only what differs: one program
 * for each policy (each options object), one pass in each network namespace in use on the host, no holder looked for,
 * no socket kept. What
 * `--enforce` cannot hold (a 32-bit process's own `setsockopt`, which no cgroup program sees; another program's
 * write) is undone so.
 *
 * @param open Opens the binding.
 * @param targets The cgroups, each with its policy and the ids it holds for.
 * @returns For each target, how many sockets were put back.
 * @throws {NoPass} Where the kernel cannot set sockets from the TCP iterator (before 5.15, or no BTF).
 * @throws {KeepaliveError} A missing capability, a namespace that may not be entered, or the kernel's refusal.
 */
export function correctCgroups(
  open: () => Syscalls,
  platform: Platform,
  targets: readonly PolicyTarget[],
): CorrectedCgroup[] {
  checkLinux(platform);
  const c = bpfContext(open(), platform);
  const results = new Map(targets.map(({ path }) => [path, { corrected: 0, refused: [] as string[] }]));
  // The targets of each policy (one options object) together: one program each, planned once.
  const groups = new Map<KeepaliveOptions, { writes: Write[]; targetOf: Map<bigint, string> }>();
  for (const { path, options, ids } of targets) {
    let group = groups.get(options);
    if (!group) groups.set(options, group = { writes: planWrites(options, platform), targetOf: new Map() });
    for (const id of ids) group.targetOf.set(id, path);
  }
  if (groups.size === 0) return [];
  const { layout, namespaces } = prepareHostPass(c, "set");
  try {
    for (const { writes, targetOf } of groups.values()) {
      const pass = { cgroups: [...targetOf.keys()], writes, onlyChanged: true };
      passTcp(c, layout, namespaces, pass, NO_HOLDERS, (record) => {
        const result = results.get(targetOf.get(record.cgroupId)!)!;
        if (record.wrote && !record.refused) result.corrected++;
        if (record.refused) result.refused.push(`bpf_setsockopt refused ${record.refused} on ${record.local}`);
      });
    }
  } finally {
    for (const netns of namespaces) closeNetns(c, netns);
  }
  return [...results].map(([path, result]) => ({ path, ...result }));
}

/** What writes set, as settings: the fields they do not set absent. */
function settingsOf(platform: Platform, writes: readonly Write[]): Partial<KeepaliveSettings> {
  const settings = toSettings(
    platform,
    platform.socketOptions.map((option) => writes.find((write) => write.option === option)?.value),
  );
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
