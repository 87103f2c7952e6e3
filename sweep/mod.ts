/**
 * Every TCP socket of this process, swept on a timer or configured as the
 * runtime announces it, and of another process, taken through `pidfd_getfd`
 * (Linux).
 *
 * @module
 */
export { startSweeps } from "./_sweeps.ts";
export type { SweepResult } from "./_visit.ts";
export {
  applyToProcess,
  checkReachable,
  type InspectedSocket,
  inspectProcessAt,
  type ProcessSocket,
} from "./_process.ts";
