/**
 * Descriptors listed a chunk at a time, and the two ways of having them
 * whole: a listing of one chunk, for an OS that lists everything in one call,
 * and every descriptor of a listing, sorted.
 *
 * @module
 */

/** Descriptors a chunk at a time: one `getdents64` at a time on Linux, all at once elsewhere. */
export interface Listing {
  /** The next chunk; `undefined` once there is none (the listing is then closed). */
  next(): number[] | undefined;
  /** Ends the listing early. */
  close(): void;
}

/**
 * A listing of one chunk: what an OS lists in one call.
 *
 * @param fds The descriptors.
 * @returns Them, as a listing.
 */
export function wholeListing(fds: number[]): Listing {
  let left: number[] | undefined = fds;
  return {
    next() {
      const chunk = left;
      left = undefined;
      return chunk;
    },
    close() {
      left = undefined;
    },
  };
}

/**
 * Every descriptor of a listing, lowest first.
 *
 * @param listing The listing, read to its end.
 * @returns Its descriptors, sorted.
 */
export function allListed(listing: Listing): number[] {
  const fds: number[] = [];
  for (let chunk; (chunk = listing.next()) !== undefined;) fds.push(...chunk);
  return fds.sort((a, b) => a - b);
}
