/**
 * macOS: numbers from `<netinet/tcp.h>`. The kernel multiplies every time by
 * `TCP_RETRANSHZ` (1000) into a `u_int32_t` and refuses (`EINVAL`) what would
 * overflow it.
 *
 * @module
 */
import { BSD, IPPROTO_TCP, MAX_SECONDS, SO_KEEPALIVE, TCPS_NAMES } from "./_bsd.ts";
import type { Platform } from "./_types.ts";

/** macOS's keepalive options, limits and errno names. */
export const darwin: Platform = {
  ...BSD,
  name: "macOS",
  socketOptions: [
    // Named TCP_KEEPALIVE, not TCP_KEEPIDLE: it is the idle time.
    { field: "idleMs", name: "TCP_KEEPALIVE", level: IPPROTO_TCP, optname: 0x10, unit: "s", min: 1, max: MAX_SECONDS },
    {
      field: "intervalMs",
      name: "TCP_KEEPINTVL",
      level: IPPROTO_TCP,
      optname: 0x101,
      unit: "s",
      min: 1,
      max: MAX_SECONDS,
    },
    {
      field: "count",
      name: "TCP_KEEPCNT",
      level: IPPROTO_TCP,
      optname: 0x102,
      unit: "count",
      min: 1,
      max: 2 ** 31 - 1,
    },
    // Drop the connection after retransmitting this long: the user timeout of macOS.
    {
      field: "userTimeoutMs",
      name: "TCP_RXT_CONNDROPTIME",
      level: IPPROTO_TCP,
      optname: 0x80,
      unit: "s",
      min: 0,
      max: MAX_SECONDS,
    },
    SO_KEEPALIVE,
  ],
  missing: {},
  SOCK_CLOEXEC: 0, // none: a descriptor is closed on exec only by fcntl
  AF_INET6: 30,
  errnoNames: { ...BSD.errnoNames, 45: "ENOTSUP", 102: "EOPNOTSUPP" },
  // struct tcp_connection_info of xnu's bsd/netinet/tcp.h: no probe count, no unacknowledged segments, no
  // times since; times in milliseconds; the u64 counters start 8-aligned at 56.
  tcpInfo: {
    name: "TCP_CONNECTION_INFO",
    option: { name: "TCP_CONNECTION_INFO", level: IPPROTO_TCP, optname: 0x106 },
    struct: "struct tcp_connection_info",
    size: 112, // through tcpi_txretransmitpackets
    state: { member: "tcpi_state", offset: 0, bytes: 1, names: TCPS_NAMES },
    fields: {
      rttMs: { member: "tcpi_srtt", offset: 44, bytes: 4, perMs: 1 },
      rttVarianceMs: { member: "tcpi_rttvar", offset: 48, bytes: 4, perMs: 1 },
      totalRetransmits: { member: "tcpi_txretransmitpackets", offset: 104, bytes: 8 },
    },
    listening: {},
  },
};
