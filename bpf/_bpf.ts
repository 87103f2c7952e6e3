/**
 * The `bpf(2)` commands every program of this module takes, each laid out
 * from the table's `union bpf_attr`: load a program (with the verifier's log
 * when it is refused), open one by id and read its name and instructions,
 * and, for an iterator, link it and open the iterator; and the capabilities
 * the caller holds, read before anything is loaded.
 *
 * @module
 */
import { assemble, type Line } from "./_insn.ts";
import { cString, cText } from "../options/mod.ts";
import { errnoName, KeepaliveError } from "../socket/mod.ts";
import type { CgroupSyscalls, Syscalls } from "../syscalls/mod.ts";
import type { BpfTable, Platform } from "../platforms/mod.ts";

/** What the BPF calls work with, made once per public call: the binding, its BPF calls, and the tables. */
export interface BpfContext {
  readonly sys: Syscalls;
  readonly calls: CgroupSyscalls;
  readonly platform: Platform;
  readonly bpf: BpfTable;
}

/**
 * The context of a public call, on a platform with BPF.
 *
 * @param sys The binding, opened.
 * @param platform The OS's table, with its `bpf` part.
 * @returns The context.
 */
export function bpfContext(sys: Syscalls, platform: Platform): BpfContext {
  return { sys, calls: sys.cgroup(), platform, bpf: platform.bpf! };
}

/** What `bpf_prog_info` says of a program. */
export interface ProgramInfo {
  readonly id: number;
  readonly type: number;
  readonly name: string;
  /** The instructions as the kernel holds them after the verifier (its translation). */
  readonly instructions: Uint8Array;
}

const LICENSE = "Dual MIT/GPL"; // a license the kernel counts as GPL-compatible, so every helper is allowed
const LOG_BYTES = 64 * 1024;
/** What one `read()` of an iterator asks for: the kernel fills it with as many whole records as fit. */
const ITERATOR_CHUNK_BYTES = 256 * 1024;
const MOST_INSTRUCTIONS = 4096;
/**
 * How many times a load is made while the verifier gives up with `EAGAIN`: it does when a signal arrives for the
 * thread while it works (`signal_pending` in `do_check`), such as a child's `SIGCHLD`. libbpf makes 5 too.
 */
export const LOAD_ATTEMPTS = 5;

/** A zeroed attribute, and a view to lay it out: the kernel refuses non-zero bytes past what a command uses. */
export function attribute(bpf: BpfTable): [Uint8Array, DataView] {
  const bytes = new Uint8Array(new ArrayBuffer(bpf.attr.size));
  return [bytes, new DataView(bytes.buffer)];
}

/** The capabilities each command takes, in the initial user namespace, said when it is refused for want of them. */
const NEEDS: Readonly<Record<string, string>> = {
  BPF_PROG_GET_FD_BY_ID: "CAP_SYS_ADMIN",
  BPF_OBJ_GET_INFO_BY_FD: "CAP_SYS_ADMIN",
  BPF_LINK_CREATE: "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)",
  BPF_ITER_CREATE: "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)",
};

/** The error of a `bpf` command that returned `-errno`: a missing right names the capabilities it takes. */
export function bpfError({ platform }: BpfContext, result: number, command: string, what: string): KeepaliveError {
  const errno = -result;
  const code = errnoName(platform, errno);
  const why = code === "EPERM"
    ? `${what}: that needs ${
      NEEDS[command] ?? "CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN)"
    } in the initial user namespace`
    : `${what} failed`;
  return new KeepaliveError(why, { code, errno, syscall: `bpf(${command})` });
}

/** What a program is loaded as. */
export interface ProgramSpec {
  /** What it is, in errors: `sock_ops`, `iter/tcp`. */
  readonly what: string;
  /** Its name in the kernel (`bpf_prog_info.name`). */
  readonly name: string;
  /** `BPF_PROG_TYPE_*`. */
  readonly programType: number;
  /** `BPF_*` of the hook it is for (`expected_attach_type`). */
  readonly attachType: number;
  /** A tracing program's: the BTF id, in the kernel's own BTF, of the function it runs for (`bpf_iter_tcp`). */
  readonly attachBtfId?: number;
}

/**
 * Loads a program; where the verifier refuses it, loads it again with a log, and says what the log says.
 *
 * @returns The program's descriptor.
 * @throws {KeepaliveError} If the kernel refuses it: the verifier's log in the message where it has one.
 */
