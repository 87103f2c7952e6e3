// The BPF table's keys are exact: a misspelt one does not compile, so it can never be read as offset 0. Checked by
// `tsc -p tsconfig.bun.json` (tests/release_test.ts): an expected error that did not happen fails it.
import { platformFor } from "../../platforms/mod.ts";

const bpf = platformFor("linux").bpf!;
export const spelt: number[] = [
  bpf.context["bpf_sock_ops.op"],
  bpf.attr.insn_cnt,
  bpf.opcodes.BPF_JEQ,
  bpf.commands.BPF_PROG_LOAD,
  bpf.progInfo.xlated_prog_insns,
];
export const misspelt: number[] = [
  // @ts-expect-error: no such context field
  bpf.context["bpf_sock_ops.opp"],
  // @ts-expect-error: no such member of union bpf_attr
  bpf.attr.insn_cont,
  // @ts-expect-error: no such opcode part
  bpf.opcodes.BPF_JEQQ,
  // @ts-expect-error: no such command
  bpf.commands.BPF_PROG_LAOD,
  // @ts-expect-error: no such member of struct bpf_prog_info
  bpf.progInfo.xlated_prog_insn,
];
