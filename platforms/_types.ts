/**
 * The shape of one operating system's table: data only, no calls.
 *
 * @module
 */
import type { KeepaliveSettings, TcpInfo, TcpState } from "../types/mod.ts";

/** How the kernel counts an option's value. */
export type Unit = "bool" | "count" | "s" | "ms";

/** A socket option by its numbers. */
export interface OptionNumbers {
  /** The C name, for errors. */
  readonly name: string;
  /** `SOL_SOCKET` or `IPPROTO_TCP`. */
  readonly level: number;
  /** The option's number, as `setsockopt(2)` names its parameter. */
  readonly optname: number;
}

/** One socket option that carries one field of {@linkcode KeepaliveSettings}. */
export interface SocketOption extends OptionNumbers {
  /** The field of the public settings it carries. */
  readonly field: keyof KeepaliveSettings;
  /** What one step of the kernel's value is. */
  readonly unit: Unit;
  /** The smallest value the kernel takes, in `unit`. */
  readonly min: number;
  /** The largest value the kernel takes, in `unit`. */
  readonly max: number;
  /** Written with the platform's {@linkcode KeepaliveIoctl} rather than `setsockopt` (Windows). */
  readonly ioctl?: true;
  /** The value in effect where the OS lacks the option (Windows before 1703 probes 10 times): read back as this, and the only one kept. */
  readonly fallback?: number;
}

/** What one `SIO_KEEPALIVE_VALS` call carries, times in milliseconds. */
export interface KeepaliveVals {
  readonly enabled: number;
  readonly idleMs: number;
  readonly intervalMs: number;
}

/**
 * Windows' `WSAIoctl(SIO_KEEPALIVE_VALS)`: enable, idle and interval in one
 * struct, all three always applied.
 */
export interface KeepaliveIoctl {
  /** `"SIO_KEEPALIVE_VALS"`, for errors. */
  readonly name: string;
  /** The control code. */
  readonly code: number;
  /** What is sent for a time that was neither asked for nor readable: the system's default. */
  readonly defaultsMs: { readonly idleMs: number; readonly intervalMs: number };
  /** The error of a system that lacks an option (`WSAENOPROTOOPT`): the option's value is then unknown, or its `fallback`. */
  readonly lackedOptionErrno: number;
  /** Lays the values out as the OS's struct. */
  encode(vals: KeepaliveVals): Uint8Array;
}

/** One field of the OS's connection-info struct: an unsigned little-endian integer. */
export interface InfoField {
  /** Its name in the OS's header. */
  readonly member: string;
  /** Its byte offset. */
  readonly offset: number;
  /** Its width in bytes. */
  readonly bytes: 1 | 4 | 8;
  /** How many of its unit make a millisecond (1000 for microseconds, 1 for milliseconds); absent for a count. */
  readonly perMs?: number;
}

/** Where the OS reports a connection's state now, and where each field lies in what it writes. */
export interface TcpInfoLayout {
  /** The C name of the option or ioctl, for errors. */
  readonly name: string;
  /** `getsockopt(level, option)`, where it is a socket option; absent where it is an ioctl. */
  readonly option?: OptionNumbers;
  /** `WSAIoctl(code)` with `input` (the struct's version), where it is an ioctl (Windows); `lackedErrno` says the OS has none. */
  readonly ioctl?: { readonly code: number; readonly input: Uint8Array; readonly lackedErrno: number };
  /** The struct, as its header names it. */
  readonly struct: string;
  /** The bytes to ask for: up to the last field read (all of it, for an ioctl). */
  readonly size: number;
  /** The state field, and what its values mean. */
  readonly state: InfoField & { readonly names: Readonly<Record<number, TcpState>> };
  /** Each field of a connection the OS reports; one it lacks is absent, and reads as `undefined`. */
  readonly fields: Readonly<Partial<Record<Exclude<keyof TcpInfo, "state" | "acceptQueue">, InfoField>>>;
  /** What the OS reports of a listener instead (Linux reuses the unacknowledged count for its accept queue). */
  readonly listening: Readonly<Partial<Record<"acceptQueue", InfoField>>>;
}

/** The `bpf(2)` commands used, as `<linux/bpf.h>` names them. */
export type BpfCommand =
  | "BPF_PROG_LOAD"
  | "BPF_PROG_ATTACH"
  | "BPF_PROG_DETACH"
  | "BPF_PROG_GET_FD_BY_ID"
  | "BPF_OBJ_GET_INFO_BY_FD"
  | "BPF_PROG_QUERY"
  | "BPF_LINK_CREATE"
  | "BPF_ITER_CREATE";