export function loadProgram(c: BpfContext, spec: ProgramSpec, lines: readonly Line[]): number {
  const { bpf, calls } = c;
  const instructions = assemble(lines);
  const license = cString(LICENSE);
  const log = new Uint8Array(new ArrayBuffer(LOG_BYTES));
  const load = (logged: boolean) => {
    const [attr, view] = attribute(bpf);
    const { attr: at } = bpf;
    view.setUint32(at.prog_type, spec.programType, true);
    view.setUint32(at.insn_cnt, instructions.byteLength / 8, true);
    view.setBigUint64(at.insns, calls.addressOf(instructions), true);
    view.setBigUint64(at.license, calls.addressOf(license), true);
    if (logged) {
      view.setUint32(at.log_level, 1, true);
      view.setUint32(at.log_size, log.byteLength, true);
      view.setBigUint64(at.log_buf, calls.addressOf(log), true);
    }
    attr.set(cString(spec.name).subarray(0, bpf.BPF_OBJ_NAME_LEN - 1), at.prog_name);
    view.setUint32(at.expected_attach_type, spec.attachType, true);
    if (spec.attachBtfId !== undefined) view.setUint32(at.attach_btf_id, spec.attachBtfId, true);
    let fd = calls.bpf(bpf.commands.BPF_PROG_LOAD, attr);
    for (let attempt = 1; attempt < LOAD_ATTEMPTS && errnoName(c.platform, -fd) === "EAGAIN"; attempt++) {
      fd = calls.bpf(bpf.commands.BPF_PROG_LOAD, attr);
    }
    return fd;
  };
  const fd = load(false);
  if (fd >= 0) return fd;
  const code = errnoName(c.platform, -fd);
  if (code === "EAGAIN") {
    throw new KeepaliveError(
      `loading ${spec.what}: a signal interrupted the verifier at each of ${LOAD_ATTEMPTS} attempts`,
      { code, errno: -fd, syscall: "bpf(BPF_PROG_LOAD)" },
    );
  }
  if (code !== "EACCES" && code !== "EINVAL") throw bpfError(c, fd, "BPF_PROG_LOAD", `loading ${spec.what}`);
  load(true);
  const said = cText(log).trim();
  throw new KeepaliveError(`the verifier refused the ${spec.what} program:\n${said}`, {
    code,
    errno: -fd,
    syscall: "bpf(BPF_PROG_LOAD)",
  });
}

/**
 * A descriptor for an attached program, by its id (`CAP_SYS_ADMIN`).
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function programById(c: BpfContext, id: number): number {
  const [attr, view] = attribute(c.bpf);
  view.setUint32(c.bpf.attr.prog_id, id, true);
  const fd = c.calls.bpf(c.bpf.commands.BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0) throw bpfError(c, fd, "BPF_PROG_GET_FD_BY_ID", `opening program ${id}`);
  return fd;
}

/**
 * What the kernel says of a program: its id, type, name and translated instructions.
 *
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function programInfo(c: BpfContext, program: number): ProgramInfo {
  const { bpf } = c;
  const { progInfo: at } = bpf;
  const info = new Uint8Array(new ArrayBuffer(at.size));
  const infoView = new DataView(info.buffer);
  const instructions = new Uint8Array(new ArrayBuffer(MOST_INSTRUCTIONS * 8));
  infoView.setUint32(at.xlated_prog_len, instructions.byteLength, true);
  infoView.setBigUint64(at.xlated_prog_insns, c.calls.addressOf(instructions), true);
  const [attr, view] = attribute(bpf);
  view.setUint32(bpf.attr["info.bpf_fd"], program, true);
  view.setUint32(bpf.attr["info.info_len"], info.byteLength, true);
  view.setBigUint64(bpf.attr["info.info"], c.calls.addressOf(info), true);
  const result = c.calls.bpf(bpf.commands.BPF_OBJ_GET_INFO_BY_FD, attr);
  if (result < 0) throw bpfError(c, result, "BPF_OBJ_GET_INFO_BY_FD", "reading a program");
  const name = info.subarray(at.name, at.name + bpf.BPF_OBJ_NAME_LEN);
  return {
    id: infoView.getUint32(at.id, true),
    type: infoView.getUint32(at.type, true),
    name: cText(name),
    instructions: instructions.slice(0, Math.min(infoView.getUint32(at.xlated_prog_len, true), instructions.length)),
  };
}

/**
 * Runs an iterator program once over what it iterates (`BPF_LINK_CREATE`, `BPF_ITER_CREATE`, then `read()` to the
 * end), each record it writes with `bpf_seq_write` handed to `visit` as it comes, so that memory stays flat; the
 * link and the iterator are closed after, whatever happens. The iterator covers the network namespace (and pid
 * namespace) of the thread that calls this.
 *
 * @param program The loaded program's descriptor.
 * @param recordBytes The size of each record the program writes.
 * @param visit Given each record where it lies, at `at` in `chunk`: valid until it returns, and never copied (at
 *   100,000 records, a view each would cost more than the kernel's pass).
 * @param opened Called once the iterator is open, before the first read: what it covers is fixed by then.
 * @throws {KeepaliveError} If the kernel refuses.
 */
