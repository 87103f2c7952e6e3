/**
 * The binding's contract: the system calls this module makes, as each
 * runtime's FFI binding (ffi/) provides them and every layer above takes
 * them, and descriptors listed a chunk at a time.
 *
 * @module
 */
export type { CgroupSyscalls, Syscalls } from "./_syscalls.ts";
export { allListed, type Listing, wholeListing } from "./_listing.ts";
