/**
 * The two iterator programs, one instruction a line, each with what it does,
 * over offsets read from the kernel's own BTF: no compiler, no libbpf, and
 * no offset guessed.
 *
 * `iter/tcp` runs once for every TCP socket of a network namespace, in one
 * `read()`: it writes one record of what the socket is (addresses, state,
 * owner's uid, the cgroup it was made in, its inode) and of its keepalive
 * as the kernel holds it (`bpf_getsockopt`, 6.1). Given cgroup ids, it keeps
 * only the sockets made in one of them; given writes, it sets each such
 * socket with `bpf_setsockopt` (5.15), keepalive on first, and reads it
 * again.
 *
 * `iter/task_file` runs once for every open file of every process: for each
 * socket it writes the inode, the process and the descriptor, which is how a
 * socket's record finds who holds it.
 *
 * @module
 */
import { type Btf, BTF_KINDS, type Member } from "../bpf/mod.ts";
import { instructionSet, label, type Line, R0, R1, R10, R2, R3, R4, R5, R6, R7, R8, R9 } from "../bpf/mod.ts";
import { keepaliveFirst, type Write } from "../options/mod.ts";
import type { BpfTable, Platform } from "../platforms/mod.ts";

/** The kernel members the programs read, each with the size its load takes. */
const MEMBERS = {
  "bpf_iter_meta.seq": 8,
  "sock_common.skc_daddr": 4,
  "sock_common.skc_rcv_saddr": 4,
  "sock_common.skc_dport": 2,
  "sock_common.skc_num": 2,
  "sock_common.skc_family": 2,
  "sock_common.skc_state": 1,
  "sock_common.skc_v6_daddr": 16,
  "sock_common.skc_v6_rcv_saddr": 16,
  "sock.sk_socket": 8,
  "sock.sk_cgrp_data.cgroup": 8,
  "cgroup.kn": 8,
  "kernfs_node.id": 8,
  "file.f_inode": 8,
  "inode.i_ino": 8,
  "inode.i_mode": 2,
  "task_struct.tgid": 4,
} as const;
/**
 * The members whose place alone a program uses, not loading them: a socket's inode is found from the socket as the
 * kernel's `SOCK_INODE()` finds it, beside it in their `struct socket_alloc`.
 */
const PLACES = ["socket_alloc.socket", "socket_alloc.vfs_inode"] as const;
type MemberPath = keyof typeof MEMBERS | typeof PLACES[number];

/** The iterators' functions in the kernel's BTF, and the parameters each program reads of its context. */
const ITERATORS = {
  tcp: { function: "bpf_iter_tcp", parameters: ["meta", "sk_common", "uid"] },
  task_file: { function: "bpf_iter_task_file", parameters: ["meta", "task", "fd", "file"] },
} as const;
type Iterator = keyof typeof ITERATORS;

/** Where this kernel keeps what the programs read: from its BTF. */
export interface KernelLayout {
  /** Each iterator's function's BTF id (a tracing program's `attach_btf_id`), and where its context's parameters lie. */
  readonly iterators: {
    readonly [I in Iterator]: { readonly btfId: number; readonly context: Record<string, number> };
  };
  /** Each member's offset in its struct. */
  readonly members: Readonly<Record<MemberPath, number>>;
  /** `TCP_NEW_SYN_RECV`, the kernel's own state of a connection not yet accepted (`<net/tcp_states.h>`, no uapi). */
  readonly TCP_NEW_SYN_RECV: number;
}

/**
 * Reads the layout from the kernel's BTF, each member's size checked against the load that reads it.
 *
 * @param btf The kernel's BTF.
 * @returns The layout.
 * @throws {Error} Naming the function, struct, member or enumerator this kernel lacks, or a member whose size is
 *   not the one the program loads.
 */
