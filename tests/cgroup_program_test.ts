// bpf/_insn.ts and cgroup/_program.ts: the BPF programs as listings one can diff against `bpftool prog dump
// xlated`; the assembler refusing what would encode a wrong program; each program read back from the instructions
// the kernel holds, 0.7's and 0.8's too, and another's program of the same name told apart; then, as root, the
// kernel's own copy printed as bpftool prints it.
import { deepEqual, equal, throws } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { assemble, decodeInstructions, disassemble, instructionSet, label, R0, R1 } from "../bpf/mod.ts";
import { currentTemplate, decodeProgram, programLines, templates } from "../cgroup/_program.ts";
import { bpfContext, loadProgram, programInfo } from "../bpf/mod.ts";
import { specOf } from "../cgroup/_attach.ts";
import { syscalls } from "../ffi/mod.ts";
import { planWrites } from "../options/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import { test, testUnder } from "./_harness.ts";

const linux = platformFor("linux");
const bpf = linux.bpf!;
const POLICY = { idleMs: 30_000, intervalMs: 7000, count: 4, userTimeoutMs: 25_000 };
const writes = planWrites(POLICY, linux);
const HELPERS = { [bpf.BPF_FUNC_setsockopt]: "bpf_setsockopt" };
const listing = (kind: "sock_ops" | "setsockopt", owner = "node-7") =>
  disassemble(bpf, programLines(currentTemplate(bpf, kind), { owner, writes }), HELPERS);

const SOCK_OPS = `
   0: (18) r0 = 0x372d65646f6e                   ; 8 bytes of the owner's name: whose program this is
   2: (bf) r6 = r1                               ; r6 = the context, struct bpf_sock_ops, kept across the calls
   3: (61) r1 = *(u32 *)(r6 +0)                  ; r1 = op: which callback this is
   4: (15) if r1 == 0x4 goto pc+2                ; a connection opened here is established
   5: (15) if r1 == 0x5 goto pc+1                ; a connection accepted here is established
   6: (05) goto pc+44                            ; any other callback: nothing to do
   7: (61) r1 = *(u32 *)(r6 +4)                  ; r1 = reply, which this callback's programs share
   8: (15) if r1 == 0x6b656570 goto pc+42        ; set by a cgroup nearer the socket, whose policy holds: leave it
   9: (b7) r1 = 1801807216                       ; r1 = the mark
  10: (63) *(u32 *)(r6 +4) = r1                  ; reply = the mark, for the ancestors' programs
  11: (62) *(u32 *)(r10 -4) = 1                  ; SO_KEEPALIVE's value, on the stack
  12: (bf) r1 = r6                               ; r1 = the context
  13: (b7) r2 = 1                                ; r2 = SO_KEEPALIVE's level
  14: (b7) r3 = 9                                ; r3 = SO_KEEPALIVE
  15: (bf) r4 = r10                              ; r4 = the frame pointer
  16: (07) r4 += -4                              ; r4 = &value
  17: (b7) r5 = 4                                ; r5 = sizeof(int)
  18: (85) call bpf_setsockopt#49                ; bpf_setsockopt(ctx, level, SO_KEEPALIVE, &value, 4)
  19: (62) *(u32 *)(r10 -4) = 30                 ; TCP_KEEPIDLE's value, on the stack
  20: (bf) r1 = r6                               ; r1 = the context
  21: (b7) r2 = 6                                ; r2 = TCP_KEEPIDLE's level
  22: (b7) r3 = 4                                ; r3 = TCP_KEEPIDLE
  23: (bf) r4 = r10                              ; r4 = the frame pointer
  24: (07) r4 += -4                              ; r4 = &value
  25: (b7) r5 = 4                                ; r5 = sizeof(int)
  26: (85) call bpf_setsockopt#49                ; bpf_setsockopt(ctx, level, TCP_KEEPIDLE, &value, 4)
  27: (62) *(u32 *)(r10 -4) = 7                  ; TCP_KEEPINTVL's value, on the stack
  28: (bf) r1 = r6                               ; r1 = the context
  29: (b7) r2 = 6                                ; r2 = TCP_KEEPINTVL's level
  30: (b7) r3 = 5                                ; r3 = TCP_KEEPINTVL
  31: (bf) r4 = r10                              ; r4 = the frame pointer
  32: (07) r4 += -4                              ; r4 = &value
  33: (b7) r5 = 4                                ; r5 = sizeof(int)
  34: (85) call bpf_setsockopt#49                ; bpf_setsockopt(ctx, level, TCP_KEEPINTVL, &value, 4)
  35: (62) *(u32 *)(r10 -4) = 4                  ; TCP_KEEPCNT's value, on the stack
  36: (bf) r1 = r6                               ; r1 = the context
  37: (b7) r2 = 6                                ; r2 = TCP_KEEPCNT's level
  38: (b7) r3 = 6                                ; r3 = TCP_KEEPCNT
  39: (bf) r4 = r10                              ; r4 = the frame pointer
  40: (07) r4 += -4                              ; r4 = &value
  41: (b7) r5 = 4                                ; r5 = sizeof(int)
  42: (85) call bpf_setsockopt#49                ; bpf_setsockopt(ctx, level, TCP_KEEPCNT, &value, 4)
  43: (62) *(u32 *)(r10 -4) = 25000              ; TCP_USER_TIMEOUT's value, on the stack
  44: (bf) r1 = r6                               ; r1 = the context
  45: (b7) r2 = 6                                ; r2 = TCP_USER_TIMEOUT's level
  46: (b7) r3 = 18                               ; r3 = TCP_USER_TIMEOUT
  47: (bf) r4 = r10                              ; r4 = the frame pointer
  48: (07) r4 += -4                              ; r4 = &value
  49: (b7) r5 = 4                                ; r5 = sizeof(int)
  50: (85) call bpf_setsockopt#49                ; bpf_setsockopt(ctx, level, TCP_USER_TIMEOUT, &value, 4)
  51: (b7) r0 = 1                                ; r0 = 1: done
  52: (95) exit                                  ; return
`.slice(1, -1);

