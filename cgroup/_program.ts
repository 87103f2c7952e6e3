/**
 * The two BPF programs, as templates of instructions, one a line, each with
 * what it does; one template both writes a program and reads the kernel's
 * copy back, so that this module knows its own programs by what they are,
 * not by their name alone.
 *
 * `sock_ops` runs when a connection of the cgroup is established, opened or
 * accepted, and sets the policy with `bpf_setsockopt`, keepalive on first,
 * since the idle time only rearms a timer that runs. The kernel runs a
 * cgroup's programs before its ancestors' for the same callback, in one
 * context: the first of this module's marks `reply`, and the ones after it
 * (the ancestors') leave the connection alone, so that the policy of the
 * cgroup nearest the socket is the one that holds.
 *
 * `setsockopt` (`--enforce`) runs before an application's own `setsockopt`
 * of a TCP socket, and where it names an option the policy sets, makes the
 * kernel skip it (`optlen = -1`): the call succeeds, and the connection keeps
 * what its policy gave it. A write that carries this module's tag after its
 * `int` (`keepalive apply` setting the sockets already open) goes through.
 *
 * Both begin with the owner's name, 8 bytes to an `LD_IMM64`: whose program
 * it is, for `keepalive detach --owner`.
 *
 * @module
 */
import {
  assemble,
  type Decoded,
  decodeInstructions,
  type Instruction,
  instructionSet,
  label,
  type Line,
  R0,
  R1,
  R10,
  R2,
  R3,
  R4,
  R5,
  R6,
  type Slot,
  slot,
} from "../bpf/mod.ts";
import { cString, cText, keepaliveFirst } from "../options/mod.ts";
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

/** Each program's name in the kernel (`bpf_prog_info.name`). */
export const PROGRAM_NAMES: Readonly<Record<ProgramKind, string>> = {
  sock_ops: "tcp_keepalive",
  setsockopt: "tcp_ka_enforce",
};

/** What `sock_ops` leaves in `reply` once it has set a connection: the programs after it leave that one alone. */
export const SET_MARK = 0x6b656570; // "keep"

/** The longest owner's name, in bytes of UTF-8: eight `LD_IMM64`. */
export const OWNER_BYTES = 64;

/** What a program of this module is written with: whose it is, and the policy. */
export interface ProgramValues {
  /** Whose program it is; `""` for one of 0.7 and 0.8, which recorded none. */
  readonly owner: string;
  /** The policy, in the kernel's units: what `sock_ops` sets, and which options `setsockopt` holds. */
  readonly writes: readonly Write[];
}

/** What one of this module's programs the kernel holds was read back as. */
export interface ReadBack {
  /** Whose program it is; `""` for one of 0.7 and 0.8, which recorded none. */
  readonly owner: string;
  /** The layout's version: `"0.9"`, or `"0.7"` for one of 0.7 and 0.8. */
  readonly since: string;
  /** What `sock_ops` sets; empty for `setsockopt`. */
  readonly writes: readonly Write[];
  /** The options `setsockopt` holds; empty for `sock_ops`. */
  readonly holds: readonly SocketOption[];
}

/** A run of lines, or one repeated for each owner's chunk or each write; slots are filled from each. */
type Part = { readonly lines: readonly Line[]; readonly each?: "owner" | "writes" };

/** A program as a template. */
export interface Template {
  readonly kind: ProgramKind;
  /** `"0.9"` for this version's layout; older ones are read back, so that `apply` replaces them, never written. */
  readonly since: string;
  readonly parts: readonly Part[];
}

