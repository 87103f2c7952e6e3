/**
 * Keepalive for a whole cgroup: this module's programs attached there (in
 * place of its own earlier ones, beside everyone else's), the sockets its
 * processes already hold set through `pidfd_getfd`; taken off again; and
 * read, program and sockets, without a write.
 *
 * @module
 */
import { attachedPrograms, attachProgram, detachProgram, loadProgram, programById, programInfo } from "./_bpf.ts";
import { checkKernel, openCgroup, processesIn } from "./_cgroup.ts";
import { decodeProgram, PROGRAM_NAMES, type ProgramKind, setsockoptProgram, sockOpsProgram } from "./_program.ts";
import { checkKeys, planWrites, toSettings, type Write } from "../options/mod.ts";
import { KeepaliveError, type Syscalls } from "../socket/mod.ts";
import { applyToProcess, type InspectedSocket, inspectProcessAt, type ProcessSocket } from "../sweep/mod.ts";
import type { KeepaliveOptions, KeepaliveSettings } from "../types/mod.ts";
import type { Platform } from "../platforms/mod.ts";

/** One of this module's programs, as attached. */
export interface CgroupProgram {
  /** `sock_ops` (set at connect and accept) or `setsockopt` (enforced over an application's own). */
  kind: ProgramKind;
  /** The kernel's id for it (`bpftool prog show id ID`). */
  id: number;
  /** Whether it took the place of this module's earlier one there. */
  replaced: boolean;
}

/** A process of the cgroup, and what its TCP sockets held before and hold after; or why they could not be set. */
export interface CgroupProcess {
  /** The process. */
  pid: number;
  /** Its TCP sockets, before and after. */
  sockets: ProcessSocket[];
  /** Why its sockets could not be set (the process is reached through `pidfd_getfd`); absent when they were. */
  error?: string;
}

/** What {@linkcode applyToCgroup} did: the programs attached, and the sockets the cgroup's processes already held. */
export interface CgroupKeepalive {
  /** The cgroup v2 directory. */
  path: string;
  /** This module's programs attached there now. */
  programs: CgroupProgram[];
  /** Every process in the cgroup and below, with the TCP sockets it already held, set in the same call. */
  processes: CgroupProcess[];
}

/** A program that runs for a cgroup's connections, and, for this module's own, what it sets. */
export interface CgroupProgramInfo {
  /** The kernel's id for it. */
  id: number;
  /** Its name in the kernel (`bpf_prog_info.name`). */
  name: string;
  /** This module's kind of program; `undefined` for another's. */
  kind: ProgramKind | undefined;
  /** What this module's program sets, the fields it does not set `undefined`; `undefined` for another's. */
  settings: Partial<KeepaliveSettings> | undefined;
}

/** What a cgroup holds now: the programs that run for its connections, and its processes' TCP sockets. */
export interface InspectedCgroup {
  /** The cgroup v2 directory. */
  path: string;
  /** The programs that run for its connections: its own, and its ancestors'. */
  programs: CgroupProgramInfo[];
  /** Every process in the cgroup and below, with its TCP sockets as they are, or why they could not be read. */
  processes: { pid: number; sockets: InspectedSocket[]; error?: string }[];
}

const KINDS: readonly ProgramKind[] = ["sock_ops", "setsockopt"];
const SETTINGS_KEYS = ["enforce"];

function attachTypeOf(platform: Platform, kind: ProgramKind): number {
  const { attachTypes } = platform.bpf!;
  return kind === "sock_ops" ? attachTypes.BPF_CGROUP_SOCK_OPS : attachTypes.BPF_CGROUP_SETSOCKOPT;
}

/** Refuses an OS without cgroup BPF, before any call. */
function checkLinux(platform: Platform): void {
  if (!platform.bpf) throw new Error(`cgroup keepalive is Linux only (cgroup BPF); this is ${platform.name}`);
}

