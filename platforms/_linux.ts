/**
 * Linux (x86-64, arm64): numbers from `<netinet/tcp.h>` and `<asm-generic/socket.h>`,
 * limits from `do_tcp_setsockopt` in `net/ipv4/tcp.c`.
 *
 * @module
 */
import { INT_DESCRIPTOR_MAX, LOWEST_FREE, V7_ERRNO_NAMES } from "./_unix.ts";
import { linuxBpf } from "./_linux_bpf.ts";
import type { Platform } from "./_types.ts";

const SOL_SOCKET = 1;
const IPPROTO_TCP = 6;

/** Linux's keepalive options, limits and errno names. */
export const linux: Platform = {
  name: "Linux",
  socketOptions: [
    { field: "idleMs", name: "TCP_KEEPIDLE", level: IPPROTO_TCP, optname: 4, unit: "s", min: 1, max: 32767 },
    { field: "intervalMs", name: "TCP_KEEPINTVL", level: IPPROTO_TCP, optname: 5, unit: "s", min: 1, max: 32767 },
    { field: "count", name: "TCP_KEEPCNT", level: IPPROTO_TCP, optname: 6, unit: "count", min: 1, max: 127 },
    // Since 2.6.37; the kernel takes any non-negative int.
    {
      field: "userTimeoutMs",
      name: "TCP_USER_TIMEOUT",
      level: IPPROTO_TCP,
      optname: 18,
      unit: "ms",
      min: 0,
      max: 2 ** 31 - 1,
    },
    { field: "enabled", name: "SO_KEEPALIVE", level: SOL_SOCKET, optname: 9, unit: "bool", min: 0, max: 1 },
  ],
  missing: {},
  SO_ACCEPTCONN: { name: "SO_ACCEPTCONN", level: SOL_SOCKET, optname: 30 },
  SO_TYPE: { name: "SO_TYPE", level: SOL_SOCKET, optname: 3 },
  SOCK_STREAM: 1,
  SOCK_CLOEXEC: 0o2000000,
  // Since 4.12: a u64 unique to the socket.
  SO_COOKIE: { name: "SO_COOKIE", level: SOL_SOCKET, optname: 57 },
  descriptorMax: INT_DESCRIPTOR_MAX,
  newDescriptor: LOWEST_FREE,
  sockaddrFamily: { offset: 0, bytes: 2 }, // host order: little-endian on x86-64 and arm64
  AF_INET: 2,
  AF_INET6: 10,
  errnoNames: {
    ...V7_ERRNO_NAMES,
    11: "EAGAIN",
    36: "ENAMETOOLONG",
    38: "ENOSYS",
    40: "ELOOP",
    88: "ENOTSOCK",
    92: "ENOPROTOOPT",
    93: "EPROTONOSUPPORT",
    95: "EOPNOTSUPP",
    97: "EAFNOSUPPORT",
    105: "ENOBUFS",
    107: "ENOTCONN",
  },
  // <linux/pidfd.h>; PIDFD_THREAD since 6.9: pidfd_open of a thread, not only of a process (it is O_EXCL).
  pidfd: { PIDFD_THREAD: 0o200 },
  bpf: linuxBpf,
  // struct tcp_info of <linux/tcp.h>, as on every architecture: u8 fields, then u32s, naturally aligned.
  tcpInfo: {
    name: "TCP_INFO",
    option: { name: "TCP_INFO", level: IPPROTO_TCP, optname: 11 },
    struct: "struct tcp_info",
    size: 104, // through tcpi_total_retrans; the kernel writes min(asked, its own size) and says how much
    state: {
      member: "tcpi_state", // TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11, as <net/tcp_states.h> numbers them
      offset: 0,
      bytes: 1,
      names: {
        1: "established",
        2: "syn-sent",
        3: "syn-received",
        4: "fin-wait-1",
        5: "fin-wait-2",
        6: "time-wait",
        7: "closed",
        8: "close-wait",
        9: "last-ack",
        10: "listen",
        11: "closing",
      },
    },
    fields: {
      keepaliveProbes: { member: "tcpi_probes", offset: 3, bytes: 1 },
      unackedSegments: { member: "tcpi_unacked", offset: 24, bytes: 4 },
      sinceDataSentMs: { member: "tcpi_last_data_sent", offset: 44, bytes: 4, perMs: 1 },
      sinceDataReceivedMs: { member: "tcpi_last_data_recv", offset: 52, bytes: 4, perMs: 1 },
      sinceAckReceivedMs: { member: "tcpi_last_ack_recv", offset: 56, bytes: 4, perMs: 1 },
      rttMs: { member: "tcpi_rtt", offset: 68, bytes: 4, perMs: 1000 }, // microseconds
      rttVarianceMs: { member: "tcpi_rttvar", offset: 72, bytes: 4, perMs: 1000 },
      totalRetransmits: { member: "tcpi_total_retrans", offset: 100, bytes: 4 },
    },
    // On a listener tcp_get_info() fills only these, and returns.
    listening: {
      acceptQueue: { member: "tcpi_unacked", offset: 24, bytes: 4 }, // sk_ack_backlog there
    },
  },
};
