/**
 * The system calls this module makes, as a runtime's FFI binding provides them.
 * Each returns a non-negative result or the negated errno, as the kernel does,
 * so that a failure carries its cause without an exception or an allocation.
 *
 * @module
 */

import type { Listing } from "./_listing.ts";

/** One runtime's binding to libc. */
export interface Syscalls {
  /** `getsockopt` of an `int` option: the value, or `-errno`. */
  getsockoptInt(fd: number, level: number, option: number): number;
  /** `getsockopt` into `into`: the length the kernel wrote, or `-errno`. */
  getsockopt(fd: number, level: number, option: number, into: Uint8Array): number;
  /** `setsockopt` of an `int` option: 0, or `-errno`. */
  setsockoptInt(fd: number, level: number, option: number, value: number): number;
  /** `setsockopt` with the bytes of `from` (an `int` and this module's tag after it, on Linux): 0, or `-errno`. */
  setsockopt(fd: number, level: number, option: number, from: Uint8Array): number;
  /** `getsockname` into `address`: the address length, or `-errno`. */
  getsockname(fd: number, address: Uint8Array): number;
  /** `getpeername` into `address`: the address length, or `-errno`. */
  getpeername(fd: number, address: Uint8Array): number;
  /** `WSAIoctl` with an input buffer and, if given, an output one (Windows only): the bytes it wrote, or `-error`. */
  ioctl(fd: number, code: number, input: Uint8Array, output?: Uint8Array): number;
  /** `socket(family, type, 0)`: a new socket's descriptor, or `-errno`. */
  socket(family: number, type: number): number;
  /**
   * The descriptors (or, on Windows, handle values) that may be this process's sockets, or `pid`'s, a chunk at a
   * time, so that a long listing need not hold the event loop; `allListed` takes them all at once.
   */
  listing(pid?: number): Listing;
  /** `pidfd_open(pid, flags)` (Linux): a descriptor for the process, or `-errno`. */
  pidfdOpen(pid: number, flags: number): number;
  /** `pidfd_getfd(pidfd, fd, 0)` (Linux): this process's own descriptor for the process's socket, or `-errno`. */
  pidfdGetfd(pidfd: number, fd: number): number;
  /** `close(fd)`: 0, or `-errno`. */
  close(fd: number): number;
  /** The calls BPF and cgroups need (Linux; the public calls refuse every other OS first), opened on first use. */
  cgroup(): CgroupSyscalls;
}

/** What BPF, the cgroup filesystem and namespaces take (Linux), each returning a result or `-errno`. */
export interface CgroupSyscalls {
  /** `bpf(command, attr, attr.byteLength)`: a new descriptor, or 0. */
  bpf(command: number, attr: Uint8Array): number;
  /** Where a buffer's bytes are, for a pointer in a `bpf` attribute: an `ArrayBuffer`'s bytes never move. */
  addressOf(buffer: Uint8Array): bigint;
  /** `open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)`. */
  openDirectory(path: string): number;
  /** `open(path, O_RDONLY | O_CLOEXEC)`. */
  openFile(path: string): number;
  /** `read(fd, into)`: the bytes read. */
  read(fd: number, into: Uint8Array): number;
  /** `fstatfs(fd)`'s `f_type`: what filesystem an open descriptor is on. */
  filesystemType(fd: number): number;
  /** `fstat(fd)`'s `st_ino`: a cgroup directory's is the cgroup's id, 1 for the root; or `-errno`. */
  inode(fd: number): number;
  /** `fstat(fd)`'s `st_size`: a file's length (0 for most of `/proc`, which says it as it is read); or `-errno`. */
  size(fd: number): number;
  /** `flock(fd, LOCK_EX)`: waits for, then holds, the lock on an open file, until it is closed; 0, or `-errno`. */
  lock(fd: number): number;
  /** `setns(fd, type)`: the calling thread enters the namespace `fd` is open on (`CLONE_NEWNET`); 0, or `-errno`. */
  enterNamespace(fd: number, type: number): number;
  /** `uname(2)`'s release, such as `6.18.44`, and the host's name; throws if it fails. */
  kernel(): { release: string; hostname: string };
  /** An open directory's subdirectories, but `.` and `..`, by name; or `-errno`. */
  subdirectories(fd: number): string[] | number;
}