const SETSOCKOPT = `
   0: (18) r0 = 0x372d65646f6e                   ; 8 bytes of the owner's name: whose program this is
   2: (bf) r6 = r1                               ; r6 = the context, struct bpf_sockopt
   3: (79) r1 = *(u64 *)(r6 +0)                  ; r1 = the socket
   4: (61) r2 = *(u32 *)(r1 +12)                 ; r2 = its protocol
   5: (55) if r2 != 0x6 goto pc+24               ; not TCP (UDP, a Unix socket): no keepalive; the call goes on
   6: (61) r2 = *(u32 *)(r6 +24)                 ; r2 = level
   7: (61) r3 = *(u32 *)(r6 +28)                 ; r3 = optname
   8: (55) if r2 != 0x6 goto pc+1                ; not TCP_KEEPIDLE's level: the next option
   9: (15) if r3 == 0x4 goto pc+9                ; TCP_KEEPIDLE, which the policy sets
  10: (55) if r2 != 0x6 goto pc+1                ; not TCP_KEEPINTVL's level: the next option
  11: (15) if r3 == 0x5 goto pc+7                ; TCP_KEEPINTVL, which the policy sets
  12: (55) if r2 != 0x6 goto pc+1                ; not TCP_KEEPCNT's level: the next option
  13: (15) if r3 == 0x6 goto pc+5                ; TCP_KEEPCNT, which the policy sets
  14: (55) if r2 != 0x6 goto pc+1                ; not TCP_USER_TIMEOUT's level: the next option
  15: (15) if r3 == 0x12 goto pc+3               ; TCP_USER_TIMEOUT, which the policy sets
  16: (55) if r2 != 0x1 goto pc+1                ; not SO_KEEPALIVE's level: the next option
  17: (15) if r3 == 0x9 goto pc+1                ; SO_KEEPALIVE, which the policy sets
  18: (05) goto pc+11                            ; an option the policy does not set: the call goes on
  19: (61) r2 = *(u32 *)(r6 +32)                 ; r2 = optlen
  20: (55) if r2 != 0x8 goto pc+7                ; not an int and a tag: the application's own call
  21: (79) r2 = *(u64 *)(r6 +8)                  ; r2 = optval, the value's bytes
  22: (79) r3 = *(u64 *)(r6 +16)                 ; r3 = optval_end
  23: (bf) r4 = r2                               ; r4 = optval
  24: (07) r4 += 8                               ; r4 = optval + 8
  25: (2d) if r4 > r3 goto pc+2                  ; fewer than 8 bytes there
  26: (61) r4 = *(u32 *)(r2 +4)                  ; r4 = the 4 bytes after the int
  27: (15) if r4 == 0x6b617470 goto pc+2         ; this module's own write from outside: it goes on
  28: (b7) r2 = -1                               ; r2 = -1
  29: (63) *(u32 *)(r6 +32) = r2                 ; optlen = -1: the kernel skips the call, returns 0
  30: (b7) r0 = 1                                ; r0 = 1: not refused (a skipped call returns 0)
  31: (95) exit                                  ; return
`.slice(1, -1);

