/**
 * Linux's BPF, as data: the numbers and layouts of `<linux/bpf.h>`,
 * `<linux/bpf_common.h>` and `<linux/magic.h>` that loading, attaching,
 * querying and reading a program take (tests/headers_test.ts checks each).
 * Keepalive options in `bpf_setsockopt` need Linux 5.9; `cgroup/setsockopt`
 * programs 5.3; replacing an attached program in place (`BPF_F_REPLACE`) 5.6.
 *
 * @module
 */
import type { BpfTable } from "./_types.ts";

/** The cgroup BPF of Linux. */
export const linuxBpf: BpfTable = {
  since: [5, 9],
  CGROUP2_SUPER_MAGIC: 0x63677270,
  // What a directory that is not cgroup v2 is on, named in the error.
  filesystems: {
    CGROUP_SUPER_MAGIC: [0x27e0eb, "cgroup v1"],
    PROC_SUPER_MAGIC: [0x9fa0, "proc"],
    SYSFS_MAGIC: [0x62656572, "sysfs"],
    TMPFS_MAGIC: [0x01021994, "tmpfs"],
    EXT4_SUPER_MAGIC: [0xef53, "ext4"],
    OVERLAYFS_SUPER_MAGIC: [0x794c7630, "overlayfs"],
  },
  commands: {
    BPF_PROG_LOAD: 5,
    BPF_PROG_ATTACH: 8,
    BPF_PROG_DETACH: 9,
    BPF_PROG_GET_FD_BY_ID: 13,
    BPF_OBJ_GET_INFO_BY_FD: 15,
    BPF_PROG_QUERY: 16,
    BPF_LINK_CREATE: 28,
    BPF_ITER_CREATE: 33,
  },
  programTypes: { BPF_PROG_TYPE_SOCK_OPS: 13, BPF_PROG_TYPE_CGROUP_SOCKOPT: 25, BPF_PROG_TYPE_TRACING: 26 },
  attachTypes: { BPF_CGROUP_SOCK_OPS: 3, BPF_CGROUP_SETSOCKOPT: 22, BPF_TRACE_ITER: 28 },
  BPF_F_ALLOW_OVERRIDE: 1,
  BPF_F_ALLOW_MULTI: 2,
  BPF_F_REPLACE: 4,
  BPF_F_QUERY_EFFECTIVE: 1,
  BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: 4,
  BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: 5,
  BPF_FUNC_setsockopt: 49,
  BPF_FUNC_getsockopt: 57,
  BPF_FUNC_seq_write: 127,
  BPF_FUNC_probe_read_kernel: 113,
  BPF_FUNC_skc_to_tcp_sock: 137,
  // bpf_setsockopt from iter/tcp: commit 3cee6fb8e69e (5.15); bpf_getsockopt of the keepalive options: 0b20a133c094.
  iterator: { setSince: [5, 15], readSince: [6, 1] },
  S_IFMT: 0o170000,
  S_IFSOCK: 0o140000,
  CLONE_NEWNET: 0x40000000,
  PROC_PID_INIT_INO: 0xeffffffc,
  capabilities: { CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 },
  IPPROTO_TCP: 6,
  OWN_WRITE_TAG: 0x6b617470, // "ptak", this module's own
  // union bpf_attr: each command's anonymous struct starts at 0; the bytes past what a command uses must be 0.
  attr: {
    size: 128,
    prog_type: 0,
    insn_cnt: 4,
    insns: 8,
    license: 16,
    log_level: 24,
    log_size: 28,
    log_buf: 32,
    prog_name: 48,
    expected_attach_type: 68,
    target_fd: 0,
    attach_bpf_fd: 4,
    attach_type: 8,
    attach_flags: 12,
    replace_bpf_fd: 16,
    "query.attach_type": 4,
    "query.query_flags": 8,
    "query.attach_flags": 12,
    "query.prog_ids": 16,
    "query.prog_cnt": 24,
    prog_id: 0,
    "info.bpf_fd": 0,
    "info.info_len": 4,
    "info.info": 8,
    attach_btf_id: 108,
    "link_create.prog_fd": 0,
    "link_create.attach_type": 8,
    "iter_create.link_fd": 0,
  },
  // struct bpf_prog_info, through its name.
  progInfo: { size: 80, type: 0, id: 4, xlated_prog_len: 20, xlated_prog_insns: 32, name: 64 },
  BPF_OBJ_NAME_LEN: 16,
  // struct bpf_sock_ops: the callback in op, and reply, which every program run for one callback shares.
  // struct bpf_sockopt: the socket, the option, the value's bytes as a packet, and its length. struct bpf_sock: what
  // kind of socket it is.
  context: {
    "bpf_sock_ops.op": 0,
    "bpf_sock_ops.reply": 4,
    "bpf_sockopt.sk": 0,
    "bpf_sockopt.optval": 8,
    "bpf_sockopt.optval_end": 16,
    "bpf_sockopt.level": 24,
    "bpf_sockopt.optname": 28,
    "bpf_sockopt.optlen": 32,
    "bpf_sock.protocol": 12,
  },
  // The instruction set: an 8-byte instruction is { u8 code; u8 dst:4, src:4; s16 off; s32 imm; }.
  opcodes: {
    BPF_LD: 0x00,
    BPF_LDX: 0x01,
    BPF_ST: 0x02,
    BPF_STX: 0x03,
    BPF_JMP: 0x05,
    BPF_ALU64: 0x07,
    BPF_W: 0x00,
    BPF_H: 0x08,
    BPF_B: 0x10,
    BPF_DW: 0x18,
    BPF_IMM: 0x00,
    BPF_MEM: 0x60,
    BPF_K: 0x00,
    BPF_X: 0x08,
    BPF_ADD: 0x00,
    BPF_AND: 0x50,
    BPF_MOV: 0xb0,
    BPF_JA: 0x00,
    BPF_JEQ: 0x10,
    BPF_JGT: 0x20,
    BPF_JNE: 0x50,
    BPF_CALL: 0x80,
    BPF_EXIT: 0x90,
  },
};
