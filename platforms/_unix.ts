/**
 * What every Unix here shares: the errno numbers kept from Version 7, and
 * descriptors that are C `int`s.
 *
 * @module
 */

/** errno numbers every Unix kept from Version 7, so Linux and the BSDs agree on them. */
export const V7_ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  19: "ENODEV",
  20: "ENOTDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
};

/** POSIX: a new descriptor is the lowest one free. */
export const LOWEST_FREE = { lowestFree: true } as const;

/** A descriptor is an `int`: `INT_MAX`. */
export const INT_DESCRIPTOR_MAX = 2 ** 31 - 1;
