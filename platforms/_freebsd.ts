/**
 * FreeBSD: numbers from `<netinet/tcp.h>`. Times are multiplied by `hz` (1000)
 * into a `u_int` and refused (`EINVAL`) past it; there is no user timeout.
 *
 * @module
 */
import { BSD, IPPROTO_TCP, MAX_SECONDS, SO_KEEPALIVE } from "./_bsd.ts";
import type { Platform } from "./_types.ts";

/** FreeBSD's keepalive options, limits and errno names. */
export const freebsd: Platform = {
  ...BSD,
  name: "FreeBSD",
  options: [
    { field: "idleMs", name: "TCP_KEEPIDLE", level: IPPROTO_TCP, option: 256, unit: "s", min: 1, max: MAX_SECONDS },
    {
      field: "intervalMs",
      name: "TCP_KEEPINTVL",
      level: IPPROTO_TCP,
      option: 512,
      unit: "s",
      min: 1,
      max: MAX_SECONDS,
    },
    { field: "count", name: "TCP_KEEPCNT", level: IPPROTO_TCP, option: 1024, unit: "count", min: 1, max: 2 ** 31 - 1 },
    SO_KEEPALIVE,
  ],
  missing: { userTimeoutMs: "FreeBSD has no TCP_USER_TIMEOUT" },
  AF_INET6: 28,
  errnoNames: { ...BSD.errnoNames, 45: "EOPNOTSUPP" },
};
