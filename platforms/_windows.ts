/**
 * Windows: enable, idle and interval go in one `WSAIoctl(SIO_KEEPALIVE_VALS)`,
 * in milliseconds; the count is `setsockopt(TCP_KEEPCNT)` since Windows 10
 * 1703, fixed at 10 before. They read back with `getsockopt` where the system
 * has the options (`TCP_KEEPIDLE` and `TCP_KEEPINTVL` since 1709); where it
 * answers `WSAENOPROTOOPT`, the value is unknown, and reported as applied.
 * The user timeout is `TCP_MAXRT`, in seconds (Vista and later; Wine answers
 * `WSAENOPROTOOPT`).
 *
 * Sources: Microsoft's "IPPROTO_TCP socket options" (TCP_KEEPCNT 1..255 since
 * 1703, TCP_KEEPIDLE and TCP_KEEPINTVL since 1709, TCP_MAXRT) and
 * "SIO_KEEPALIVE_VALS"; the numbers are `ws2ipdef.h`'s.
 *
 * @module
 */
import { BSD, IPPROTO_TCP, SO_KEEPALIVE } from "./_bsd.ts";
import type { KeepaliveVals, Platform } from "./_types.ts";

const MAX_SECONDS = Math.floor(0xffffffff / 1000); // the ioctl's u_long milliseconds

/** Windows' keepalive options, limits and error names. */
export const windows: Platform = {
  name: "Windows",
  socketOptions: [
    // First: an old Windows refuses it, before the ioctl has changed anything.
    {
      field: "count",
      name: "TCP_KEEPCNT",
      level: IPPROTO_TCP,
      optname: 16,
      unit: "count",
      min: 1,
      max: 255,
      fallback: 10,
    },
    // Before the ioctl too: Wine lacks it. "Non-negative: the connection timeout in seconds; -1: retransmit for
    // ever", so 0 is not "the system's default" here, and is refused. TCP_MAXRTMS (14, milliseconds) exists only
    // since 1607; whole seconds are what idle and interval take too.
    {
      field: "userTimeoutMs",
      name: "TCP_MAXRT",
      level: IPPROTO_TCP,
      optname: 5,
      unit: "s",
      min: 1,
      max: 2 ** 31 - 1,
    },
    {
      field: "idleMs",
      name: "TCP_KEEPIDLE",
      level: IPPROTO_TCP,
      optname: 3,
      unit: "s",
      min: 1,
      max: MAX_SECONDS,
      ioctl: true,
    },
    {
      field: "intervalMs",
      name: "TCP_KEEPINTVL",
      level: IPPROTO_TCP,
      optname: 17,
      unit: "s",
      min: 1,
      max: MAX_SECONDS,
      ioctl: true,
    },
    // Winsock took SOL_SOCKET and its options from 4.4BSD.
    { ...SO_KEEPALIVE, ioctl: true },
  ],
  keepaliveIoctl: {
    name: "SIO_KEEPALIVE_VALS",
    code: 0x98000004,
    defaultsMs: { idleMs: 7_200_000, intervalMs: 1_000 },
    lackedOptionErrno: 10042,
    // struct tcp_keepalive { u_long onoff; u_long keepalivetime; u_long keepaliveinterval; }: u_long is 32-bit.
    encode: ({ enabled, idleMs, intervalMs }: KeepaliveVals) =>
      new Uint8Array(Uint32Array.of(enabled, idleMs, intervalMs).buffer),
  },
  missing: {},
  SO_ACCEPTCONN: BSD.SO_ACCEPTCONN,
  SO_TYPE: BSD.SO_TYPE,
  SOCK_STREAM: BSD.SOCK_STREAM,
  SOCK_CLOEXEC: 0, // a type flag of POSIX only
  // 64-bit Windows keeps handle values to 32 bits, so that they pass between 32- and 64-bit processes.
  descriptorMax: 2 ** 32 - 1,
  // A handle value comes off the handle table's free list, the last freed first: not the lowest.
  newDescriptor: { lowestFree: false },
  sockaddrFamily: { offset: 0, bytes: 2 },
  AF_INET: 2,
  AF_INET6: 23,
  errnoNames: {
    10009: "EBADF",
    10013: "EACCES",
    10014: "EFAULT",
    10022: "EINVAL",
    10024: "EMFILE",
    10038: "ENOTSOCK",
    10042: "ENOPROTOOPT",
    10045: "EOPNOTSUPP",
    10047: "EAFNOSUPPORT",
    10055: "ENOBUFS",
    10057: "ENOTCONN",
    10093: "WSANOTINITIALISED",
  },
  // WSAIoctl(SIO_TCP_INFO) with the version, 0, in a DWORD, into a TCP_INFO_v0 of <mstcpip.h> (Windows 10 1703 and
  // later): its round-trip time only; no variance, probe count, segment counts or times since.
  tcpInfo: {
    name: "SIO_TCP_INFO",
    // _WSAIORW(IOC_VENDOR, 39); before 1703, and under Wine, WSAEOPNOTSUPP.
    ioctl: { code: 0xd8000027, input: new Uint8Array(4), lackedErrno: 10045 },
    struct: "TCP_INFO_v0",
    size: 88, // all of it
    state: {
      member: "State", // TCPSTATE, an enum: TCPSTATE_CLOSED = 0 ... TCPSTATE_TIME_WAIT = 10
      offset: 0,
      bytes: 4,
      names: {
        0: "closed",
        1: "listen",
        2: "syn-sent",
        3: "syn-received",
        4: "established",
        5: "fin-wait-1",
        6: "fin-wait-2",
        7: "close-wait",
        8: "closing",
        9: "last-ack",
        10: "time-wait",
      },
    },
    fields: {
      rttMs: { member: "RttUs", offset: 20, bytes: 4, perMs: 1000 },
    },
    listening: {},
  },
};
