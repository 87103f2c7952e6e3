/**
 * macOS: numbers from `<netinet/tcp.h>` and `<sys/socket.h>`. The kernel
 * multiplies every time by `TCP_RETRANSHZ` (1000) into a `u_int32_t`, and
 * refuses (`EINVAL`) what would overflow it.
 *
 * @module
 */
import type { Platform } from "./_types.ts";

const SOL_SOCKET = 0xffff;
const IPPROTO_TCP = 6;
const MAX_SECONDS = Math.floor(0xffffffff / 1000); // UINT32_MAX / TCP_RETRANSHZ

/** macOS's keepalive options, limits and errno names. */
export const darwin: Platform = {
  name: "macOS",
  options: [
    // Named TCP_KEEPALIVE, not TCP_KEEPIDLE: it is the idle time.
    { field: "idleMs", name: "TCP_KEEPALIVE", level: IPPROTO_TCP, option: 0x10, unit: "s", min: 1, max: MAX_SECONDS },
    { field: "intervalMs", name: "TCP_KEEPINTVL", level: IPPROTO_TCP, option: 0x101, unit: "s", min: 1, max: MAX_SECONDS },
    { field: "count", name: "TCP_KEEPCNT", level: IPPROTO_TCP, option: 0x102, unit: "count", min: 1, max: 2 ** 31 - 1 },
    // Drop the connection after retransmitting this long: the user timeout of macOS.
    { field: "userTimeoutMs", name: "TCP_RXT_CONNDROPTIME", level: IPPROTO_TCP, option: 0x80, unit: "s", min: 0, max: MAX_SECONDS },
    { field: "enabled", name: "SO_KEEPALIVE", level: SOL_SOCKET, option: 0x8, unit: "bool", min: 0, max: 1 },
  ],
  missing: {},
  sockaddrFamily: { offset: 1, bytes: 1 },
  AF_INET: 2,
  AF_INET6: 30,
  errnoNames: {
    1: "EPERM",
    9: "EBADF",
    12: "ENOMEM",
    13: "EACCES",
    14: "EFAULT",
    22: "EINVAL",
    38: "ENOTSOCK",
    42: "ENOPROTOOPT",
    45: "ENOTSUP",
    57: "ENOTCONN",
    102: "EOPNOTSUPP",
  },
};