/** The templates of this version, which are written; and those of 0.7 and 0.8, which are only read back. */
export function templates(bpf: BpfTable): readonly Template[] {
  const {
    MOV64_REG,
    MOV64_IMM,
    ALU64_IMM,
    LDX_MEM,
    STX_MEM,
    ST_MEM,
    JMP_IMM,
    JMP_REG,
    JMP_A,
    CALL,
    EXIT,
    LD_IMM64,
  } = instructionSet(bpf);
  const { context: ctx } = bpf;
  const owner: Part = {
    each: "owner",
    lines: [LD_IMM64(R0, slot("chunk"), "8 bytes of the owner's name: whose program this is")],
  };
  const setEach: Part = {
    each: "writes",
    lines: [
      ST_MEM("W", R10, -4, slot("value"), "{name}'s value, on the stack"),
      MOV64_REG(R1, R6, "r1 = the context"),
      MOV64_IMM(R2, slot("level"), "r2 = {name}'s level"),
      MOV64_IMM(R3, slot("option"), "r3 = {name}"),
      MOV64_REG(R4, R10, "r4 = the frame pointer"),
      ALU64_IMM("ADD", R4, -4, "r4 = &value"),
      MOV64_IMM(R5, 4, "r5 = sizeof(int)"),
      CALL(bpf.BPF_FUNC_setsockopt, "bpf_setsockopt(ctx, level, {name}, &value, 4)"),
    ],
  };
  const established: Line[] = [
    MOV64_REG(R6, R1, "r6 = the context, struct bpf_sock_ops, kept across the calls"),
    LDX_MEM("W", R1, R6, ctx["bpf_sock_ops.op"], "r1 = op: which callback this is", "context"),
    JMP_IMM("JEQ", R1, bpf.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB, "set", "a connection opened here is established"),
    JMP_IMM("JEQ", R1, bpf.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB, "set", "a connection accepted here is established"),
    JMP_A("out", "any other callback: nothing to do"),
    label("set"),
  ];
  const done: Line[] = [label("out"), MOV64_IMM(R0, 1, "r0 = 1: done"), EXIT("return")];
  return [
    {
      kind: "sock_ops",
      since: "0.9",
      parts: [
        owner,
        {
          lines: [
            ...established,
            LDX_MEM(
              "W",
              R1,
              R6,
              ctx["bpf_sock_ops.reply"],
              "r1 = reply, which this callback's programs share",
              "context",
            ),
            JMP_IMM("JEQ", R1, SET_MARK, "out", "set by a cgroup nearer the socket, whose policy holds: leave it"),
            MOV64_IMM(R1, SET_MARK, "r1 = the mark"),
            STX_MEM("W", R6, R1, ctx["bpf_sock_ops.reply"], "reply = the mark, for the ancestors' programs", "context"),
          ],
        },
        setEach,
        { lines: done },
      ],
    },
    {
      kind: "setsockopt",
      since: "0.9",
      parts: [
        owner,
        {
          lines: [
            MOV64_REG(R6, R1, "r6 = the context, struct bpf_sockopt"),
            LDX_MEM("DW", R1, R6, ctx["bpf_sockopt.sk"], "r1 = the socket", "context"),
            LDX_MEM("W", R2, R1, ctx["bpf_sock.protocol"], "r2 = its protocol", "context"),
            JMP_IMM("JNE", R2, bpf.IPPROTO_TCP, "out", "not TCP (UDP, a Unix socket): no keepalive; the call goes on"),
            LDX_MEM("W", R2, R6, ctx["bpf_sockopt.level"], "r2 = level", "context"),
            LDX_MEM("W", R3, R6, ctx["bpf_sockopt.optname"], "r3 = optname", "context"),
          ],
        },
        {
          each: "writes",
          lines: [
            JMP_IMM("JNE", R2, slot("level"), 1, "not {name}'s level: the next option"),
            JMP_IMM("JEQ", R3, slot("option"), "hold", "{name}, which the policy sets"),
          ],
        },
        {
          lines: [
            JMP_A("out", "an option the policy does not set: the call goes on"),
            label("hold"),
            LDX_MEM("W", R2, R6, ctx["bpf_sockopt.optlen"], "r2 = optlen", "context"),
            JMP_IMM("JNE", R2, 8, "skip", "not an int and a tag: the application's own call"),
            LDX_MEM("DW", R2, R6, ctx["bpf_sockopt.optval"], "r2 = optval, the value's bytes", "context"),
            LDX_MEM("DW", R3, R6, ctx["bpf_sockopt.optval_end"], "r3 = optval_end", "context"),
            MOV64_REG(R4, R2, "r4 = optval"),
            ALU64_IMM("ADD", R4, 8, "r4 = optval + 8"),
            JMP_REG("JGT", R4, R3, "skip", "fewer than 8 bytes there"),
            LDX_MEM("W", R4, R2, 4, "r4 = the 4 bytes after the int"),
            JMP_IMM("JEQ", R4, bpf.OWN_WRITE_TAG, "out", "this module's own write from outside: it goes on"),
            label("skip"),
            MOV64_IMM(R2, -1, "r2 = -1"),
            STX_MEM(
              "W",
              R6,
              R2,
              ctx["bpf_sockopt.optlen"],
              "optlen = -1: the kernel skips the call, returns 0",
              "context",
            ),
            label("out"),
            MOV64_IMM(R0, 1, "r0 = 1: not refused (a skipped call returns 0)"),
            EXIT("return"),
          ],
        },
      ],
    },
    // 0.7 and 0.8: no owner and no mark; their setsockopt wrote the policy's value over the application's.
    { kind: "sock_ops", since: "0.7", parts: [{ lines: established }, setEach, { lines: done }] },
    {
      kind: "setsockopt",
      since: "0.7",
      parts: [
        {
          lines: [
            MOV64_REG(R6, R1, "r6 = the context, struct bpf_sockopt"),
            LDX_MEM("DW", R2, R6, ctx["bpf_sockopt.optval"], "r2 = optval", "context"),
            LDX_MEM("DW", R3, R6, ctx["bpf_sockopt.optval_end"], "r3 = optval_end", "context"),
            MOV64_REG(R4, R2, "r4 = optval"),
            ALU64_IMM("ADD", R4, 4, "r4 = optval + sizeof(int)"),
            JMP_REG("JGT", R4, R3, "out", "fewer than 4 bytes"),
            LDX_MEM("W", R4, R6, ctx["bpf_sockopt.level"], "r4 = level", "context"),
            LDX_MEM("W", R5, R6, ctx["bpf_sockopt.optname"], "r5 = optname", "context"),
          ],
        },
        {
          each: "writes",
          lines: [
            JMP_IMM("JNE", R4, slot("level"), 3, "not this level: the next option"),
            JMP_IMM("JNE", R5, slot("option"), 2, "not this option: the next option"),
            ST_MEM("W", R2, 0, slot("value"), "*(u32 *)optval = the policy's value"),
            JMP_A("out", "done"),
          ],
        },
        { lines: [label("out"), MOV64_IMM(R0, 1, "r0 = 1"), EXIT("return")] },
      ],
    },
  ];
}

