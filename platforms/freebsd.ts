/**
 * FreeBSD: numbers from `<netinet/tcp.h>` and `<sys/socket.h>`. Times are
 * multiplied by `hz` (1000) into a `u_int`, and refused (`EINVAL`) past it;
 * there is no user timeout.
 *
 * @module
 */
import type { Platform } from "./_types.ts";

const SOL_SOCKET = 0xffff;
const IPPROTO_TCP = 6;
const MAX_SECONDS = Math.floor(0xffffffff / 1000); // UINT_MAX / hz

/** FreeBSD's keepalive options, limits and errno names. */
export const freebsd: Platform = {
  name: "FreeBSD",
  options: [
    { field: "idleMs", name: "TCP_KEEPIDLE", level: IPPROTO_TCP, option: 256, unit: "s", min: 1, max: MAX_SECONDS },
    { field: "intervalMs", name: "TCP_KEEPINTVL", level: IPPROTO_TCP, option: 512, unit: "s", min: 1, max: MAX_SECONDS },
    { field: "count", name: "TCP_KEEPCNT", level: IPPROTO_TCP, option: 1024, unit: "count", min: 1, max: 2 ** 31 - 1 },
    { field: "enabled", name: "SO_KEEPALIVE", level: SOL_SOCKET, option: 0x8, unit: "bool", min: 0, max: 1 },
  ],
  missing: { userTimeoutMs: "FreeBSD has no TCP_USER_TIMEOUT" },
  sockaddrFamily: { offset: 1, bytes: 1 },
  AF_INET: 2,
  AF_INET6: 28,
  errnoNames: {
    1: "EPERM",
    9: "EBADF",
    12: "ENOMEM",
    13: "EACCES",
    14: "EFAULT",
    22: "EINVAL",
    38: "ENOTSOCK",
    42: "ENOPROTOOPT",
    45: "EOPNOTSUPP",
    57: "ENOTCONN",
  },
};