test("the sock_ops program, as its listing: the owner, the mark the nearer cgroup's program leaves, each option", () => {
  equal(listing("sock_ops"), SOCK_OPS);
});

test("the setsockopt program, as its listing: TCP only, each option held, this module's own tagged writes let by", () => {
  equal(listing("setsockopt"), SETSOCKOPT);
});

test("each program reads back as what it was written with: its owner and its options", () => {
  for (const kind of ["sock_ops", "setsockopt"] as const) {
    for (const owner of ["node-7", "pod tcp-keepalive-x8k2q", "ノード", "a".repeat(64)]) {
      const bytes = assemble(programLines(currentTemplate(bpf, kind), { owner, writes }));
      const read = decodeProgram(bpf, kind, bytes, linux.socketOptions)!;
      equal(read.owner, owner);
      equal(read.since, "0.9");
      const names = (kind === "sock_ops" ? read.writes.map(({ option, value }) => `${option.name} ${value}`) : read
        .holds.map((option) => option.name)).sort();
      deepEqual(
        names,
        writes.map(({ option, value }) => kind === "sock_ops" ? `${option.name} ${value}` : option.name).sort(),
      );
    }
  }
});

// 0.8.0's programs for this policy, byte for byte (its own test's encoding, from <linux/bpf.h>'s opcodes).
const SOCK_OPS_08 = "bf160000000000006161000000000000150102000400000015010100050000000500280000000000" +
  "620afcff01000000bf61000000000000b702000001000000b703000009000000bfa400000000000007040000fcffffffb70500000400" +
  "00008500000031000000620afcff1e000000bf61000000000000b702000006000000b703000004000000bfa400000000000007040000" +
  "fcffffffb7050000040000008500000031000000620afcff07000000bf61000000000000b702000006000000b703000005000000bfa4" +
  "00000000000007040000fcffffffb7050000040000008500000031000000620afcff04000000bf61000000000000b702000006000000" +
  "b703000006000000bfa400000000000007040000fcffffffb7050000040000008500000031000000620afcffa8610000bf6100000000" +
  "0000b702000006000000b703000012000000bfa400000000000007040000fcffffffb7050000040000008500000031000000b7000000" +
  "010000009500000000000000";
const SETSOCKOPT_08 = "bf1600000000000079620800000000007963100000000000bf2400000000000007040000040000002d34" +
  "160000000000616418000000000061651c000000000055040300060000005505020004000000620200001e0000000500100000000000" +
  "55040300060000005505020005000000620200000700000005000c00000000005504030006000000550502000600000062020000040000" +
  "0005000800000000005504030006000000550502001200000062020000a86100000500040000000000550403000100000055050200" +
  "0900000062020000010000000500000000000000b7000000010000009500000000000000";
const bytesOf = (hex: string) => new Uint8Array(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));

test("0.7's and 0.8's programs are read back as this module's, with no owner, so that apply replaces them", () => {
  const sockOps = decodeProgram(bpf, "sock_ops", bytesOf(SOCK_OPS_08), linux.socketOptions)!;
  deepEqual([sockOps.since, sockOps.owner], ["0.7", ""]);
  deepEqual(
    sockOps.writes.map(({ option, value }) => [option.name, value]),
    writes.map(({ option, value }) => [
      option.name,
      value,
    ]).sort((a, b) => (a[0] === "SO_KEEPALIVE" ? -1 : b[0] === "SO_KEEPALIVE" ? 1 : 0)),
  );
  const enforce = decodeProgram(bpf, "setsockopt", bytesOf(SETSOCKOPT_08), linux.socketOptions)!;
  deepEqual([enforce.since, enforce.owner, enforce.holds.length], ["0.7", "", 5]);
});

