/**
 * FreeBSD: numbers from `<netinet/tcp.h>`. Times are multiplied by `hz` (1000)
 * into a `u_int` and refused (`EINVAL`) past it; there is no user timeout.
 *
 * @module
 */
import { BSD, IPPROTO_TCP, MAX_SECONDS, SO_KEEPALIVE, TCPS_NAMES } from "./_bsd.ts";
import type { Platform } from "./_types.ts";

/** FreeBSD's keepalive options, limits and errno names. */
export const freebsd: Platform = {
  ...BSD,
  name: "FreeBSD",
  socketOptions: [
    { field: "idleMs", name: "TCP_KEEPIDLE", level: IPPROTO_TCP, optname: 256, unit: "s", min: 1, max: MAX_SECONDS },
    {
      field: "intervalMs",
      name: "TCP_KEEPINTVL",
      level: IPPROTO_TCP,
      optname: 512,
      unit: "s",
      min: 1,
      max: MAX_SECONDS,
    },
    { field: "count", name: "TCP_KEEPCNT", level: IPPROTO_TCP, optname: 1024, unit: "count", min: 1, max: 2 ** 31 - 1 },
    SO_KEEPALIVE,
  ],
  missing: { userTimeoutMs: "FreeBSD has no TCP_USER_TIMEOUT" },
  SOCK_CLOEXEC: 0x10000000,
  AF_INET6: 28,
  errnoNames: { ...BSD.errnoNames, 45: "EOPNOTSUPP" },
  // struct tcp_info of FreeBSD's <netinet/tcp.h>, filled by tcp_fill_info() in tcp_usrreq.c: Linux's layout, but
  // the fields named __tcpi_* (probes, unacked, last_data_sent, last_ack_recv) are never filled, and
  // tcpi_last_data_recv is ticks times `tick`: microseconds, since any segment arrived.
  tcpInfo: {
    name: "TCP_INFO",
    option: { name: "TCP_INFO", level: IPPROTO_TCP, optname: 32 },
    struct: "struct tcp_info",
    size: 124, // through tcpi_snd_rexmitpack
    state: { member: "tcpi_state", offset: 0, bytes: 1, names: TCPS_NAMES },
    fields: {
      sinceDataReceivedMs: { member: "tcpi_last_data_recv", offset: 52, bytes: 4, perMs: 1000 },
      rttMs: { member: "tcpi_rtt", offset: 68, bytes: 4, perMs: 1000 }, // microseconds
      rttVarianceMs: { member: "tcpi_rttvar", offset: 72, bytes: 4, perMs: 1000 },
      totalRetransmits: { member: "tcpi_snd_rexmitpack", offset: 120, bytes: 4 }, // a FreeBSD extension
    },
    listening: {},
  },
};