/** This module's programs attached to the cgroup itself, each with a descriptor the caller closes. */
function ownPrograms(sys: Syscalls, platform: Platform, cgroup: number, kind: ProgramKind): number[] {
  const calls = sys.cgroup();
  const fds: number[] = [];
  for (const id of attachedPrograms(calls, platform, cgroup, attachTypeOf(platform, kind))) {
    const fd = programById(calls, platform, id);
    if (programInfo(calls, platform, fd).name === PROGRAM_NAMES[kind]) fds.push(fd);
    else sys.close(fd);
  }
  return fds;
}

/** Each process's sockets, set or read by `each`; a process gone since the listing is left out. */
function perProcess<T>(
  sys: Syscalls,
  platform: Platform,
  path: string,
  each: (pid: number) => T,
): { pid: number; sockets: T; error?: string }[] {
  return processesIn(sys, platform, path).flatMap((pid) => {
    try {
      return [{ pid, sockets: each(pid) }];
    } catch (error) {
      if (error instanceof KeepaliveError && error.code === "ESRCH") return [];
      if (!(error instanceof KeepaliveError)) throw error;
      return [{ pid, sockets: [] as T, error: error.message }];
    }
  });
}

/**
 * Attaches this module's programs to a cgroup v2 directory, and sets the sockets its processes already hold.
 *
 * @param open Opens the binding; called only once the input is valid.
 * @param path The cgroup's directory.
 * @param options The policy, as for `setKeepalive`.
 * @param settings `enforce`: also hold the policy over the applications' own `setsockopt` of these options.
 * @returns The programs attached, and each process's sockets before and after.
 * @throws {TypeError | RangeError} On bad options, before any call; `TypeError` naming the path if it is no cgroup v2
 *   directory.
 * @throws {Error} On an OS other than Linux, or a kernel before 5.9.
 * @throws {KeepaliveError} If the kernel refuses: `EPERM` without `CAP_BPF` and `CAP_NET_ADMIN`, the verifier's log.
 */
export function applyToCgroup(
  open: () => Syscalls,
  platform: Platform,
  path: string,
  options: KeepaliveOptions,
  settings: { enforce?: boolean } = {},
): CgroupKeepalive {
  const writes = planWrites(options, platform);
  checkKeys("setCgroupKeepalive's settings", settings, SETTINGS_KEYS);
  if (settings.enforce !== undefined && typeof settings.enforce !== "boolean") {
    throw new TypeError(`enforce must be true or false; got ${String(settings.enforce)}`);
  }
  checkLinux(platform);
  const sys = open();
  checkKernel(platform, sys.cgroup().kernelRelease());
  const cgroup = openCgroup(sys, platform, path);
  try {
    const programs = attachPolicy(sys, platform, cgroup, writes, settings.enforce ?? false);
    const processes = perProcess(sys, platform, path, (pid) => applyToProcess(() => sys, platform, pid, options));
    return { path, programs, processes };
  } finally {
    sys.close(cgroup);
  }
}

/**
 * Loads the programs first, so that a refusal changes nothing; then attaches each in place of this module's own
 * earlier one, taking off what the policy no longer asks for. If the second attach fails, the first is undone.
 */