/** An owner's name in 8-byte chunks, as `LD_IMM64` carries them. */
function ownerChunks(owner: string): bigint[] {
  const bytes = cString(owner).subarray(0, -1);
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  return Array.from({ length: padded.length / 8 }, (_, i) => view.getBigInt64(8 * i, true));
}

/** One item of a repeated part: its slots' numbers, and the names its comments say (`{name}`). */
type Item = Readonly<Record<string, number | bigint | string>>;

/** Fills one line's slots and comment from an item. */
function fillLine(line: Line, item: Item): Line {
  if (!("code" in line)) return line;
  const take = (field: number | bigint | Slot) =>
    typeof field === "object" ? item[field.slot] as number | bigint : field;
  const comment = line.comment.replace(/\{(\w+)\}/g, (_, key: string) => String(item[key]));
  return { ...line, off: take(line.off) as number, imm: take(line.imm), comment };
}

/** Each item of each repeated part. */
function itemsOf(template: Template, values: ProgramValues): Record<string, Item[]> {
  return {
    owner: ownerChunks(values.owner).map((chunk) => ({ chunk })),
    writes: (template.kind === "sock_ops" ? keepaliveFirst(values.writes) : values.writes).map(({ option, value }) => ({
      value,
      level: option.level,
      option: option.optname,
      name: option.name,
    })),
  };
}

/**
 * The program's lines, every slot filled: the owner's name, then each write.
 *
 * @param template The program's template.
 * @param values Whose it is, and what it sets.
 * @returns The lines, to {@linkcode assemble}.
 */
export function programLines(template: Template, values: ProgramValues): Line[] {
  const items = itemsOf(template, values);
  return template.parts.flatMap((part) =>
    part.each === undefined
      ? [...part.lines]
      : items[part.each]!.flatMap((item) => part.lines.map((line) => fillLine(line, item)))
  );
}

