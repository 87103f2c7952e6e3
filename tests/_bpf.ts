// Others' BPF programs, for the tests of what this module does beside them: loaded and attached as another tool
// would, through the raw bpf(2) calls, not this module's loader.
import { equal, ok } from "node:assert/strict";
import { assemble, instructionSet, label, R0, R1, R10, R2, R3, R4, R5, R6 } from "../bpf/mod.ts";
import { syscalls } from "../ffi/mod.ts";
import { platformFor } from "../platforms/mod.ts";

const bpf = platformFor("linux").bpf!;

/**
 * Someone else's program, attached to the cgroup beside ours (or, with `flags` 0, exclusively, as bpftool does by
 * default): by default a sock_ops program named someone_else that only returns 1. Its descriptor, which holds it.
 */
export function attachForeign(
  cgroup: string,
  { code = assemble(returnsOne()), name = "someone_else", flags = bpf.BPF_F_ALLOW_MULTI, kind = "sock_ops" as const } =
    {},
): number {
  const calls = syscalls().cgroup();
  const license = new Uint8Array(new ArrayBuffer(8));
  license.set(new TextEncoder().encode("GPL"));
  const load = new Uint8Array(new ArrayBuffer(128));
  const view = new DataView(load.buffer);
  view.setUint32(0, kind === "sock_ops" ? bpf.programTypes.BPF_PROG_TYPE_SOCK_OPS : 0, true);
  view.setUint32(4, code.length / 8, true);
  view.setBigUint64(8, calls.addressOf(code), true);
  view.setBigUint64(16, calls.addressOf(license), true);
  load.set(new TextEncoder().encode(name), 48);
  const program = calls.bpf(bpf.commands.BPF_PROG_LOAD, load);
  ok(program >= 0, `loaded: ${program}`);
  const directory = calls.openDirectory(cgroup);
  const attach = new Uint8Array(new ArrayBuffer(128));
  const at = new DataView(attach.buffer);
  at.setUint32(0, directory, true);
  at.setUint32(4, program, true);
  at.setUint32(8, bpf.attachTypes.BPF_CGROUP_SOCK_OPS, true);
  at.setUint32(12, flags, true);
  equal(calls.bpf(bpf.commands.BPF_PROG_ATTACH, attach), 0);
  syscalls().close(directory);
  return program;
}

/** A program that returns 1 and does nothing else. */
function returnsOne() {
  const { MOV64_IMM, EXIT } = instructionSet(bpf);
  return [MOV64_IMM(R0, 1, "r0 = 1"), EXIT("return")];
}

/** Someone else's sock_ops program that sets TCP_KEEPIDLE to `seconds` on every connection established. */
export function setsIdle(seconds: number) {
  const { MOV64_REG, MOV64_IMM, ALU64_IMM, LDX_MEM, ST_MEM, JMP_IMM, CALL, EXIT } = instructionSet(bpf);
  return assemble([
    MOV64_REG(R6, R1, "r6 = ctx"),
    LDX_MEM("W", R1, R6, bpf.context["bpf_sock_ops.op"], "r1 = op", "context"),
    JMP_IMM("JEQ", R1, bpf.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB, "set", "active"),
    JMP_IMM("JNE", R1, bpf.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB, "out", "not passive either"),
    label("set"),
    ST_MEM("W", R10, -4, seconds, "the value"),
    MOV64_REG(R1, R6, "ctx"),
    MOV64_IMM(R2, 6, "IPPROTO_TCP"),
    MOV64_IMM(R3, 4, "TCP_KEEPIDLE"),
    MOV64_REG(R4, R10, "fp"),
    ALU64_IMM("ADD", R4, -4, "&value"),
    MOV64_IMM(R5, 4, "4"),
    CALL(bpf.BPF_FUNC_setsockopt, "bpf_setsockopt"),
    label("out"),
    MOV64_IMM(R0, 1, "r0 = 1"),
    EXIT("return"),
  ]);
}
