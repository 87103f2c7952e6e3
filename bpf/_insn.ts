/**
 * The BPF instruction set as data, each instruction named as the kernel's
 * `<linux/filter.h>` names the macro that makes it (`MOV64_REG`,
 * `LDX_MEM(W, ...)`, `JMP_IMM(JEQ, ...)`), with what it does. A jump names
 * the label it goes to, or a count of instructions to skip; a template's slot
 * (`slot("value")`) is a number filled in when a program is written and read
 * back when the kernel's copy is decoded. {@linkcode assemble} lays lines out
 * as the kernel takes them, refusing a missing or repeated label and an
 * offset out of range; {@linkcode disassemble} prints them in the verifier's
 * syntax, as `bpftool prog dump xlated` does.
 *
 * @module
 */
import type { BpfOpcode, BpfTable } from "../platforms/mod.ts";

/** The registers: r0 the return value, r1 to r5 arguments, r6 to r9 kept across calls, r10 the frame pointer. */
export const [R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** A place in a template for a number given when the program is written, and read back when it is decoded. */
export interface Slot {
  readonly slot: string;
}

/**
 * A template's slot.
 *
 * @param name The slot's name, which the values written and read back go by.
 * @returns The slot.
 */
export const slot = (name: string): Slot => ({ slot: name });

/**
 * What the verifier rewrites in the copy the kernel keeps: a context field's load or store becomes one of the
 * kernel's own struct (another size and offset), a helper call's number the helper's address.
 */
export type Rewritten = "context" | "call";

/** One instruction: the kernel's fields, where a jump goes, and what it does. */
export interface Instruction {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number | Slot;
  /** A 32-bit immediate; 64 bits for `LD_IMM64`, which takes two instruction slots. */
  readonly imm: number | bigint | Slot;
  /** The label a jump goes to, or how many instructions it skips. */
  readonly jump?: string | number;
  /** `LD_IMM64`: two slots, the immediate's high half in the second. */
  readonly wide?: true;
  readonly rewritten?: Rewritten;
  readonly comment: string;
}

/** A place that jumps go to. */
export interface Label {
  readonly label: string;
}

/** A program's lines: instructions, and labels. */
export type Line = Instruction | Label;

/**
 * A label.
 *
 * @param name Its name, unique in the program.
 * @returns The line.
 */
export const label = (name: string): Label => ({ label: name });

/** An instruction as the kernel holds it, one per instruction (`LD_IMM64`'s two slots as one, imm 64 bits). */
export interface Decoded {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number | bigint;
}

type Size = "B" | "H" | "W" | "DW";
type AluOp = "ADD" | "AND" | "MOV";
type JumpOp = "JEQ" | "JNE" | "JGT";

/**
 * The instruction makers, on the table's opcode parts, named as `<linux/filter.h>` names its macros.
 *
 * @param bpf The BPF table.
 * @returns The makers.
 */
export function instructionSet({ opcodes: o }: BpfTable) {
  const op = (name: AluOp | JumpOp) => o[`BPF_${name}`];
  const size = (name: Size) => o[`BPF_${name}`];
  const make = (
    code: number,
    dst: number,
    src: number,
    off: number | Slot,
    imm: number | bigint | Slot,
    comment: string,
    extra: Partial<Pick<Instruction, "jump" | "wide" | "rewritten">> = {},
  ): Instruction => ({ code, dst, src, off, imm, ...extra, comment });
  return {
    /** `dst = src`. */
    MOV64_REG: (dst: number, src: number, comment: string) =>
      make(o.BPF_ALU64 | o.BPF_MOV | o.BPF_X, dst, src, 0, 0, comment),
    /** `dst = imm`. */
    MOV64_IMM: (dst: number, imm: number | Slot, comment: string) =>
      make(o.BPF_ALU64 | o.BPF_MOV | o.BPF_K, dst, 0, 0, imm, comment),
    /** `dst op= imm`. */
    ALU64_IMM: (aluOp: AluOp, dst: number, imm: number, comment: string) =>
      make(o.BPF_ALU64 | op(aluOp) | o.BPF_K, dst, 0, 0, imm, comment),
    /** `dst = *(size *)(src + off)`; a context field's is `rewritten`. */
    LDX_MEM: (sz: Size, dst: number, src: number, off: number, comment: string, rewritten?: Rewritten) =>
      make(o.BPF_LDX | o.BPF_MEM | size(sz), dst, src, off, 0, comment, rewritten ? { rewritten } : {}),
    /** `*(size *)(dst + off) = src`; a context field's is `rewritten`. */
    STX_MEM: (sz: Size, dst: number, src: number, off: number, comment: string, rewritten?: Rewritten) =>
      make(o.BPF_STX | o.BPF_MEM | size(sz), dst, src, off, 0, comment, rewritten ? { rewritten } : {}),
    /** `*(size *)(dst + off) = imm`. */
    ST_MEM: (sz: Size, dst: number, off: number, imm: number | Slot, comment: string) =>
      make(o.BPF_ST | o.BPF_MEM | size(sz), dst, 0, off, imm, comment),
    /** `if dst op imm goto to`. */
    JMP_IMM: (jumpOp: JumpOp, dst: number, imm: number | Slot, to: string | number, comment: string) =>
      make(o.BPF_JMP | op(jumpOp) | o.BPF_K, dst, 0, 0, imm, comment, { jump: to }),
    /** `if dst op src goto to`. */
    JMP_REG: (jumpOp: JumpOp, dst: number, src: number, to: string | number, comment: string) =>
      make(o.BPF_JMP | op(jumpOp) | o.BPF_X, dst, src, 0, 0, comment, { jump: to }),
    /** `goto to`. */
    JMP_A: (to: string | number, comment: string) => make(o.BPF_JMP | o.BPF_JA, 0, 0, 0, 0, comment, { jump: to }),
    /** `call helper` (`BPF_EMIT_CALL`). */
    CALL: (helper: number, comment: string) =>
      make(o.BPF_JMP | o.BPF_CALL, 0, 0, 0, helper, comment, { rewritten: "call" }),
    /** `exit` (`BPF_EXIT_INSN`). */
    EXIT: (comment: string) => make(o.BPF_JMP | o.BPF_EXIT, 0, 0, 0, 0, comment),
    /** `dst = imm`, 64 bits, in two slots (`BPF_LD_IMM64`). */
    LD_IMM64: (dst: number, imm: bigint | Slot, comment: string) =>
      make(o.BPF_LD | o.BPF_IMM | o.BPF_DW, dst, 0, 0, imm, comment, { wide: true }),
  };
}

const isInstruction = (line: Line): line is Instruction => "code" in line;

/** The number a field holds once written: a slot left unfilled is a mistake. */
function filled(value: number | bigint | Slot, what: string): number | bigint {
  if (typeof value === "object") throw new Error(`${what}: slot "${value.slot}" was not filled in`);
  return value;
}

/**
 * Lays the lines out as the kernel takes them: 8 bytes an instruction slot, little-endian, jumps resolved.
 *
 * @param lines The program's lines, every slot filled.
 * @returns The instructions' bytes, in a buffer of its own (its address stays put).
 * @throws {Error} On a jump to a label that is not there, a label given twice, a jump or immediate out of range, or
 *   an unfilled slot, naming it.
 */
export function assemble(lines: readonly Line[]): Uint8Array {
  const at = new Map<string, number>();
  let slots = 0;
  for (const line of lines) {
    if (isInstruction(line)) slots += line.wide ? 2 : 1;
    else if (at.has(line.label)) throw new Error(`label "${line.label}" is given twice`);
    else at.set(line.label, slots);
  }
  const bytes = new Uint8Array(new ArrayBuffer(slots * 8));
  const view = new DataView(bytes.buffer);
  let i = 0;
  for (const line of lines) {
    if (!isInstruction(line)) continue;
    const where = `instruction ${i} (${line.comment})`;
    let off = Number(filled(line.off, where));
    if (line.jump !== undefined) {
      const to = typeof line.jump === "number" ? i + 1 + line.jump : at.get(line.jump);
      if (to === undefined) throw new Error(`${where} jumps to label "${line.jump}", which is not there`);
      off = to - i - 1;
    }
    if (off < -32768 || off > 32767) {
      throw new Error(`${where}: offset ${off} is out of range (a 16-bit signed offset)`);
    }
    const imm = BigInt(filled(line.imm, where));
    const [low, high] = line.wide ? [BigInt.asIntN(32, imm), BigInt.asIntN(32, imm >> 32n)] : [imm, 0n];
    if (!line.wide && (imm < -(2n ** 31n) || imm > 2n ** 31n - 1n)) {
      throw new Error(`${where}: immediate ${imm} is out of range (a 32-bit signed immediate)`);
    }
    view.setUint8(8 * i, line.code);
    view.setUint8(8 * i + 1, line.dst | line.src << 4);
    view.setInt16(8 * i + 2, off, true);
    view.setInt32(8 * i + 4, Number(low), true);
    if (line.wide) view.setInt32(8 * (i + 1) + 4, Number(high), true);
    i += line.wide ? 2 : 1;
  }
  return bytes;
}

/**
 * Reads instructions as the kernel holds them, `LD_IMM64`'s two slots as one.
 *
 * @param bpf The BPF table.
 * @param bytes The instructions' bytes.
 * @returns Each instruction.
 */
export function decodeInstructions({ opcodes: o }: BpfTable, bytes: Uint8Array): Decoded[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wide = o.BPF_LD | o.BPF_IMM | o.BPF_DW;
  const decoded: Decoded[] = [];
  for (let i = 0; i < Math.floor(bytes.byteLength / 8); i++) {
    const code = view.getUint8(8 * i);
    const registers = view.getUint8(8 * i + 1);
    const low = view.getInt32(8 * i + 4, true);
    const isWide = code === wide && i + 1 < bytes.byteLength / 8;
    const imm = isWide
      ? BigInt.asIntN(64, BigInt(view.getInt32(8 * (i + 1) + 4, true)) << 32n | BigInt(low >>> 0))
      : low;
    decoded.push({ code, dst: registers & 0xf, src: registers >> 4, off: view.getInt16(8 * i + 2, true), imm });
    if (isWide) i++;
  }
  return decoded;
}

/** The verifier's names of the operations it prints. */
const ALU: Readonly<Record<string, string>> = { BPF_ADD: "+=", BPF_AND: "&=", BPF_MOV: "=" };
const JUMPS: Readonly<Record<string, string>> = { BPF_JEQ: "==", BPF_JNE: "!=", BPF_JGT: ">" };

/**
 * Prints instructions in the verifier's syntax (`kernel/bpf/disasm.c`), each with its index and opcode as
 * `bpftool prog dump xlated` prints them, and its comment where it has one.
 *
 * @param bpf The BPF table.
 * @param program A program's lines, or the instructions the kernel holds.
 * @param helpers Helper names by number, for calls.
 * @returns One line per instruction.
 */
export function disassemble(
  bpf: BpfTable,
  program: readonly Line[] | readonly Decoded[],
  helpers: Readonly<Record<number, string>> = {},
): string {
  const o = bpf.opcodes;
  const name = (value: number, group: readonly BpfOpcode[]) => group.find((key) => o[key] === value);
  const sizes: Readonly<Record<number, string>> = {
    [o.BPF_B]: "u8",
    [o.BPF_H]: "u16",
    [o.BPF_W]: "u32",
    [o.BPF_DW]: "u64",
  };
  const lines: string[] = [];
  // A program's lines carry comments (and labels); the kernel's instructions carry neither.
  const instructions = program.some((line) => "comment" in line || "label" in line)
    ? decodeInstructions(bpf, assemble(program as readonly Line[])).map((insn, i) => ({
      insn,
      comment: (program as readonly Line[]).filter(isInstruction)[i]?.comment,
    }))
    : (program as readonly Decoded[]).map((insn) => ({ insn, comment: undefined }));
  let slotIndex = 0;
  for (const { insn, comment } of instructions) {
    const { code, dst, src, off, imm } = insn;
    const cls = code & 0x07;
    const offset = `${off >= 0 ? "+" : ""}${off}`;
    const size = sizes[code & 0x18];
    const aluOp = name(code & 0xf0, ["BPF_ADD", "BPF_AND", "BPF_MOV"]);
    const jumpOp = name(code & 0xf0, ["BPF_JEQ", "BPF_JNE", "BPF_JGT"]);
    const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
    const text = cls === o.BPF_ALU64
      ? `r${dst} ${ALU[aluOp ?? ""] ?? "?"} ${(code & o.BPF_X) ? `r${src}` : imm}`
      : cls === o.BPF_LDX
      ? `r${dst} = *(${size} *)(r${src} ${offset})`
      : cls === o.BPF_ST
      ? `*(${size} *)(r${dst} ${offset}) = ${imm}`
      : cls === o.BPF_STX
      ? `*(${size} *)(r${dst} ${offset}) = r${src}`
      : cls === o.BPF_LD
      ? `r${dst} = 0x${BigInt.asUintN(64, BigInt(imm)).toString(16)}`
      : (code & 0xf0) === o.BPF_CALL
      ? `call ${helpers[Number(imm)] ?? "unknown"}#${imm}`
      : (code & 0xf0) === o.BPF_EXIT
      ? "exit"
      : (code & 0xf0) === o.BPF_JA
      ? `goto pc${offset}`
      : `if r${dst} ${JUMPS[jumpOp ?? ""] ?? "?"} ${(code & o.BPF_X) ? `r${src}` : hex(Number(imm))} goto pc${offset}`;
    const listed = `${String(slotIndex).padStart(4)}: (${code.toString(16).padStart(2, "0")}) ${text}`;
    lines.push(comment ? `${listed.padEnd(48)} ; ${comment}` : listed);
    slotIndex += cls === o.BPF_LD ? 2 : 1;
  }
  return lines.join("\n");
}
