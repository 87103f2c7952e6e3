/**
 * What macOS and FreeBSD share from 4.4BSD: the socket level, `SO_KEEPALIVE`
 * `SO_ACCEPTCONN` and `SO_TYPE` (which Windows' Winsock took from it too), the
 * `sockaddr` layout with `sa_len` first, the low errno numbers, and times kept
 * in a 32-bit unsigned count of milliseconds.
 *
 * @module
 */
import { INT_DESCRIPTOR_MAX, LOWEST_FREE, V7_ERRNO_NAMES } from "./_unix.ts";
import type { TcpState } from "../types/mod.ts";
import type { Platform, SocketOption } from "./_types.ts";

/** `IPPROTO_TCP`. */
export const IPPROTO_TCP = 6;

/** The largest time in seconds the kernel takes: `UINT32_MAX / 1000` (`TCP_RETRANSHZ` on macOS, `hz` on FreeBSD). */
export const MAX_SECONDS = Math.floor(0xffffffff / 1000);

const SOL_SOCKET = 0xffff;

/** The states of 4.4BSD's `tcp_fsm.h` (`TCPS_CLOSED` = 0 ... `TCPS_TIME_WAIT` = 10), which macOS and FreeBSD kept. */
export const TCPS_NAMES: Readonly<Record<number, TcpState>> = {
  0: "closed",
  1: "listen",
  2: "syn-sent",
  3: "syn-received",
  4: "established",
  5: "close-wait",
  6: "fin-wait-1",
  7: "closing",
  8: "last-ack",
  9: "fin-wait-2",
  10: "time-wait",
};

/** `SO_KEEPALIVE`; read back as `so_options & SO_KEEPALIVE`, so 8 when on. */
export const SO_KEEPALIVE: SocketOption = {
  field: "enabled",
  name: "SO_KEEPALIVE",
  level: SOL_SOCKET,
  optname: 0x8,
  unit: "bool",
  min: 0,
  max: 1,
};

/** The fields both tables take as they are. */
export const BSD: Pick<
  Platform,
  | "SO_ACCEPTCONN"
  | "SO_TYPE"
  | "SOCK_STREAM"
  | "descriptorMax"
  | "newDescriptor"
  | "sockaddrFamily"
  | "AF_INET"
  | "errnoNames"
> = {
  SO_ACCEPTCONN: { name: "SO_ACCEPTCONN", level: SOL_SOCKET, optname: 0x2 },
  SO_TYPE: { name: "SO_TYPE", level: SOL_SOCKET, optname: 0x1008 },
  SOCK_STREAM: 1,
  descriptorMax: INT_DESCRIPTOR_MAX,
  newDescriptor: LOWEST_FREE,
  sockaddrFamily: { offset: 1, bytes: 1 },
  AF_INET: 2,
  errnoNames: {
    ...V7_ERRNO_NAMES,
    35: "EAGAIN",
    38: "ENOTSOCK",
    42: "ENOPROTOOPT",
    43: "EPROTONOSUPPORT",
    47: "EAFNOSUPPORT",
    55: "ENOBUFS",
    57: "ENOTCONN",
    62: "ELOOP",
    63: "ENAMETOOLONG",
    78: "ENOSYS",
  },
};
