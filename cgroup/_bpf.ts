/**
 * The `bpf(2)` commands cgroup keepalive makes, each laid out from the
 * table's `union bpf_attr`: load a program (with the verifier's log when it
 * is refused), attach it (in place of an earlier one), detach it, list a
 * cgroup's programs, and read one's name and instructions.
 *
 * @module
 */
import { assemble, type Line, PROGRAM_NAMES, type ProgramKind } from "./_program.ts";
import { type CgroupSyscalls, cString, cText, errnoName, KeepaliveError } from "../socket/mod.ts";
import type { BpfTable, Platform } from "../platforms/mod.ts";

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

/** A zeroed attribute, and a view to lay it out: the kernel refuses non-zero bytes past what a command uses. */
function attribute(bpf: BpfTable): [Uint8Array, DataView] {
  const bytes = new Uint8Array(new ArrayBuffer(bpf.attr.size));
  return [bytes, new DataView(bytes.buffer)];
}

/** What attaching and detaching both name: the cgroup, the program, and the hook. */
function attachment(bpf: BpfTable, cgroup: number, program: number, attachType: number): [Uint8Array, DataView] {
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr.target_fd, cgroup, true);
  view.setUint32(bpf.attr.attach_bpf_fd, program, true);
  view.setUint32(bpf.attr.attach_type, attachType, true);
  return [attr, view];
}

/** The capabilities each command takes, in the initial user namespace, said when it is refused for want of them. */
const NEEDS: Record<string, string> = {
  BPF_PROG_GET_FD_BY_ID: "CAP_SYS_ADMIN",
  BPF_OBJ_GET_INFO_BY_FD: "CAP_SYS_ADMIN",
};

/** The error of a `bpf` command that returned `-errno`: a missing right names the capabilities it takes. */
function bpfError(platform: Platform, result: number, command: string, what: string): KeepaliveError {
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
export function loadProgram(
  sys: CgroupSyscalls,
  platform: Platform,
  kind: ProgramKind,
  lines: readonly Line[],
): number {
  const bpf = platform.bpf!;
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
    view.setBigUint64(at.insns, sys.addressOf(instructions), true);
    view.setBigUint64(at.license, sys.addressOf(license), true);
    if (logged) {
      view.setUint32(at.log_level, 1, true);
      view.setUint32(at.log_size, log.byteLength, true);
      view.setBigUint64(at.log_buf, sys.addressOf(log), true);
    }
    attr.set(cString(PROGRAM_NAMES[kind]).subarray(0, bpf.BPF_OBJ_NAME_LEN - 1), at.prog_name);
    view.setUint32(
      at.expected_attach_type,
      kind === "sock_ops" ? bpf.attachTypes.BPF_CGROUP_SOCK_OPS : bpf.attachTypes.BPF_CGROUP_SETSOCKOPT,
      true,
    );
    return sys.bpf(bpf.commands.BPF_PROG_LOAD, attr);
  };
  const fd = load(false);
  if (fd >= 0) return fd;
  const code = errnoName(platform, -fd);
  if (code !== "EACCES" && code !== "EINVAL") throw bpfError(platform, fd, "BPF_PROG_LOAD", `loading ${kind}`);
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
  sys: CgroupSyscalls,
  platform: Platform,
  cgroup: number,
  program: number,
  attachType: number,
  replacing?: number,
): void {
  const bpf = platform.bpf!;
  const [attr, view] = attachment(bpf, cgroup, program, attachType);
  view.setUint32(
    bpf.attr.attach_flags,
    bpf.BPF_F_ALLOW_MULTI | (replacing === undefined ? 0 : bpf.BPF_F_REPLACE),
    true,
  );
  if (replacing !== undefined) view.setUint32(bpf.attr.replace_bpf_fd, replacing, true);
  const result = sys.bpf(bpf.commands.BPF_PROG_ATTACH, attr);
  if (result < 0) throw bpfError(platform, result, "BPF_PROG_ATTACH", "attaching to the cgroup");
}

/**
 * Detaches one program from a cgroup.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function detachProgram(
  sys: CgroupSyscalls,
  platform: Platform,
  cgroup: number,
  program: number,
  attachType: number,
): void {
  const bpf = platform.bpf!;
  const [attr] = attachment(bpf, cgroup, program, attachType);
  const result = sys.bpf(bpf.commands.BPF_PROG_DETACH, attr);
  if (result < 0) throw bpfError(platform, result, "BPF_PROG_DETACH", "detaching from the cgroup");
}

/**
 * The programs attached to the cgroup for an attach type, by id: to it alone, or (`effective`) all that run for its
 * connections, its ancestors' too.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function attachedPrograms(
  sys: CgroupSyscalls,
  platform: Platform,
  cgroup: number,
  attachType: number,
  effective = false,
): number[] {
  const bpf = platform.bpf!;
  const ids = new Uint32Array(new ArrayBuffer(MOST_PROGRAMS * 4));
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr.target_fd, cgroup, true);
  view.setUint32(bpf.attr["query.attach_type"], attachType, true);
  if (effective) view.setUint32(bpf.attr["query.query_flags"], bpf.BPF_F_QUERY_EFFECTIVE, true);
  view.setBigUint64(bpf.attr["query.prog_ids"], sys.addressOf(new Uint8Array(ids.buffer)), true);
  view.setUint32(bpf.attr["query.prog_cnt"], MOST_PROGRAMS, true);
  const result = sys.bpf(bpf.commands.BPF_PROG_QUERY, attr);
  if (result < 0) throw bpfError(platform, result, "BPF_PROG_QUERY", "listing the cgroup's programs");
  return [...ids.subarray(0, view.getUint32(bpf.attr["query.prog_cnt"], true))];
}

/**
 * A descriptor for an attached program, by its id (`CAP_SYS_ADMIN`).
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function programById(sys: CgroupSyscalls, platform: Platform, id: number): number {
  const bpf = platform.bpf!;
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr.prog_id, id, true);
  const fd = sys.bpf(bpf.commands.BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) throw bpfError(platform, fd, "BPF_PROG_GET_FD_BY_ID", `opening program ${id}`);
  return fd;
}

/**
 * What the kernel says of a program: its id, type, name and translated instructions.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function programInfo(sys: CgroupSyscalls, platform: Platform, program: number): ProgramInfo {
  const bpf = platform.bpf!;
  const { progInfo: at } = bpf;
  const info = new Uint8Array(new ArrayBuffer(at.size));
  const infoView = new DataView(info.buffer);
  const instructions = new Uint8Array(new ArrayBuffer(MOST_INSTRUCTIONS * 8));
  infoView.setUint32(at.xlated_prog_len, instructions.byteLength, true);
  infoView.setBigUint64(at.xlated_prog_insns, sys.addressOf(instructions), true);
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr["info.bpf_fd"], program, true);
  view.setUint32(bpf.attr["info.info_len"], info.byteLength, true);
  view.setBigUint64(bpf.attr["info.info"], sys.addressOf(info), true);
  const result = sys.bpf(bpf.commands.BPF_OBJ_GET_INFO_BY_FD, attr);
  if (result < 0) throw bpfError(platform, result, "BPF_OBJ_GET_INFO_BY_FD", "reading a program");
  const name = info.subarray(at.name, at.name + bpf.BPF_OBJ_NAME_LEN);
  return {
    id: infoView.getUint32(at.id, true),
    type: infoView.getUint32(at.type, true),
    name: cText(name),
    instructions: instructions.slice(0, Math.min(infoView.getUint32(at.xlated_prog_len, true), instructions.length)),
  };
}