export function kernelLayout(btf: Btf): KernelLayout {
  const iterators = Object.fromEntries(
    Object.entries(ITERATORS).map(([name, { function: fn, parameters }]) => {
      const btfId = btf.idOf(BTF_KINDS.BTF_KIND_FUNC, fn);
      if (btfId === undefined) throw new Error(`the kernel's BTF has no ${fn}: this kernel has no iter/${name}`);
      const held = btf.parameters(btfId);
      // A tracing program's context holds each of the function's parameters in 8 bytes, in order.
      const context = Object.fromEntries(parameters.map((p) => {
        const at = held.indexOf(p);
        if (at < 0) throw new Error(`${fn} has no parameter ${p} here (it has ${held.join(", ")})`);
        return [p, 8 * at];
      }));
      return [name, { btfId, context }];
    }),
  ) as KernelLayout["iterators"];
  const members = Object.fromEntries([
    ...(Object.entries(MEMBERS) as [MemberPath, number][]).map(([path, bytes]) => {
      const found: Member = btf.member(path);
      if (found.bytes !== bytes) throw new Error(`${path} is ${found.bytes} bytes on this kernel, not ${bytes}`);
      return [path, found.offset];
    }),
    ...PLACES.map((path) => [path, btf.member(path).offset]),
  ]) as Record<MemberPath, number>;
  const TCP_NEW_SYN_RECV = btf.enumerator("TCP_NEW_SYN_RECV");
  if (TCP_NEW_SYN_RECV === undefined) throw new Error("the kernel's BTF has no TCP_NEW_SYN_RECV");
  return { iterators, members, TCP_NEW_SYN_RECV };
}

/**
 * One record of `iter/tcp`, as it lies: where each field is, in bytes. The values of the options are 4 bytes each,
 * in the platform's option order, as the kernel reads them before (`before`) and after (`after`) the writes.
 */
export const TCP_RECORD = {
  inode: 0, // u64: the socket's inode, as `ss -e` shows it; 0 where no file holds it
  cgroup: 8, // u64: the id of the cgroup it was made in (its directory's inode); 0 for a socket not full
  uid: 16, // u32: its owner's uid
  family: 20, // u16
  state: 22, // u8
  flags: 23, // u8: READ, SET
  localPort: 24, // u16, host order
  peerPort: 26, // u16, network order
  before: 28, // 5 x u32
  localV4: 48, // 4 bytes, network order
  peerV4: 52,
  localV6: 56, // 16 bytes
  peerV6: 72,
  after: 88, // 5 x u32
  setErrno: 108, // i32: the negated errno of the first write refused, 0 if none
  bytes: 112,
} as const;
/**
 * What `flags` says: the options were read (a full socket, not a request or a time-wait one); read again after the
 * writes; and at least one written, the others holding their value already.
 */
export const FLAGS = { READ: 1, SET: 2, WROTE: 4 } as const;

/** One record of `iter/task_file`: a socket's inode, the process holding it, and its descriptor there. */
export const FILE_RECORD = { inode: 0, pid: 8, fd: 12, bytes: 16 } as const;

/** The stack: the record below the frame pointer, then 8 bytes for a value being written. */
const RECORD_AT = -TCP_RECORD.bytes;
const VALUE_AT = RECORD_AT - 8;

/** What the TCP program does beyond reading: keep the sockets of these cgroups only, and set them. */
export interface TcpPass {
  /** Keep only the sockets made in these cgroups (by id); all of them if absent. */
  readonly cgroups?: readonly bigint[];
  /** Set these, keepalive first, on the sockets kept, and read them again. */
  readonly writes?: readonly Write[];
  /** With writes: a record only for a socket that was written or refused, the drift a node agent puts back. */
  readonly onlyChanged?: boolean;
}

/** Writes the record to the iterator's output, and ends: `bpf_seq_write(ctx->meta->seq, &record, size)`. */
function emit(bpf: BpfTable, layout: KernelLayout, iterator: Iterator, bytes: number): Line[] {
  const { MOV64_REG, MOV64_IMM, ALU64_IMM, LDX_MEM, CALL } = instructionSet(bpf);
  return [
    label("emit"),
    LDX_MEM("DW", R1, R6, layout.iterators[iterator].context.meta!, "r1 = ctx->meta"),
    LDX_MEM("DW", R1, R1, layout.members["bpf_iter_meta.seq"], "r1 = meta->seq, the iterator's output"),
    MOV64_REG(R2, R10, "r2 = the frame pointer"),
    ALU64_IMM("ADD", R2, -bytes, "r2 = &record"),
    MOV64_IMM(R3, bytes, "r3 = the record's size"),
    CALL(bpf.BPF_FUNC_seq_write, "bpf_seq_write(seq, &record, size)"),
  ];
}

