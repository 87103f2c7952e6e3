/**
 * The two BPF programs, as tables of instructions, one a line, each with what
 * it does. `sock_ops` runs when a connection of the cgroup is established,
 * opened or accepted, and sets the policy with `bpf_setsockopt`: keepalive
 * on first, since the idle time rearms only a timer that runs. `setsockopt`
 * (`--enforce`) runs before an application's own `setsockopt` and writes the
 * policy's value over the application's for each option the policy sets, so
 * that the call succeeds and the policy holds.
 *
 * @module
 */
import type { Write } from "../options/mod.ts";
import type { BpfTable, SocketOption } from "../platforms/mod.ts";

/**
 * Which of this module's programs: `sock_ops` sets the policy when a connection is established; `setsockopt` holds it
 * over an application's own `setsockopt` (`enforce`).
 *
 * @example The two
 * ```ts
 * import type { ProgramKind } from "../mod.ts";
 * import { deepEqual } from "node:assert/strict";
 *
 * const kinds: ProgramKind[] = ["sock_ops", "setsockopt"];
 * deepEqual(kinds.length, 2);
 * ```
 */
export type ProgramKind = "sock_ops" | "setsockopt";

/** Each program's name in the kernel (`bpf_prog_info.name`): how this module knows its own among others'. */
export const PROGRAM_NAMES: Readonly<Record<ProgramKind, string>> = {
  sock_ops: "tcp_keepalive",
  setsockopt: "tcp_ka_enforce",
};

/** One instruction, as the kernel takes it, and what it does; `jump` names the label a jump goes to. */
export interface Instruction {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
  readonly jump?: string;
  readonly comment: string;
}

/** A program's lines: instructions, and labels that jumps go to. */
export type Line = Instruction | { readonly label: string };

// Registers: r0 the return value, r1 to r5 arguments, r6 to r9 kept across calls, r10 the frame pointer.
const [R0, R1, R2, R3, R4, R5, R6, R10] = [0, 1, 2, 3, 4, 5, 6, 10];

/** The instruction set, from the table's opcode parts. */
function assembler({ opcodes: o }: BpfTable) {
  const line = (code: number, dst: number, src: number, off: number, imm: number, comment: string, jump?: string) =>
    ({ code, dst, src, off, imm, comment, ...(jump ? { jump } : {}) }) as Instruction;
  return {
    mov: (dst: number, src: number, comment: string) =>
      line(o.BPF_ALU64 | o.BPF_MOV | o.BPF_X, dst, src, 0, 0, comment),
    movImm: (dst: number, imm: number, comment: string) =>
      line(o.BPF_ALU64 | o.BPF_MOV | o.BPF_K, dst, 0, 0, imm, comment),
    addImm: (dst: number, imm: number, comment: string) =>
      line(o.BPF_ALU64 | o.BPF_ADD | o.BPF_K, dst, 0, 0, imm, comment),
    loadWord: (dst: number, src: number, off: number, comment: string) =>
      line(o.BPF_LDX | o.BPF_MEM | o.BPF_W, dst, src, off, 0, comment),
    loadDouble: (dst: number, src: number, off: number, comment: string) =>
      line(o.BPF_LDX | o.BPF_MEM | o.BPF_DW, dst, src, off, 0, comment),
    storeWord: (dst: number, off: number, imm: number, comment: string) =>
      line(o.BPF_ST | o.BPF_MEM | o.BPF_W, dst, 0, off, imm, comment),
    jumpIfEqual: (dst: number, imm: number, to: string, comment: string) =>
      line(o.BPF_JMP | o.BPF_JEQ | o.BPF_K, dst, 0, 0, imm, comment, to),
    jumpIfNotEqual: (dst: number, imm: number, to: string, comment: string) =>
      line(o.BPF_JMP | o.BPF_JNE | o.BPF_K, dst, 0, 0, imm, comment, to),
    jumpIfGreater: (dst: number, src: number, to: string, comment: string) =>
      line(o.BPF_JMP | o.BPF_JGT | o.BPF_X, dst, src, 0, 0, comment, to),
    jump: (to: string, comment: string) => line(o.BPF_JMP | o.BPF_JA, 0, 0, 0, 0, comment, to),
    call: (helper: number, comment: string) => line(o.BPF_JMP | o.BPF_CALL, 0, 0, 0, helper, comment),
    exit: (comment: string) => line(o.BPF_JMP | o.BPF_EXIT, 0, 0, 0, 0, comment),
  };
}

/** Keepalive on first: the idle time only rearms a timer that runs. */
function inOrder(writes: readonly Write[]): Write[] {
  return [...writes.filter((w) => w.option.unit === "bool"), ...writes.filter((w) => w.option.unit !== "bool")];
}

/**
 * The `sock_ops` program: at `ACTIVE_ESTABLISHED_CB` and `PASSIVE_ESTABLISHED_CB`, one `bpf_setsockopt` per write.
 *
 * @param bpf The BPF table.
 * @param writes The policy, in the kernel's units.
 * @returns The program's lines.
 */
