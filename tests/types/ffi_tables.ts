// Compiled by `tsc -p tsconfig.bun.json` (tests/release_test.ts): the opened symbols are typed from their tables, so
// a call with a wrong count or type of arguments does not compile. Each @ts-expect-error must meet its error.
import type { Opened } from "../../ffi/_library.ts";
import type { linuxLibc } from "../../ffi/_library_linux.ts";
import type { windowsWinsock } from "../../ffi/_library_windows.ts";

declare const sockets: Opened<typeof linuxLibc.symbols>;
declare const cgroup: Opened<NonNullable<typeof linuxLibc.cgroup>["symbols"]>;
declare const winsock: Opened<typeof windowsWinsock.symbols>;
const value = new Int32Array(1);
const length = new Uint32Array(1);

export const right: number[] = [
  sockets.getsockopt(3, 6, 4, value, length),
  sockets.setsockopt(3, 6, 4, value, 4),
  cgroup.flock(3, 2),
  Number(cgroup.syscall(321n, 5n, value, 4n)),
  winsock.getsockopt(3n, 6, 4, value, length), // a SOCKET is 64 bits wide
];

export const wrong: unknown[] = [
  // @ts-expect-error: one argument too few
  sockets.getsockopt(3, 6, 4, value),
  // @ts-expect-error: one argument too many
  sockets.close(3, 4),
  // @ts-expect-error: a bigint where C takes an int
  sockets.close(3n),
  // @ts-expect-error: a number where C takes a pointer to a buffer
  sockets.setsockopt(3, 6, 4, 7, 4),
  // @ts-expect-error: a string where C takes a long
  cgroup.syscall("bpf", 5n, value, 4n),
  // @ts-expect-error: no such symbol in the table
  sockets.getsockopts,
];

// A returned pointer goes back to C as it is, and is no number.
const location = sockets.__errno_location();
sockets.memcpy(value, location, 4n);
// @ts-expect-error: a pointer is not a number
export const address: number = location;
