/**
 * Every TCP socket of this process, swept on a timer, and of another process,
 * taken through `pidfd_getfd` (Linux).
 *
 * @module
 */
export { startSweeps, type Sweeper, type SweepResult } from "./_sweeps.ts";
export { applyToProcess, type InspectedSocket, inspectProcessAt, type ProcessSocket } from "./_process.ts";
