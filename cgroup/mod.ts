/**
 * Every connection of a cgroup v2 directory and below, in any language:
 * this module's BPF programs attached there and taken off, the sockets its
 * processes already hold set, and all of it read without a write (Linux).
 *
 * @module
 */
export {
  applyToCgroup,
  type CgroupKeepalive,
  type CgroupProcess,
  type CgroupProgram,
  type CgroupProgramInfo,
  clearCgroup,
  inspectCgroupAt,
  type InspectedCgroup,
} from "./_apply.ts";
export {
  assemble,
  decodeProgram,
  type Line,
  PROGRAM_NAMES,
  type ProgramKind,
  setsockoptProgram,
  sockOpsProgram,
} from "./_program.ts";
export { loadProgram } from "./_bpf.ts";
export { checkKernel } from "./_cgroup.ts";
