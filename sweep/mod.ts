/**
 * Every TCP socket of this process, swept on a timer or configured as the
 * runtime announces it, and of another process, taken through `pidfd_getfd`
 * (Linux).
 *
 * @module
 */
export { type Clock, startSweeps, type Sweeper, type SweepResult } from "./_sweeps.ts";
export {
  applyToProcess,
  checkReachable,
  type InspectedSocket,
  inspectProcessAt,
  type ProcessSocket,
} from "./_process.ts";
