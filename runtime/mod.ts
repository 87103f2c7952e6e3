/**
 * What this module reads of the runtime around it, apart from its FFI
 * (ffi/): the OS and CPU, timers that do not hold the process, `node:net`'s
 * announcements, the main thread and the environment. Besides each FFI's own
 * binding, the only reader of the `Deno`, `Bun` and `process` globals; entry
 * points pass what it gives down.
 *
 * @module
 */
export { arch, os, runtimeName } from "./_globals.ts";
export { afterUnref } from "./_timers.ts";
export { announcedSockets, descriptorOf, keepAliveOffReaches } from "./_net.ts";
export { environment, mainThread } from "./_process.ts";