/** The end of both programs: 0 goes on to the next object. */
function done(bpf: BpfTable): Line[] {
  const { MOV64_IMM, EXIT } = instructionSet(bpf);
  return [label("out"), MOV64_IMM(R0, 0, "r0 = 0: on to the next"), EXIT("return")];
}

/**
 * The `iter/tcp` program's lines.
 *
 * @param bpf The BPF table.
 * @param platform The OS's table: its options, in the order the record holds them.
 * @param layout Where this kernel keeps what it reads.
 * @param pass Which sockets to keep, and what to set on them.
 * @returns The lines, to assemble.
 */
export function tcpProgram(bpf: BpfTable, platform: Platform, layout: KernelLayout, pass: TcpPass = {}): Line[] {
  const { MOV64_REG, MOV64_IMM, ALU64_IMM, LDX_MEM, STX_MEM, ST_MEM, JMP_IMM, JMP_REG, JMP_A, CALL, LD_IMM64 } =
    instructionSet(bpf);
  const m = layout.members;
  const context = layout.iterators.tcp.context;
  const at = (field: number) => RECORD_AT + field;
  const copy = (size: "B" | "H" | "W" | "DW", from: number, field: number, what: string): Line[] => [
    LDX_MEM(size, R1, R7, from, `r1 = sk->${what}`),
    STX_MEM(size, R10, R1, at(field), `record.${what} = r1`),
  ];
  const readOptions = (into: number, when: string): Line[] =>
    platform.socketOptions.flatMap((option, i) => [
      MOV64_REG(R1, R8, "r1 = the TCP socket"),
      MOV64_IMM(R2, option.level, `r2 = ${option.name}'s level`),
      MOV64_IMM(R3, option.optname, `r3 = ${option.name}`),
      MOV64_REG(R4, R10, "r4 = the frame pointer"),
      ALU64_IMM("ADD", R4, at(into + 4 * i), `r4 = &record.${when}[${i}]`),
      MOV64_IMM(R5, 4, "r5 = sizeof(int)"),
      CALL(bpf.BPF_FUNC_getsockopt, `bpf_getsockopt(sk, level, ${option.name}, r4, 4)`),
      JMP_IMM("JNE", R0, 0, "emit", "refused: the record says what was read"),
    ]);
  const cgroups = pass.cgroups ?? [];
  const writes = keepaliveFirst(pass.writes ?? []);
  const inodeFromSocket = m["socket_alloc.vfs_inode"] - m["socket_alloc.socket"] + m["inode.i_ino"];
  // Where the record holds a write's option as read before: the platform's order.
  const valueAt = (write: Write) => TCP_RECORD.before + 4 * platform.socketOptions.indexOf(write.option);
  return [
    MOV64_REG(R6, R1, "r6 = the context, struct bpf_iter__tcp"),
    LDX_MEM("DW", R7, R6, context.sk_common!, "r7 = ctx->sk_common"),
    JMP_IMM("JEQ", R7, 0, "out", "none: the call after the last socket"),
    ...Array.from(
      { length: TCP_RECORD.bytes / 8 },
      (_, i) => ST_MEM("DW", R10, RECORD_AT + 8 * i, 0, `record[${8 * i}..${8 * i + 8}] = 0`),
    ),
    LDX_MEM("W", R1, R6, context.uid!, "r1 = ctx->uid, the socket's owner"),
    STX_MEM("W", R10, R1, at(TCP_RECORD.uid), "record.uid = r1"),
    ...copy("H", m["sock_common.skc_family"], TCP_RECORD.family, "skc_family"),
    ...copy("B", m["sock_common.skc_state"], TCP_RECORD.state, "skc_state"),
    ...copy("H", m["sock_common.skc_num"], TCP_RECORD.localPort, "skc_num"),
    ...copy("H", m["sock_common.skc_dport"], TCP_RECORD.peerPort, "skc_dport"),
    ...copy("W", m["sock_common.skc_rcv_saddr"], TCP_RECORD.localV4, "skc_rcv_saddr"),
    ...copy("W", m["sock_common.skc_daddr"], TCP_RECORD.peerV4, "skc_daddr"),
    ...[0, 8].flatMap((half) => [
      ...copy("DW", m["sock_common.skc_v6_rcv_saddr"] + half, TCP_RECORD.localV6 + half, `skc_v6_rcv_saddr[${half}]`),
      ...copy("DW", m["sock_common.skc_v6_daddr"] + half, TCP_RECORD.peerV6 + half, `skc_v6_daddr[${half}]`),
    ]),
    MOV64_REG(R1, R7, "r1 = sk_common"),
    CALL(bpf.BPF_FUNC_skc_to_tcp_sock, "bpf_skc_to_tcp_sock(sk): NULL for a request or time-wait socket"),
    JMP_IMM("JEQ", R0, 0, cgroups.length ? "out" : "emit", "not a full socket: no options, no cgroup"),
    MOV64_REG(R8, R0, "r8 = the TCP socket, kept across the calls"),
    // One read where sock->file->f_inode->i_ino would be three, each a cache miss: a fifth of the whole pass.
    LDX_MEM("DW", R3, R8, m["sock.sk_socket"], "r3 = sk->sk_socket, in its socket_alloc"),
    JMP_IMM("JEQ", R3, 0, "made", "none: no file holds it, inode 0"),
    ALU64_IMM("ADD", R3, inodeFromSocket, "r3 = &SOCK_INODE(sock)->i_ino"),
    MOV64_REG(R1, R10, "r1 = the frame pointer"),
    ALU64_IMM("ADD", R1, at(TCP_RECORD.inode), "r1 = &record.inode"),
    MOV64_IMM(R2, 8, "r2 = sizeof(i_ino)"),
    CALL(bpf.BPF_FUNC_probe_read_kernel, "bpf_probe_read_kernel(&record.inode, 8, r3)"),
    label("made"),
    LDX_MEM("DW", R9, R8, m["sock.sk_cgrp_data.cgroup"], "r9 = sk->sk_cgrp_data.cgroup, where it was made"),
    LDX_MEM("DW", R9, R9, m["cgroup.kn"], "r9 = cgroup->kn"),
    LDX_MEM("DW", R9, R9, m["kernfs_node.id"], "r9 = kn->id, the cgroup directory's inode"),
    STX_MEM("DW", R10, R9, at(TCP_RECORD.cgroup), "record.cgroup = r9"),
    ...cgroups.flatMap((id) => [
      LD_IMM64(R1, id, `r1 = cgroup ${id}`),
      JMP_REG("JEQ", R9, R1, "kept", `made in cgroup ${id}: kept`),
    ]),
    ...(cgroups.length ? [JMP_A("out", "made in no cgroup asked for: no record"), label("kept")] : []),
    ...readOptions(TCP_RECORD.before, "before"),
    ST_MEM("B", R10, at(TCP_RECORD.flags), FLAGS.READ, "record.flags = READ"),
    ...(writes.length
      ? [
        MOV64_IMM(R9, FLAGS.READ | FLAGS.SET, "r9 = the record's flags, kept across the calls"),
        // Only what differs is written: the same idle time again would rearm the keepalive timer for nothing.
        ...writes.flatMap((write, i) => [
          LDX_MEM("W", R1, R10, at(valueAt(write)), `r1 = its ${write.option.name} now`),
          JMP_IMM("JEQ", R1, write.value, `holds${i}`, "holds it already: not written"),
          ST_MEM("W", R10, VALUE_AT, write.value, `${write.option.name}'s value, on the stack`),
          MOV64_REG(R1, R8, "r1 = the TCP socket"),
          MOV64_IMM(R2, write.option.level, `r2 = ${write.option.name}'s level`),
          MOV64_IMM(R3, write.option.optname, `r3 = ${write.option.name}`),
          MOV64_REG(R4, R10, "r4 = the frame pointer"),
          ALU64_IMM("ADD", R4, VALUE_AT, "r4 = &value"),
          MOV64_IMM(R5, 4, "r5 = sizeof(int)"),
          CALL(bpf.BPF_FUNC_setsockopt, `bpf_setsockopt(sk, level, ${write.option.name}, &value, 4)`),
          JMP_IMM("JNE", R0, 0, "refused", "refused: the rest left"),
          MOV64_IMM(R9, FLAGS.READ | FLAGS.SET | FLAGS.WROTE, "r9 = the flags, something written"),
          label(`holds${i}`),
        ]),
        JMP_A("written", "every write made"),
        label("refused"),
        STX_MEM("W", R10, R0, at(TCP_RECORD.setErrno), "record.setErrno = r0"),
        label("written"),
        STX_MEM("B", R10, R9, at(TCP_RECORD.flags), "record.flags = r9"),
        ...(pass.onlyChanged
          ? [
            JMP_IMM("JNE", R9, FLAGS.READ | FLAGS.SET, "changed", "something written: a record"),
            LDX_MEM("W", R1, R10, at(TCP_RECORD.setErrno), "r1 = record.setErrno"),
            JMP_IMM("JEQ", R1, 0, "out", "nothing written, nothing refused: no record"),
            label("changed"),
          ]
          : []),
        ...readOptions(TCP_RECORD.after, "after"),
      ]
      : []),
    ...emit(bpf, layout, "tcp", TCP_RECORD.bytes),
    ...done(bpf),
  ];
}

