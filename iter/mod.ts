/**
 * The kernel's TCP iterator (`iter/tcp`) through the runtime's FFI: every TCP
 * socket of a network namespace read, and set, in one pass, whoever holds
 * it, with the cgroup it was made in; and who holds each socket, in one pass
 * of `iter/task_file` (Linux).
 *
 * @module
 */
export {
  closeNetns,
  type Holder,
  holders,
  type Netns,
  NO_HOLDERS,
  NoPass,
  openNetns,
  type PassNeeds,
  passTcp,
  preparePass,
  type TcpRecord,
} from "./_pass.ts";
export { FILE_RECORD, type KernelLayout, kernelLayout, TCP_RECORD, type TcpPass, tcpProgram } from "./_program.ts";
export {
  type ConnectionCounts,
  isConnection,
  type SocketSummary,
  SummaryCounter,
  UNSEEN_BUCKETS,
  type UnseenBucket,
  unseenMs,
} from "./_summary.ts";
