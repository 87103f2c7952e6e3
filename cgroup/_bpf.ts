/**
 * The `bpf(2)` commands cgroup keepalive makes, each laid out from the
 * table's `union bpf_attr`: load a program (with the verifier's log when it
 * is refused), attach it (in place of an earlier one), detach it, list a
 * cgroup's programs and how they were attached, and read one's name and
 * instructions.
 *
 * @module
 */
import { assemble, type Line } from "./_insn.ts";
import { PROGRAM_NAMES, type ProgramKind } from "./_program.ts";
import { cString, cText } from "../options/mod.ts";
import { errnoName, KeepaliveError } from "../socket/mod.ts";
import type { CgroupSyscalls, Syscalls } from "../syscalls/mod.ts";
import type { BpfTable, Platform } from "../platforms/mod.ts";

/** What the cgroup calls work with, made once per public call: the binding, its cgroup calls, and the tables. */
export interface Cgroups {
  readonly sys: Syscalls;
  readonly calls: CgroupSyscalls;
  readonly platform: Platform;
  readonly bpf: BpfTable;
}

/**
 * The context of a public call, on a platform with cgroup BPF.
 *
 * @param sys The binding, opened.
 * @param platform The OS's table, with its `bpf` part.
 * @returns The context.
 */
export function cgroupsOf(sys: Syscalls, platform: Platform): Cgroups {
  return { sys, calls: sys.cgroup(), platform, bpf: platform.bpf! };
}

/** What `bpf_prog_info` says of a program. */
export interface ProgramInfo {
  readonly id: number;
  readonly type: number;
  readonly name: string;
  /** The instructions as the kernel holds them after the verifier (its translation). */
  readonly instructions: Uint8Array;
}

const LICENSE = "Dual MIT/GPL"; // a license the kernel counts as GPL-compatible, so every helper is allowed
const LOG_BYTES = 64 * 1024;
const MOST_PROGRAMS = 64;
const MOST_INSTRUCTIONS = 4096;

/** The hook a kind of program is attached at. */
export function attachTypeOf({ bpf }: Cgroups, kind: ProgramKind): number {
  return kind === "sock_ops" ? bpf.attachTypes.BPF_CGROUP_SOCK_OPS : bpf.attachTypes.BPF_CGROUP_SETSOCKOPT;
}

/** A zeroed attribute, and a view to lay it out: the kernel refuses non-zero bytes past what a command uses. */
function attribute(bpf: BpfTable): [Uint8Array, DataView] {
  const bytes = new Uint8Array(new ArrayBuffer(bpf.attr.size));
  return [bytes, new DataView(bytes.buffer)];
}

/** What attaching and detaching both name: the cgroup, the program, and the hook. */
function attachment(c: Cgroups, cgroup: number, program: number, kind: ProgramKind): [Uint8Array, DataView] {
  const [attr, view] = attribute(c.bpf);
  view.setUint32(c.bpf.attr.target_fd, cgroup, true);
  view.setUint32(c.bpf.attr.attach_bpf_fd, program, true);
  view.setUint32(c.bpf.attr.attach_type, attachTypeOf(c, kind), true);
  return [attr, view];
}

/** The capabilities each command takes, in the initial user namespace, said when it is refused for want of them. */
const NEEDS: Readonly<Record<string, string>> = {
  BPF_PROG_GET_FD_BY_ID: "CAP_SYS_ADMIN",
  BPF_OBJ_GET_INFO_BY_FD: "CAP_SYS_ADMIN",
};

/** The error of a `bpf` command that returned `-errno`: a missing right names the capabilities it takes. */
function bpfError({ platform }: Cgroups, result: number, command: string, what: string): KeepaliveError {
  const errno = -result;
  const code = errnoName(platform, errno);
  const why = code === "EPERM"
    ? `${what}: that needs ${
      NEEDS[command] ?? "CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN)"
    } in the initial user namespace`
    : `${what} failed`;
  return new KeepaliveError(why, { code, errno, syscall: `bpf(${command})` });
}

/**
 * Loads a program; where the verifier refuses it, loads it again with a log, and says what the log says.
 *
 * @returns The program's descriptor.
 * @throws {KeepaliveError} If the kernel refuses it: the verifier's log in the message where it has one.
 */
export function loadProgram(c: Cgroups, kind: ProgramKind, lines: readonly Line[]): number {
  const { bpf, calls } = c;
  const instructions = assemble(lines);
  const license = cString(LICENSE);
  const log = new Uint8Array(new ArrayBuffer(LOG_BYTES));
  const load = (logged: boolean) => {
    const [attr, view] = attribute(bpf);
    const { attr: at } = bpf;
    view.setUint32(
      at.prog_type,
      kind === "sock_ops" ? bpf.programTypes.BPF_PROG_TYPE_SOCK_OPS : bpf.programTypes.BPF_PROG_TYPE_CGROUP_SOCKOPT,
      true,
    );
    view.setUint32(at.insn_cnt, instructions.byteLength / 8, true);
    view.setBigUint64(at.insns, calls.addressOf(instructions), true);
    view.setBigUint64(at.license, calls.addressOf(license), true);
    if (logged) {
      view.setUint32(at.log_level, 1, true);
      view.setUint32(at.log_size, log.byteLength, true);
      view.setBigUint64(at.log_buf, calls.addressOf(log), true);
    }
    attr.set(cString(PROGRAM_NAMES[kind]).subarray(0, bpf.BPF_OBJ_NAME_LEN - 1), at.prog_name);
    view.setUint32(at.expected_attach_type, attachTypeOf(c, kind), true);
    return calls.bpf(bpf.commands.BPF_PROG_LOAD, attr);
  };
  const fd = load(false);
  if (fd >= 0) return fd;
  const code = errnoName(c.platform, -fd);
  if (code !== "EACCES" && code !== "EINVAL") throw bpfError(c, fd, "BPF_PROG_LOAD", `loading ${kind}`);
  load(true);
  const said = cText(log).trim();
  throw new KeepaliveError(`the verifier refused the ${kind} program:\n${said}`, {
    code,
    errno: -fd,
    syscall: "bpf(BPF_PROG_LOAD)",
  });
}