/**
 * The `iter/task_file` program's lines: a record for each open socket of each process (threads sharing their
 * process's files are skipped by the kernel).
 *
 * @param bpf The BPF table.
 * @param layout Where this kernel keeps what it reads.
 * @returns The lines, to assemble.
 */
export function fileProgram(bpf: BpfTable, layout: KernelLayout): Line[] {
  const { MOV64_REG, ALU64_IMM, LDX_MEM, STX_MEM, JMP_IMM } = instructionSet(bpf);
  const m = layout.members;
  const context = layout.iterators.task_file.context;
  const at = (field: number) => -FILE_RECORD.bytes + field;
  return [
    MOV64_REG(R6, R1, "r6 = the context, struct bpf_iter__task_file"),
    LDX_MEM("DW", R7, R6, context.file!, "r7 = ctx->file"),
    JMP_IMM("JEQ", R7, 0, "out", "none: the call after the last file"),
    LDX_MEM("DW", R1, R7, m["file.f_inode"], "r1 = file->f_inode"),
    LDX_MEM("H", R2, R1, m["inode.i_mode"], "r2 = inode->i_mode"),
    ALU64_IMM("AND", R2, bpf.S_IFMT, "r2 &= S_IFMT, the file's type"),
    JMP_IMM("JNE", R2, bpf.S_IFSOCK, "out", "not a socket"),
    LDX_MEM("DW", R2, R1, m["inode.i_ino"], "r2 = inode->i_ino"),
    STX_MEM("DW", R10, R2, at(FILE_RECORD.inode), "record.inode = r2"),
    LDX_MEM("DW", R1, R6, context.task!, "r1 = ctx->task"),
    JMP_IMM("JEQ", R1, 0, "out", "none (the verifier asks)"),
    LDX_MEM("W", R2, R1, m["task_struct.tgid"], "r2 = task->tgid, its process"),
    STX_MEM("W", R10, R2, at(FILE_RECORD.pid), "record.pid = r2"),
    LDX_MEM("W", R2, R6, context.fd!, "r2 = ctx->fd"),
    STX_MEM("W", R10, R2, at(FILE_RECORD.fd), "record.fd = r2"),
    ...emit(bpf, layout, "task_file", FILE_RECORD.bytes),
    ...done(bpf),
  ];
}