/** The members of `union bpf_attr` laid out, each command's as `<linux/bpf.h>` nests them. */
export type BpfAttrMember =
  | "prog_type"
  | "insn_cnt"
  | "insns"
  | "license"
  | "log_level"
  | "log_size"
  | "log_buf"
  | "prog_name"
  | "expected_attach_type"
  | "target_fd"
  | "attach_bpf_fd"
  | "attach_type"
  | "attach_flags"
  | "replace_bpf_fd"
  | "query.attach_type"
  | "query.query_flags"
  | "query.attach_flags"
  | "query.prog_ids"
  | "query.prog_cnt"
  | "prog_id"
  | "info.bpf_fd"
  | "info.info_len"
  | "info.info"
  | "attach_btf_id"
  | "link_create.prog_fd"
  | "link_create.attach_type"
  | "iter_create.link_fd";

/** The members of `struct bpf_prog_info` read. */
export type BpfProgInfoMember = "type" | "id" | "xlated_prog_len" | "xlated_prog_insns" | "name";

/** The fields of the programs' contexts read or written, as `struct.member`. */
export type BpfContextField =
  | "bpf_sock_ops.op"
  | "bpf_sock_ops.reply"
  | "bpf_sockopt.sk"
  | "bpf_sockopt.optval"
  | "bpf_sockopt.optval_end"
  | "bpf_sockopt.level"
  | "bpf_sockopt.optname"
  | "bpf_sockopt.optlen"
  | "bpf_sock.protocol";

/** The instruction set's opcode parts used, as `<linux/bpf_common.h>` and `<linux/bpf.h>` name them. */
export type BpfOpcode =
  | "BPF_LD"
  | "BPF_LDX"
  | "BPF_ST"
  | "BPF_STX"
  | "BPF_JMP"
  | "BPF_ALU64"
  | "BPF_W"
  | "BPF_H"
  | "BPF_B"
  | "BPF_DW"
  | "BPF_IMM"
  | "BPF_MEM"
  | "BPF_K"
  | "BPF_X"
  | "BPF_ADD"
  | "BPF_AND"
  | "BPF_MOV"
  | "BPF_JA"
  | "BPF_JEQ"
  | "BPF_JGT"
  | "BPF_JNE"
  | "BPF_CALL"
  | "BPF_EXIT";

/** The numbers and layouts cgroup BPF takes (Linux): each named as `<linux/bpf.h>` names it. */
export interface BpfTable {
  /** The first kernel whose `bpf_setsockopt` takes the keepalive options, `[major, minor]`. */
  readonly since: readonly [number, number];
  /** `statfs`'s `f_type` of a cgroup v2 directory. */
  readonly CGROUP2_SUPER_MAGIC: number;
  /** Other filesystems' `f_type`, by their `<linux/magic.h>` names, with what to call them. */
  readonly filesystems: Readonly<Record<string, readonly [magic: number, label: string]>>;
  /** The `bpf(2)` commands used. */
  readonly commands: Readonly<Record<BpfCommand, number>>;
  readonly programTypes: Readonly<
    Record<"BPF_PROG_TYPE_SOCK_OPS" | "BPF_PROG_TYPE_CGROUP_SOCKOPT" | "BPF_PROG_TYPE_TRACING", number>
  >;
  readonly attachTypes: Readonly<Record<"BPF_CGROUP_SOCK_OPS" | "BPF_CGROUP_SETSOCKOPT" | "BPF_TRACE_ITER", number>>;
  readonly BPF_F_ALLOW_OVERRIDE: number;
  readonly BPF_F_ALLOW_MULTI: number;
  readonly BPF_F_REPLACE: number;
  readonly BPF_F_QUERY_EFFECTIVE: number;
  readonly BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: number;
  readonly BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: number;
  readonly BPF_FUNC_setsockopt: number;
  /**
   * The helpers an iterator program calls: read an option, write a record, a socket as a TCP socket, and a read of
   * kernel memory (a socket's inode, beside it).
   */
  readonly BPF_FUNC_getsockopt: number;
  readonly BPF_FUNC_seq_write: number;
  readonly BPF_FUNC_skc_to_tcp_sock: number;
  readonly BPF_FUNC_probe_read_kernel: number;
  /**
   * The TCP iterator (`iter/tcp`): the first kernels whose `bpf_setsockopt` (5.15) and `bpf_getsockopt` of the
   * keepalive options (6.1) it may call, `[major, minor]`.
   */
  readonly iterator: { readonly setSince: readonly [number, number]; readonly readSince: readonly [number, number] };
  /** `S_IFMT` and `S_IFSOCK` of `<sys/stat.h>`: an inode's type bits, and a socket's. */
  readonly S_IFMT: number;
  readonly S_IFSOCK: number;
  /** `CLONE_NEWNET` of `<sched.h>`: what `setns` enters. */
  readonly CLONE_NEWNET: number;
  /**
   * `PROC_PID_INIT_INO` of `<linux/proc_ns.h>` (not uapi, fixed since 3.8): the initial pid namespace's inode, whose
   * numbers a task's `tgid` is in.
   */
  readonly PROC_PID_INIT_INO: number;
  /** The capabilities an iterator takes, by `<linux/capability.h>`'s names: bits of `/proc/self/status`' CapEff. */
  readonly capabilities: Readonly<Record<"CAP_SYS_ADMIN" | "CAP_PERFMON" | "CAP_BPF", number>>;
  /** The protocol of a TCP socket (`bpf_sock.protocol`): the only one `--enforce` holds. */
  readonly IPPROTO_TCP: number;
  /**
   * This module's own, not the kernel's: the 4 bytes it writes after an option's `int` where it sets a socket from
   * outside its process (`keepalive apply`), which its `--enforce` program lets through.
   */
  readonly OWN_WRITE_TAG: number;
  /** `union bpf_attr`: the bytes passed, and where each member used lies. */
  readonly attr: Readonly<Record<BpfAttrMember, number>> & { readonly size: number };
  /** `struct bpf_prog_info`: the bytes asked for, and where each member used lies. */
  readonly progInfo: Readonly<Record<BpfProgInfoMember, number>> & { readonly size: number };
  /** The length of `bpf_prog_info.name`, with its NUL. */
  readonly BPF_OBJ_NAME_LEN: number;
  /** Where the programs' contexts keep what they read and write. */
  readonly context: Readonly<Record<BpfContextField, number>>;
  /** The instruction set's opcode parts. */
  readonly opcodes: Readonly<Record<BpfOpcode, number>>;
}

