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
  type CgroupSocket,
  clearCgroup,
  type DetachedProgram,
  inspectCgroupAt,
  type InspectedCgroup,
} from "./_apply.ts";
export type { ProgramKind } from "./_program.ts";