/**
 * Attaches a program to a cgroup among others' (`BPF_F_ALLOW_MULTI`), in place of `replacing` if given.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function attachProgram(
  c: Cgroups,
  cgroup: number,
  program: number,
  kind: ProgramKind,
  replacing?: number,
): void {
  const { bpf } = c;
  const [attr, view] = attachment(c, cgroup, program, kind);
  view.setUint32(
    bpf.attr.attach_flags,
    bpf.BPF_F_ALLOW_MULTI | (replacing === undefined ? 0 : bpf.BPF_F_REPLACE),
    true,
  );
  if (replacing !== undefined) view.setUint32(bpf.attr.replace_bpf_fd, replacing, true);
  const result = c.calls.bpf(bpf.commands.BPF_PROG_ATTACH, attr);
  if (result < 0) throw bpfError(c, result, "BPF_PROG_ATTACH", "attaching to the cgroup");
}

/**
 * Detaches one program from a cgroup.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function detachProgram(c: Cgroups, cgroup: number, program: number, kind: ProgramKind): void {
  const [attr] = attachment(c, cgroup, program, kind);
  const result = c.calls.bpf(c.bpf.commands.BPF_PROG_DETACH, attr);
  if (result < 0) throw bpfError(c, result, "BPF_PROG_DETACH", "detaching from the cgroup");
}

/** The programs of one hook of a cgroup, and how they were attached there. */
export interface Attached {
  /** Their ids, in the order the kernel runs them. */
  readonly ids: readonly number[];
  /** The flags they were attached with (`BPF_F_ALLOW_MULTI`, `BPF_F_ALLOW_OVERRIDE`, or none); 0 for `effective`. */
  readonly flags: number;
}

/**
 * The programs attached to the cgroup for a kind, by id: to it alone, or (`effective`) all that run for its
 * connections, its own first, then its ancestors'.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function attachedPrograms(c: Cgroups, cgroup: number, kind: ProgramKind, effective = false): Attached {
  const { bpf } = c;
  const ids = new Uint32Array(new ArrayBuffer(MOST_PROGRAMS * 4));
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr.target_fd, cgroup, true);
  view.setUint32(bpf.attr["query.attach_type"], attachTypeOf(c, kind), true);
  if (effective) view.setUint32(bpf.attr["query.query_flags"], bpf.BPF_F_QUERY_EFFECTIVE, true);
  view.setBigUint64(bpf.attr["query.prog_ids"], c.calls.addressOf(new Uint8Array(ids.buffer)), true);
  view.setUint32(bpf.attr["query.prog_cnt"], MOST_PROGRAMS, true);
  const result = c.calls.bpf(bpf.commands.BPF_PROG_QUERY, attr);
  if (result < 0) throw bpfError(c, result, "BPF_PROG_QUERY", "listing the cgroup's programs");
  return {
    ids: [...ids.subarray(0, view.getUint32(bpf.attr["query.prog_cnt"], true))],
    flags: view.getUint32(bpf.attr["query.attach_flags"], true),
  };
}

/**
 * A descriptor for an attached program, by its id (`CAP_SYS_ADMIN`).
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function programById(c: Cgroups, id: number): number {
  const [attr, view] = attribute(c.bpf);
  view.setUint32(c.bpf.attr.prog_id, id, true);
  const fd = c.calls.bpf(c.bpf.commands.BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) throw bpfError(c, fd, "BPF_PROG_GET_FD_BY_ID", `opening program ${id}`);
  return fd;
}

/**
 * What the kernel says of a program: its id, type, name and translated instructions.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function programInfo(c: Cgroups, program: number): ProgramInfo {
  const { bpf } = c;
  const { progInfo: at } = bpf;
  const info = new Uint8Array(new ArrayBuffer(at.size));
  const infoView = new DataView(info.buffer);
  const instructions = new Uint8Array(new ArrayBuffer(MOST_INSTRUCTIONS * 8));
  infoView.setUint32(at.xlated_prog_len, instructions.byteLength, true);
  infoView.setBigUint64(at.xlated_prog_insns, c.calls.addressOf(instructions), true);
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr["info.bpf_fd"], program, true);
  view.setUint32(bpf.attr["info.info_len"], info.byteLength, true);
  view.setBigUint64(bpf.attr["info.info"], c.calls.addressOf(info), true);
  const result = c.calls.bpf(bpf.commands.BPF_OBJ_GET_INFO_BY_FD, attr);
  if (result < 0) throw bpfError(c, result, "BPF_OBJ_GET_INFO_BY_FD", "reading a program");
  const name = info.subarray(at.name, at.name + bpf.BPF_OBJ_NAME_LEN);
  return {
    id: infoView.getUint32(at.id, true),
    type: infoView.getUint32(at.type, true),
    name: cText(name),
    instructions: instructions.slice(0, Math.min(infoView.getUint32(at.xlated_prog_len, true), instructions.length)),
  };
}
