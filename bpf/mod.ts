/**
 * BPF through the runtime's FFI, no compiler and no libbpf: instructions as
 * data, assembled and printed; the `bpf(2)` commands every program takes;
 * and the kernel's own BTF read, for where its structs keep their members.
 *
 * @module
 */
export {
  assemble,
  type Decoded,
  decodeInstructions,
  disassemble,
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
  R7,
  R8,
  R9,
  type Slot,
  slot,
} from "./_insn.ts";
export {
  attribute,
  type BpfContext,
  bpfContext,
  bpfError,
  heldCapabilities,
  iterate,
  kernelAtLeast,
  loadProgram,
  programById,
  type ProgramInfo,
  programInfo,
  type ProgramSpec,
  readWhole,
} from "./_bpf.ts";
export { type Btf, BTF_KINDS, type Member, readBtf } from "./_btf.ts";