function attachPolicy(
  sys: Syscalls,
  platform: Platform,
  cgroup: number,
  writes: readonly Write[],
  enforce: boolean,
): CgroupProgram[] {
  const calls = sys.cgroup();
  const bpf = platform.bpf!;
  const wanted = enforce ? KINDS : KINDS.slice(0, 1);
  const loaded = new Map<ProgramKind, number>();
  const earlier = new Map<ProgramKind, number[]>();
  const undo: (() => void)[] = [];
  try {
    for (const kind of wanted) {
      const lines = kind === "sock_ops" ? sockOpsProgram(bpf, writes) : setsockoptProgram(bpf, writes);
      loaded.set(kind, loadProgram(calls, platform, kind, lines));
    }
    for (const kind of KINDS) earlier.set(kind, ownPrograms(sys, platform, cgroup, kind));
    const programs: CgroupProgram[] = [];
    try {
      for (const kind of KINDS) {
        const type = attachTypeOf(platform, kind);
        const [replacing, ...extra] = earlier.get(kind)!;
        const fd = loaded.get(kind);
        if (fd === undefined) {
          for (const old of earlier.get(kind)!) detachProgram(calls, platform, cgroup, old, type);
          continue;
        }
        attachProgram(calls, platform, cgroup, fd, type, replacing);
        undo.push(() =>
          replacing === undefined
            ? detachProgram(calls, platform, cgroup, fd, type)
            : attachProgram(calls, platform, cgroup, replacing, type, fd)
        );
        for (const old of extra) detachProgram(calls, platform, cgroup, old, type);
        programs.push({ kind, id: programInfo(calls, platform, fd).id, replaced: replacing !== undefined });
      }
    } catch (error) {
      for (const step of undo.reverse()) step();
      throw error;
    }
    return programs;
  } finally {
    for (const fd of [...loaded.values(), ...[...earlier.values()].flat()]) sys.close(fd);
  }
}

/**
 * Takes this module's programs off a cgroup: connections made afterwards get the system's defaults. Others' programs,
 * and the sockets that exist, are left as they are.
 *
 * @param open Opens the binding.
 * @param path The cgroup's directory.
 * @returns The programs taken off.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory.
 * @throws {KeepaliveError} If the kernel refuses (`EPERM` without the capabilities).
 */
export function clearCgroup(open: () => Syscalls, platform: Platform, path: string): CgroupProgram[] {
  checkLinux(platform);
  const sys = open();
  const cgroup = openCgroup(sys, platform, path);
  const removed: CgroupProgram[] = [];
  try {
    for (const kind of KINDS) {
      for (const fd of ownPrograms(sys, platform, cgroup, kind)) {
        try {
          const { id } = programInfo(sys.cgroup(), platform, fd);
          detachProgram(sys.cgroup(), platform, cgroup, fd, attachTypeOf(platform, kind));
          removed.push({ kind, id, replaced: false });
        } finally {
          sys.close(fd);
        }
      }
    }
  } finally {
    sys.close(cgroup);
  }
  return removed;
}

/**
 * Reads a cgroup without writing anything: the programs that run for its connections (its ancestors' too), what
 * this module's among them set, and every TCP socket of its processes and those below.
 *
 * @param open Opens the binding.
 * @param path The cgroup's directory.
 * @returns What it holds now.
 * @throws {TypeError} Naming the path if it is no cgroup v2 directory.
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function inspectCgroupAt(open: () => Syscalls, platform: Platform, path: string): InspectedCgroup {
  checkLinux(platform);
  const sys = open();
  const calls = sys.cgroup();
  const cgroup = openCgroup(sys, platform, path);
  const programs: CgroupProgramInfo[] = [];
  try {
    for (const type of KINDS.map((kind) => attachTypeOf(platform, kind))) {
      for (const id of attachedPrograms(calls, platform, cgroup, type, true)) {
        const fd = programById(calls, platform, id);
        try {
          const info = programInfo(calls, platform, fd);
          const kind = KINDS.find((kind) => PROGRAM_NAMES[kind] === info.name && attachTypeOf(platform, kind) === type);
          const set = kind && decodeProgram(platform.bpf!, kind, info.instructions, platform.socketOptions);
          programs.push({ id, name: info.name, kind, settings: set && settingsOf(platform, set) });
        } finally {
          sys.close(fd);
        }
      }
    }
  } finally {
    sys.close(cgroup);
  }
  const processes = perProcess(sys, platform, path, (pid) => inspectProcessAt(() => sys, platform, pid));
  return { path, programs, processes };
}

/** What writes set, as settings: the fields they do not set absent. */
function settingsOf(platform: Platform, writes: readonly Write[]): Partial<KeepaliveSettings> {
  const settings = toSettings(
    platform,
    platform.socketOptions.map((option) => writes.find((write) => write.option === option)?.value),
  );
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