test("another's program is not this module's, whatever its name: one changed instruction is enough", () => {
  const { MOV64_IMM, EXIT } = instructionSet(bpf);
  const returnsOne = assemble([MOV64_IMM(R0, 1, "r0 = 1"), EXIT("return")]);
  equal(decodeProgram(bpf, "sock_ops", returnsOne, linux.socketOptions), undefined);
  for (const kind of ["sock_ops", "setsockopt"] as const) {
    const bytes = assemble(programLines(currentTemplate(bpf, kind), { owner: "node-7", writes }));
    for (const at of [8 * 3 + 4, 8 * 5 + 2, bytes.length - 12]) {
      const changed = bytes.slice();
      changed[at] ^= 1;
      equal(decodeProgram(bpf, kind, changed, linux.socketOptions), undefined, `${kind}, byte ${at} changed`);
    }
  }
});

test("the assembler refuses a jump to a missing label, a label given twice, an offset or immediate out of range", () => {
  const { JMP_A, MOV64_IMM, EXIT, LDX_MEM } = instructionSet(bpf);
  const done = [label("out"), MOV64_IMM(R0, 1, "r0 = 1"), EXIT("return")];
  throws(() => assemble([JMP_A("ot", "a typo"), ...done]), {
    message: 'instruction 0 (a typo) jumps to label "ot", which is not there',
  });
  throws(() => assemble([JMP_A("out", "go"), ...done, ...done]), { message: 'label "out" is given twice' });
  const far = Array.from({ length: 32_768 }, () => MOV64_IMM(R1, 0, "r1 = 0"));
  throws(() => assemble([JMP_A("out", "far"), ...far, ...done]), {
    message: "instruction 0 (far): offset 32768 is out of range (a 16-bit signed offset)",
  });
  throws(() => assemble([LDX_MEM("W", R1, R1, 40_000, "too far"), ...done]), {
    message: "instruction 0 (too far): offset 40000 is out of range (a 16-bit signed offset)",
  });
  throws(() => assemble([MOV64_IMM(R1, 2 ** 31, "too big"), ...done]), {
    message: "instruction 0 (too big): immediate 2147483648 is out of range (a 32-bit signed immediate)",
  });
  throws(() => assemble(currentTemplate(bpf, "sock_ops").parts.flatMap((part) => part.lines)), {
    message: /slot "chunk" was not filled in/,
  });
  // And the programs as written assemble: every label there once, every jump in range.
  for (const template of templates(bpf)) {
    equal(assemble(programLines(template, { owner: "x", writes })).length > 0, true);
  }
});

test("LD_IMM64 takes two slots, and jumps over it count both", () => {
  const { LD_IMM64, JMP_A, EXIT } = instructionSet(bpf);
  const bytes = assemble([
    JMP_A("end", "over it"),
    LD_IMM64(R1, 0x1122334455667788n, "r1 = 64 bits"),
    label("end"),
    EXIT("return"),
  ]);
  equal(bytes.length, 4 * 8);
  deepEqual(decodeInstructions(bpf, bytes).map(({ code, off, imm }) => [code, off, imm]), [
    [0x05, 2, 0],
    [0x18, 0, 0x1122334455667788n],
    [0x95, 0, 0],
  ]);
});

testUnder("deno", "the kernel's copy of each program prints as bpftool prints it, and reads back as written", () => {
  const c = bpfContext(syscalls(), linux);
  for (const kind of ["sock_ops", "setsockopt"] as const) {
    const fd = loadProgram(c, specOf(c, kind), programLines(currentTemplate(bpf, kind), { owner: "node-7", writes }));
    try {
      const { id, instructions } = programInfo(c, fd);
      const ours = disassemble(bpf, decodeInstructions(bpf, instructions));
      const theirs = execFileSync("bpftool", ["prog", "dump", "xlated", "id", String(id)], { encoding: "utf8" });
      // bpftool names the kernel's function a call goes to, which only the kernel's symbols know.
      const calls = (text: string) => text.trim().replace(/call \S+#/g, "call #");
      equal(calls(ours), calls(theirs));
      const read = decodeProgram(bpf, kind, instructions, linux.socketOptions)!;
      equal(read.owner, "node-7");
      equal((kind === "sock_ops" ? read.writes : read.holds).length, writes.length);
    } finally {
      c.sys.close(fd);
    }
  }
});
