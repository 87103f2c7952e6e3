/**
 * A connection's state now, as the kernel reports it: one `getsockopt` (on
 * Windows one `WSAIoctl`) into the OS's struct, each field read where the
 * platform table says it lies, and only from the bytes the kernel wrote.
 *
 * @module
 */
import type { Syscalls } from "../syscalls/mod.ts";
import { syscallError } from "./_errors.ts";
import type { TcpInfo, TcpState } from "../types/mod.ts";
import type { InfoField, Platform, TcpInfoLayout } from "../platforms/mod.ts";

const buffer = new Uint8Array(128); // the largest struct read, macOS's 112 bytes, fits
const view = new DataView(buffer.buffer);
/** The states of a connection that has been set up, whose times since data and acknowledgements are real. */
const SET_UP = new Set<TcpState>([
  "established",
  "fin-wait-1",
  "fin-wait-2",
  "close-wait",
  "closing",
  "last-ack",
  "time-wait",
]);
/** A listener's report: its state and accept queue only. */
const NOTHING: Omit<TcpInfo, "state"> = {
  rttMs: undefined,
  rttVarianceMs: undefined,
  unackedSegments: undefined,
  acceptQueue: undefined,
  totalRetransmits: undefined,
  keepaliveProbes: undefined,
  sinceDataSentMs: undefined,
  sinceDataReceivedMs: undefined,
  sinceAckReceivedMs: undefined,
};
/** The buffer cut to the layout's size, once (a process has one OS): a call allocates nothing but its result. */
let sized: { layout: TcpInfoLayout; into: Uint8Array } | undefined;

/** A field's value, in milliseconds if it is a time; `undefined` if the OS lacks it or did not write it. */
function fieldValue(field: InfoField | undefined, written: number): number | undefined {
  if (field === undefined || field.offset + field.bytes > written) return undefined;
  const { offset, bytes, perMs } = field;
  const raw = bytes === 1
    ? view.getUint8(offset)
    : bytes === 4
    ? view.getUint32(offset, true)
    : Number(view.getBigUint64(offset, true));
  return perMs === undefined ? raw : raw / perMs;
}

/**
 * Reads the kernel's view of one connection.
 *
 * @param fd The socket.
 * @returns What the kernel reports now.
 * @throws {KeepaliveError} If the call fails: `EBADF`, `ENOTSOCK`, not TCP, or an OS without it (Windows before 1703).
 */
export function readTcpInfo(sys: Syscalls, platform: Platform, fd: number): TcpInfo {
  const layout = platform.tcpInfo;
  if (sized?.layout !== layout) sized = { layout, into: buffer.subarray(0, layout.size) };
  const { into } = sized;
  const { ioctl, option } = layout;
  const written = ioctl
    ? sys.ioctl(fd, ioctl.code, ioctl.input, into)
    : sys.getsockopt(fd, option!.level, option!.optname, into);
  if (written < 0) {
    throw syscallError(platform, written, {
      syscall: ioctl ? "WSAIoctl" : "getsockopt",
      option: layout.name,
      fd,
      lacked: -written === ioctl?.lackedErrno ? {} : undefined,
    });
  }
  const state = layout.state.names[fieldValue(layout.state, written)!]!;
  if (state === "listen") {
    return { ...NOTHING, state, acceptQueue: fieldValue(layout.listening.acceptQueue, written) };
  }
  const { fields } = layout;
  // Before a connection is set up, the kernel's times since count from nothing (Linux: from boot).
  const since = (field: InfoField | undefined) => SET_UP.has(state) ? fieldValue(field, written) : undefined;
  return {
    state,
    rttMs: fieldValue(fields.rttMs, written),
    rttVarianceMs: fieldValue(fields.rttVarianceMs, written),
    unackedSegments: fieldValue(fields.unackedSegments, written),
    acceptQueue: undefined,
    totalRetransmits: fieldValue(fields.totalRetransmits, written),
    keepaliveProbes: fieldValue(fields.keepaliveProbes, written),
    sinceDataSentMs: since(fields.sinceDataSentMs),
    sinceDataReceivedMs: since(fields.sinceDataReceivedMs),
    sinceAckReceivedMs: since(fields.sinceAckReceivedMs),
  };
}