/**
 * The template of this version for a kind of program.
 *
 * @param bpf The BPF table.
 * @param kind Which program.
 * @returns Its template.
 */
export function currentTemplate(bpf: BpfTable, kind: ProgramKind): Template {
  return templates(bpf).find((template) => template.kind === kind && template.since === "0.9")!;
}

/** Whether the kernel's instruction is the one written: a rewritten one by what the verifier keeps of it. */
function same(written: Decoded, held: Decoded, rewritten: Instruction["rewritten"]): boolean {
  if (rewritten === "call") return written.code === held.code;
  if (rewritten === "context") {
    // The verifier reads the kernel's own struct instead: the class and mode stay, the size and offset change.
    return (written.code & 0xe7) === (held.code & 0xe7) && written.dst === held.dst && written.src === held.src &&
      BigInt(written.imm) === BigInt(held.imm);
  }
  return written.code === held.code && written.dst === held.dst && written.src === held.src &&
    written.off === held.off && BigInt(written.imm) === BigInt(held.imm);
}

/** One part's lines matched against the kernel's instructions at `at`: the slots' values, or `undefined`. */
function matchPart(
  lines: readonly Line[],
  held: readonly Decoded[],
  at: number,
): Record<string, number | bigint> | undefined {
  const values: Record<string, number | bigint> = {};
  const instructions = lines.filter((line): line is Instruction => "code" in line);
  for (const [k, line] of instructions.entries()) {
    const insn = held[at + k];
    if (!insn || insn.code !== line.code && line.rewritten !== "context" || insn.dst !== line.dst) return undefined;
    for (const field of ["off", "imm"] as const) {
      const want = line[field];
      if (typeof want === "object") values[want.slot] = insn[field];
    }
  }
  return values;
}

/**
 * Reads back one of this module's programs from the instructions the kernel holds (its translation): whose it is
 * and what it sets, if they are exactly what a template of this module writes for those values; `undefined` for
 * any other program, whatever its name.
 *
 * @param bpf The BPF table.
 * @param kind Which program the name says it is.
 * @param bytes Its instructions, as the kernel holds them.
 * @param options The platform's socket options, to name what is found.
 * @returns Whose it is, what it sets or holds, and the layout's version; `undefined` if it is not one of this
 *   module's.
 */
export function decodeProgram(
  bpf: BpfTable,
  kind: ProgramKind,
  bytes: Uint8Array,
  options: readonly SocketOption[],
): ReadBack | undefined {
  const held = decodeInstructions(bpf, bytes);
  for (const template of templates(bpf).filter((t) => t.kind === kind)) {
    const items: Record<"owner" | "writes", Record<string, number | bigint>[]> = { owner: [], writes: [] };
    let at = 0;
    for (const part of template.parts) {
      const count = part.lines.filter((line) => "code" in line).length;
      if (part.each === undefined) {
        at += count; // checked whole below, jumps and all
        continue;
      }
      for (let values; (values = matchPart(part.lines, held, at)) !== undefined; at += count) {
        items[part.each as keyof typeof items].push(values);
      }
    }
    const found = items.writes.map(({ level, option, value }) => ({
      option: options.find((o) => o.level === level && o.optname === option),
      value: Number(value ?? 0), // setsockopt's of this version carries no value
    }));
    if (found.some((write) => write.option === undefined)) continue;
    const writes = found as Write[];
    const chunks = new Uint8Array(items.owner.length * 8);
    items.owner.forEach(({ chunk }, i) => new DataView(chunks.buffer).setBigInt64(8 * i, BigInt(chunk ?? 0), true));
    let owner: string;
    try {
      owner = cText(chunks, true);
    } catch {
      continue;
    }
    // Exactly what this template writes for these values, jumps and all: anything else is another's program.
    const lines = programLines(template, { owner, writes });
    const instructions = lines.filter((line): line is Instruction => "code" in line);
    const written = decodeInstructions(bpf, assemble(lines));
    if (
      written.length === held.length && written.every((insn, i) => same(insn, held[i]!, instructions[i]!.rewritten))
    ) {
      return kind === "sock_ops"
        ? { owner, since: template.since, writes, holds: [] }
        : { owner, since: template.since, writes: [], holds: writes.map((write) => write.option) };
    }
  }
  return undefined;
}