/** One operating system's keepalive options, as data. */
export interface Platform {
  /** The name used in errors, such as `"Linux"`. */
  readonly name: string;
  /** The options, in the order they are read and written: TCP-level first, since a socket that is not TCP refuses those. */
  readonly socketOptions: readonly SocketOption[];
  /** How enable, idle and interval are written where one ioctl carries them (Windows). */
  readonly keepaliveIoctl?: KeepaliveIoctl;
  /** Why a field the OS has no option for is missing, for errors. */
  readonly missing: Readonly<Partial<Record<keyof KeepaliveSettings, string>>>;
  /** `SO_ACCEPTCONN`: non-zero on a listening socket, which is what tells a listener from a connection without a peer. */
  readonly SO_ACCEPTCONN: OptionNumbers;
  /** `SO_TYPE`: `SOCK_STREAM` on a TCP socket, which tells it from a UDP one of the same address family. */
  readonly SO_TYPE: OptionNumbers;
  /** `SOCK_STREAM`. */
  readonly SOCK_STREAM: number;
  /** `SOCK_CLOEXEC`, or'd into a new socket's type so that no child inherits it; 0 where the OS has no such flag. */
  readonly SOCK_CLOEXEC: number;
  /** `SO_COOKIE` (Linux): a number no other socket gets until reboot, which tells a socket from one that took its place. */
  readonly SO_COOKIE?: OptionNumbers;
  /** The largest descriptor (an `int`) or, on Windows, `SOCKET` handle value. */
  readonly descriptorMax: number;
  /**
   * Where the OS puts a new socket: POSIX gives the lowest free descriptor, so a gap in the last listing is a good
   * guess; Windows gives a handle value off a free list, so only where a socket closed lately is.
   */
  readonly newDescriptor: { readonly lowestFree: boolean };
  /** Where `sa_family` sits in a `sockaddr`: a `u16` at 0 (Linux), or a `u8` at 1 after `sa_len` (the BSDs). */
  readonly sockaddrFamily: { readonly offset: number; readonly bytes: 1 | 2 };
  /** Address family numbers, for matching a socket's addresses. */
  readonly AF_INET: number;
  /** Address family of IPv6. */
  readonly AF_INET6: number;
  /** errno numbers to names, for errors. */
  readonly errnoNames: Readonly<Record<number, string>>;
  /** Where another process's descriptors can be taken (Linux 5.6: `pidfd_open`, `pidfd_getfd`); absent elsewhere. */
  readonly pidfd?: {
    /** `PIDFD_THREAD` (Linux 6.9): `pidfd_open` of a thread, which tells a thread's id from no process's. */
    readonly PIDFD_THREAD: number;
  };
  /** cgroup BPF, where the OS has it (Linux); absent elsewhere. */
  readonly bpf?: BpfTable;
  /** How the kernel reports a connection now. */
  readonly tcpInfo: TcpInfoLayout;
}
