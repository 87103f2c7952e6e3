/**
 * Every connection of a cgroup v2 directory and below, in any language:
 * this module's BPF programs attached there and taken off, the sockets its
 * processes already hold set, and all of it read without a write; and every
 * TCP socket of a network namespace read in one pass of the kernel's TCP
 * iterator, with the cgroup each was made in (Linux).
 *
 * @module
 */
export {
  applyToCgroup,
  type CgroupKeepalive,
  type CgroupProcess,
  type CgroupProgram,
  type CgroupProgramInfo,
  type CgroupSocket,
  clearCgroup,
  correctCgroups,
  type CorrectedCgroup,
  type DetachedProgram,
  type HeldProgram,
  heldProgramsAt,
  inspectCgroupAt,
  type InspectedCgroup,
  type PolicyTarget,
  type Reach,
} from "./_apply.ts";
export type { ProgramKind } from "./_program.ts";
export { cgroup2Mount, walkCgroups } from "./_cgroup.ts";
export {
  type InspectedNetns,
  inspectNetnsAt,
  type NetnsSocket,
  scanHostAt,
  type ScannedNetns,
  scanNetnsAt,
} from "./_netns.ts";
