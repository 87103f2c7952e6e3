/**
 * FreeBSD: libc.so.7; descriptors listed with the `kern.proc.filedesc.<pid>`
 * sysctl, keeping only sockets.
 *
 * @module
 */
import { BSD_SOCKETS } from "./_library_posix.ts";
import type { Library, SymbolTable } from "./_library.ts";
import { wholeListing } from "../syscalls/mod.ts";

/** The C numbers used here, by their names in the headers (checked against Go's and Rust's generated tables). */
export const FREEBSD_NUMBERS = {
  CTL_KERN: 1,
  KERN_PROC: 14,
  KERN_PROC_FILEDESC: 33,
  KF_TYPE_SOCKET: 2,
  ENOMEM: 12,
  // struct kinfo_file { int kf_structsize; int kf_type; int kf_fd; ... }, packed one after another.
  kf_type: 4,
  kf_fd: 8,
} as const;
const { CTL_KERN, KERN_PROC, KERN_PROC_FILEDESC, KF_TYPE_SOCKET, ENOMEM, kf_type: KF_TYPE, kf_fd: KF_FD } =
  FREEBSD_NUMBERS;

const WALK_SYMBOLS = {
  // pid_t getpid(void)
  getpid: { parameters: [], result: "i32" },
  // int sysctl(const int *name, u_int namelen, void *oldp, size_t *oldlenp, const void *newp, size_t newlen)
  sysctl: { parameters: ["buffer", "u32", "buffer", "buffer", "pointer", "usize"], result: "i32" },
} as const satisfies SymbolTable;

/** libc on FreeBSD. */
export const freebsdLibc: Library<typeof BSD_SOCKETS.symbols, typeof WALK_SYMBOLS> = {
  paths: ["libc.so.7"],
  ...BSD_SOCKETS,
  walkSymbols: WALK_SYMBOLS,
  listing(walk, _sockets, errno, _arch, pid = walk.getpid()) {
    const mib = Int32Array.of(CTL_KERN, KERN_PROC, KERN_PROC_FILEDESC, pid);
    const length = new BigUint64Array(1);
    for (let size = 64 * 1024;; size *= 4) {
      const files = new Uint8Array(size);
      length[0] = BigInt(size);
      if (walk.sysctl(mib, mib.length, files, length, null, 0n) !== 0) {
        const error = errno();
        if (error === ENOMEM) continue; // more files than room: ask again with more
        throw new Error(`cannot list descriptors: sysctl kern.proc.filedesc failed with errno ${error}`);
      }
      const view = new DataView(files.buffer);
      const fds: number[] = [];
      for (let at = 0, end = Number(length[0]); at < end;) {
        const structSize = view.getInt32(at, true);
        if (structSize <= 0) break;
        if (view.getInt32(at + KF_TYPE, true) === KF_TYPE_SOCKET) fds.push(view.getInt32(at + KF_FD, true));
        at += structSize;
      }
      return wholeListing(fds);
    }
  },
};
