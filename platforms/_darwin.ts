/**
 * macOS: numbers from `<netinet/tcp.h>`. The kernel multiplies every time by
 * `TCP_RETRANSHZ` (1000) into a `u_int32_t` and refuses (`EINVAL`) what would
 * overflow it.
 *
 * @module
 */
import { BSD, IPPROTO_TCP, MAX_SECONDS, SO_KEEPALIVE } from "./_bsd.ts";
import type { Platform } from "./_types.ts";

/** macOS's keepalive options, limits and errno names. */
export const darwin: Platform = {
  ...BSD,
  name: "macOS",
  options: [
    // Named TCP_KEEPALIVE, not TCP_KEEPIDLE: it is the idle time.
    { field: "idleMs", name: "TCP_KEEPALIVE", level: IPPROTO_TCP, option: 0x10, unit: "s", min: 1, max: MAX_SECONDS },
    {
      field: "intervalMs",
      name: "TCP_KEEPINTVL",
      level: IPPROTO_TCP,
      option: 0x101,
      unit: "s",
      min: 1,
      max: MAX_SECONDS,
    },
    { field: "count", name: "TCP_KEEPCNT", level: IPPROTO_TCP, option: 0x102, unit: "count", min: 1, max: 2 ** 31 - 1 },
    // Drop the connection after retransmitting this long: the user timeout of macOS.
    {
      field: "userTimeoutMs",
      name: "TCP_RXT_CONNDROPTIME",
      level: IPPROTO_TCP,
      option: 0x80,
      unit: "s",
      min: 0,
      max: MAX_SECONDS,
    },
    SO_KEEPALIVE,
  ],
  missing: {},
  AF_INET6: 30,
  errnoNames: { ...BSD.errnoNames, 45: "ENOTSUP", 102: "EOPNOTSUPP" },
};