export function iterate(
  c: BpfContext,
  program: number,
  recordBytes: number,
  visit: (chunk: DataView, at: number) => void,
  opened: () => void = () => {},
): void {
  const { bpf, calls, sys } = c;
  const [linkAttr, linkView] = attribute(bpf);
  linkView.setUint32(bpf.attr["link_create.prog_fd"], program, true);
  linkView.setUint32(bpf.attr["link_create.attach_type"], bpf.attachTypes.BPF_TRACE_ITER, true);
  const link = calls.bpf(bpf.commands.BPF_LINK_CREATE, linkAttr);
  if (link < 0) throw bpfError(c, link, "BPF_LINK_CREATE", "linking the iterator");
  try {
    const [iterAttr, iterView] = attribute(bpf);
    iterView.setUint32(bpf.attr["iter_create.link_fd"], link, true);
    const iterator = calls.bpf(bpf.commands.BPF_ITER_CREATE, iterAttr);
    if (iterator < 0) throw bpfError(c, iterator, "BPF_ITER_CREATE", "opening the iterator");
    try {
      opened();
      // A read may end inside a record: what is left of it waits at the start of the buffer for the next read.
      const chunk = new Uint8Array(new ArrayBuffer(ITERATOR_CHUNK_BYTES));
      const view = new DataView(chunk.buffer);
      let kept = 0;
      for (let n; (n = calls.read(iterator, chunk.subarray(kept))) !== 0;) {
        if (errnoName(c.platform, -n) === "EAGAIN") continue;
        if (n < 0) throw bpfError(c, n, "read", "reading the iterator");
        const end = kept + n;
        let at = 0;
        for (; at + recordBytes <= end; at += recordBytes) visit(view, at);
        chunk.copyWithin(0, at, end);
        kept = end - at;
      }
    } finally {
      sys.close(iterator);
    }
  } finally {
    sys.close(link);
  }
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A file's bytes, read whole through the binding (`/proc`, `cgroup.procs`, the kernel's BTF), so that Deno needs no
 * read permission for it.
 *
 * @returns The bytes; `-errno` if the file cannot be read.
 */
export function readWhole({ sys, calls }: BpfContext, path: string): Uint8Array | number {
  const fd = calls.openFile(path);
  if (fd < 0) return fd;
  try {
    // A file that says its length (the kernel's BTF, 5 MB) is read into a buffer of that length, and one more byte
    // to see its end: no copy made as it grows, which a node agent's resident memory would keep.
    let bytes = new Uint8Array(Math.max(calls.size(fd), CHUNK_BYTES - 1) + 1);
    let length = 0;
    for (;;) {
      if (length === bytes.length) {
        const grown = new Uint8Array(bytes.length * 2); // a file longer than it said, or that says nothing (/proc)
        grown.set(bytes.subarray(0, length));
        bytes = grown;
      }
      const n = calls.read(fd, bytes.subarray(length));
      if (n === 0) return bytes.subarray(0, length);
      if (n < 0) return n;
      length += n;
    }
  } finally {
    sys.close(fd);
  }
}

/**
 * Whether a kernel is the given version or later.
 *
 * @param release `uname -r`, such as `6.18.44-fc-v857`.
 * @param since `[major, minor]`.
 */
export function kernelAtLeast(release: string, [needMajor, needMinor]: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = /^(\d+)\.(\d+)/.exec(release)?.slice(1).map(Number) ?? [];
  return major > needMajor || (major === needMajor && minor >= needMinor);
}

/**
 * The capabilities the calling process holds (the `CapEff` line of `/proc/self/status`), by name.
 *
 * @returns Each of the table's capabilities, and whether it is held.
 */
export function heldCapabilities(c: BpfContext): Record<keyof BpfTable["capabilities"], boolean> {
  const status = readWhole(c, "/proc/self/status");
  const effective = typeof status === "number" ? undefined : /^CapEff:\s*([0-9a-f]+)$/m.exec(cText(status))?.[1];
  const bits = BigInt(`0x${effective ?? "0"}`);
  return Object.fromEntries(
    Object.entries(c.bpf.capabilities).map(([name, bit]) => [name, (bits >> BigInt(bit) & 1n) === 1n]),
  ) as Record<keyof BpfTable["capabilities"], boolean>;
}
