/**
 * The `bpf(2)` commands of a cgroup's programs: attach one (in place of an
 * earlier one), detach it, and list a cgroup's programs and how they were
 * attached.
 *
 * @module
 */
import { attribute, type BpfContext, bpfError, type ProgramSpec } from "../bpf/mod.ts";
import { PROGRAM_NAMES, type ProgramKind } from "./_program.ts";

const MOST_PROGRAMS = 64;

/** The hook a kind of program is attached at. */
function attachTypeOf({ bpf }: BpfContext, kind: ProgramKind): number {
  return kind === "sock_ops" ? bpf.attachTypes.BPF_CGROUP_SOCK_OPS : bpf.attachTypes.BPF_CGROUP_SETSOCKOPT;
}

/** What a kind of program is loaded as. */
export function specOf(c: BpfContext, kind: ProgramKind): ProgramSpec {
  const { programTypes } = c.bpf;
  return {
    what: kind,
    name: PROGRAM_NAMES[kind],
    programType: kind === "sock_ops" ? programTypes.BPF_PROG_TYPE_SOCK_OPS : programTypes.BPF_PROG_TYPE_CGROUP_SOCKOPT,
    attachType: attachTypeOf(c, kind),
  };
}

/** What attaching and detaching both name: the cgroup, the program, and the hook. */
function attachment(c: BpfContext, cgroup: number, program: number, kind: ProgramKind): [Uint8Array, DataView] {
  const [attr, view] = attribute(c.bpf);
  view.setUint32(c.bpf.attr.target_fd, cgroup, true);
  view.setUint32(c.bpf.attr.attach_bpf_fd, program, true);
  view.setUint32(c.bpf.attr.attach_type, attachTypeOf(c, kind), true);
  return [attr, view];
}

/**
 * Attaches a program to a cgroup among others' (`BPF_F_ALLOW_MULTI`), in place of `replacing` if given.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function attachProgram(
  c: BpfContext,
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
export function detachProgram(c: BpfContext, cgroup: number, program: number, kind: ProgramKind): void {
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
export function attachedPrograms(c: BpfContext, cgroup: number, kind: ProgramKind, effective = false): Attached {
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