export function sockOpsProgram(bpf: BpfTable, writes: readonly Write[]): Line[] {
  const a = assembler(bpf);
  return [
    a.mov(R6, R1, "r6 = the context, struct bpf_sock_ops, kept across the calls"),
    a.loadWord(R1, R6, bpf.context["bpf_sock_ops.op"], "r1 = op: which callback this is"),
    a.jumpIfEqual(R1, bpf.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB, "set", "a connection opened here is established"),
    a.jumpIfEqual(R1, bpf.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB, "set", "a connection accepted here is established"),
    a.jump("out", "any other callback: nothing to do"),
    { label: "set" },
    ...inOrder(writes).flatMap(({ option, value }) => [
      a.storeWord(R10, -4, value, `*(u32 *)(r10 - 4) = ${value}: the value, on the stack`),
      a.mov(R1, R6, "r1 = the context"),
      a.movImm(R2, option.level, `r2 = ${option.level}: the level`),
      a.movImm(R3, option.option, `r3 = ${option.name}`),
      a.mov(R4, R10, "r4 = the frame pointer"),
      a.addImm(R4, -4, "r4 = &value"),
      a.movImm(R5, 4, "r5 = sizeof(int)"),
      a.call(bpf.BPF_FUNC_setsockopt, `bpf_setsockopt(ctx, level, ${option.name}, &value, 4)`),
    ]),
    { label: "out" },
    a.movImm(R0, 1, "r0 = 1: done"),
    a.exit("return"),
  ];
}

/**
 * The `setsockopt` program: for each write, an application's `setsockopt` of that option gets the policy's value
 * written over its own, and goes on.
 *
 * @param bpf The BPF table.
 * @param writes The policy, in the kernel's units.
 * @returns The program's lines.
 */
export function setsockoptProgram(bpf: BpfTable, writes: readonly Write[]): Line[] {
  const a = assembler(bpf);
  const { context } = bpf;
  return [
    a.mov(R6, R1, "r6 = the context, struct bpf_sockopt"),
    a.loadDouble(R2, R6, context["bpf_sockopt.optval"], "r2 = optval: the application's value, as packet data"),
    a.loadDouble(R3, R6, context["bpf_sockopt.optval_end"], "r3 = optval_end"),
    a.mov(R4, R2, "r4 = optval"),
    a.addImm(R4, 4, "r4 = optval + sizeof(int)"),
    a.jumpIfGreater(R4, R3, "out", "fewer than 4 bytes: no int to write over; leave the call as it is"),
    a.loadWord(R4, R6, context["bpf_sockopt.level"], "r4 = level"),
    a.loadWord(R5, R6, context["bpf_sockopt.optname"], "r5 = optname"),
    ...writes.flatMap(({ option, value }, i) => [
      a.jumpIfNotEqual(R4, option.level, `next${i}`, `not level ${option.level}: the next option`),
      a.jumpIfNotEqual(R5, option.option, `next${i}`, `not ${option.name}: the next option`),
      a.storeWord(R2, 0, value, `*(u32 *)optval = ${value}: the policy's ${option.name}`),
      a.jump("out", "done"),
      { label: `next${i}` },
    ]),
    { label: "out" },
    a.movImm(R0, 1, "r0 = 1: the call goes on, with the value as it is now"),
    a.exit("return"),
  ];
}

/**
 * Lays the lines out as the kernel takes them: 8 bytes each, little-endian, jumps resolved to offsets.
 *
 * @param lines The program's lines.
 * @returns The instructions' bytes, in a buffer of its own (its address stays put).
 */
export function assemble(lines: readonly Line[]): Uint8Array {
  const at = new Map<string, number>();
  const instructions: Instruction[] = [];
  for (const line of lines) {
    if ("label" in line) at.set(line.label, instructions.length);
    else instructions.push(line);
  }
  const bytes = new Uint8Array(new ArrayBuffer(instructions.length * 8));
  const view = new DataView(bytes.buffer);
  instructions.forEach(({ code, dst, src, off, imm, jump }, i) => {
    const offset = jump === undefined ? off : at.get(jump)! - i - 1;
    view.setUint8(8 * i, code);
    view.setUint8(8 * i + 1, dst | src << 4);
    view.setInt16(8 * i + 2, offset, true);
    view.setInt32(8 * i + 4, imm, true);
  });
  return bytes;
}

/**
 * Reads back what one of this module's programs sets, from the instructions the kernel holds (its translated ones,
 * which keep these constants as they were loaded).
 *
 * @param bpf The BPF table.
 * @param kind Which program.
 * @param bytes Its instructions.
 * @param options The platform's socket options, to name what is found.
 * @returns Each option the program sets, with its value.
 */
export function decodeProgram(
  bpf: BpfTable,
  kind: ProgramKind,
  bytes: Uint8Array,
  options: readonly SocketOption[],
): Write[] {
  const o = bpf.opcodes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const instructions = Array.from({ length: bytes.byteLength / 8 }, (_, i) => ({
    code: view.getUint8(8 * i),
    dst: view.getUint8(8 * i + 1) & 0xf,
    off: view.getInt16(8 * i + 2, true),
    imm: view.getInt32(8 * i + 4, true),
  }));
  const storeWord = o.BPF_ST | o.BPF_MEM | o.BPF_W;
  const movImm = o.BPF_ALU64 | o.BPF_MOV | o.BPF_K;
  const jumpIfNotEqual = o.BPF_JMP | o.BPF_JNE | o.BPF_K;
  const found: Write[] = [];
  instructions.forEach((insn, i) => {
    // sock_ops: the value stored on the stack, then the level in r2 and the option in r3.
    // setsockopt: the level and the option compared, then the value stored at optval.
    const [value, level, name] = kind === "sock_ops"
      ? insn.code === storeWord && insn.dst === R10 && instructions[i + 2]?.code === movImm
        ? [insn.imm, instructions[i + 2].imm, instructions[i + 3].imm]
        : []
      : insn.code === storeWord && insn.dst === R2 && instructions[i - 2]?.code === jumpIfNotEqual
      ? [insn.imm, instructions[i - 2].imm, instructions[i - 1].imm]
      : [];
    const option = options.find((option) => option.level === level && option.option === name);
    if (option && value !== undefined) found.push({ option, value });
  });
  return found;
}
