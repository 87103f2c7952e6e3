/**
 * macOS: libSystem; descriptors listed with `proc_pidinfo(PROC_PIDLISTFDS)`,
 * keeping only sockets.
 *
 * @module
 */
import { BSD_SOCKETS } from "./_library_posix.ts";
import type { Library, SymbolTable } from "./_library.ts";
import { wholeListing } from "../syscalls/mod.ts";

/** The C numbers used here, by their names in the headers (which tests/headers_test.ts checks them against). */
export const DARWIN_NUMBERS = {
  PROC_PIDLISTFDS: 1,
  PROX_FDTYPE_SOCKET: 2,
  // struct proc_fdinfo { int32_t proc_fd; uint32_t proc_fdtype; }
  "sizeof(struct proc_fdinfo)": 8,
  proc_fdtype: 4,
} as const;
const { PROC_PIDLISTFDS, PROX_FDTYPE_SOCKET, "sizeof(struct proc_fdinfo)": PROC_FDINFO_BYTES, proc_fdtype: FDTYPE } =
  DARWIN_NUMBERS;

const WALK_SYMBOLS = {
  // pid_t getpid(void)
  getpid: { parameters: [], result: "i32" },
  // int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize)
  proc_pidinfo: { parameters: ["i32", "i32", "u64", "buffer", "i32"], result: "i32" },
} as const satisfies SymbolTable;

/** libSystem on macOS. */
export const darwinLibSystem: Library<typeof BSD_SOCKETS.symbols, typeof WALK_SYMBOLS> = {
  paths: ["/usr/lib/libSystem.B.dylib"],
  ...BSD_SOCKETS,
  walkSymbols: WALK_SYMBOLS,
  listing(walk, _sockets, errno, _arch, pid = walk.getpid()) {
    for (let size = 64 * PROC_FDINFO_BYTES;; size *= 4) {
      const info = new Uint8Array(size);
      const bytes = walk.proc_pidinfo(pid, PROC_PIDLISTFDS, 0n, info, size);
      if (bytes <= 0) throw new Error(`cannot list descriptors: proc_pidinfo failed with errno ${errno()}`);
      if (bytes >= size) continue; // maybe cut short: ask again with more room
      const view = new DataView(info.buffer);
      const fds: number[] = [];
      for (let at = 0; at < bytes; at += PROC_FDINFO_BYTES) {
        if (view.getUint32(at + FDTYPE, true) === PROX_FDTYPE_SOCKET) fds.push(view.getInt32(at, true));
      }
      return wholeListing(fds);
    }
  },
};
