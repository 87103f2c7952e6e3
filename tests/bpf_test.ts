// bpf/: a load the verifier gave up on for a signal is made again, and said when it keeps failing; the BTF reader
// read against bpftool's own dump of this kernel's BTF: every member the iterator programs read, each iterator's
// function id and context, and TCP_NEW_SYN_RECV.
import { deepEqual, equal, throws } from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { bpfContext, loadProgram, readBtf } from "../bpf/mod.ts";
import { LOAD_ATTEMPTS } from "../bpf/_bpf.ts";
import { kernelLayout } from "../iter/mod.ts";
import { specOf } from "../cgroup/_attach.ts";
import { currentTemplate, programLines } from "../cgroup/_program.ts";
import { syscalls } from "../ffi/mod.ts";
import { planWrites } from "../options/mod.ts";
import { platformFor } from "../platforms/mod.ts";
import type { CgroupSyscalls, Syscalls } from "../syscalls/mod.ts";
import { test } from "./_harness.ts";

const linux = platformFor("linux");
const bpf = linux.bpf!;
const EAGAIN = 11;

/** The real binding, but its first `times` program loads answer EAGAIN, as the verifier does when a signal comes. */
function interrupted(times: number): { sys: Syscalls; loads: () => number } {
  const real = syscalls();
  const calls = real.cgroup();
  let loads = 0;
  const cgroup: CgroupSyscalls = {
    ...calls,
    bpf(command, attr) {
      if (command === bpf.commands.BPF_PROG_LOAD && ++loads <= times) return -EAGAIN;
      return calls.bpf(command, attr);
    },
  };
  return { sys: { ...real, cgroup: () => cgroup }, loads: () => loads };
}

const lines = programLines(currentTemplate(bpf, "sock_ops"), {
  owner: "bpf-test",
  writes: planWrites({ idleMs: 5_000 }, linux),
});

test("a load interrupted by a signal (EAGAIN) is made again, and loads", () => {
  const { sys, loads } = interrupted(LOAD_ATTEMPTS - 1);
  const c = bpfContext(sys, linux);
  const fd = loadProgram(c, specOf(c, "sock_ops"), lines);
  sys.close(fd);
  equal(loads(), LOAD_ATTEMPTS, "the kernel's answer taken at the last attempt");
});

test("a load interrupted at every attempt is said to be, with EAGAIN", () => {
  const { sys, loads } = interrupted(Infinity);
  const c = bpfContext(sys, linux);
  throws(() => loadProgram(c, specOf(c, "sock_ops"), lines), {
    name: "KeepaliveError",
    code: "EAGAIN",
    syscall: "bpf(BPF_PROG_LOAD)",
    message:
      `EAGAIN: loading sock_ops: a signal interrupted the verifier at each of ${LOAD_ATTEMPTS} attempts (bpf(BPF_PROG_LOAD))`,
  });
  equal(loads(), LOAD_ATTEMPTS);
});

/** One type of bpftool's raw dump: its kind, name, the numbers on its line, and its members' or parameters' lines. */
interface Dumped {
  kind: string;
  name: string;
  fields: Record<string, number>;
  items: { name: string; fields: Record<string, number> }[];
}

/** `bpftool btf dump file /sys/kernel/btf/vmlinux format raw`, by id. */
function bpftoolTypes(): Map<number, Dumped> {
  const raw = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const numbers = (text: string) =>
    Object.fromEntries([...text.matchAll(/(\w+)=(-?\d+)/g)].map(([, key, value]) => [key, Number(value)]));
  const types = new Map<number, Dumped>();
  let last: Dumped | undefined;
  for (const line of raw.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      types.set(Number(head[1]), last = { kind: head[2]!, name: head[3]!, fields: numbers(head[4]!), items: [] });
      continue;
    }
    const item = /^\t'([^']*)'(.*)$/.exec(line);
    if (item && last) last.items.push({ name: item[1]!, fields: numbers(item[2]!) });
  }
  return types;
}

/** Where a member lies and its size, found in bpftool's dump by a path such as `sock.sk_cgrp_data.cgroup`. */
function memberByBpftool(types: Map<number, Dumped>, path: string): { offset: number; bytes: number } {
  const through = (id: number): Dumped & { id: number } => {
    const t = types.get(id)!;
    return ["TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"].includes(t.kind)
      ? through(t.fields.type_id!)
      : { ...t, id };
  };
  const size = (id: number): number => {
    const t = through(id);
    if (t.kind === "PTR") return 8;
    if (t.kind === "ARRAY") return size(t.fields.type_id!) * t.fields.nr_elems!;
    return t.fields.size!;
  };
  const find = (id: number, name: string): { id: number; bits: number } | undefined => {
    for (const member of through(id).items) {
      if (member.name === name) return { id: member.fields.type_id!, bits: member.fields.bits_offset! };
      if (member.name === "(anon)") {
        const inner = find(member.fields.type_id!, name);
        if (inner) return { id: inner.id, bits: member.fields.bits_offset! + inner.bits };
      }
    }
    return undefined;
  };
  const [struct, ...names] = path.split(".");
  let id = [...types].find(([, t]) => t.kind === "STRUCT" && t.name === struct)![0];
  let bits = 0;
  for (const name of names) {
    const found = find(id, name)!;
    id = found.id;
    bits += found.bits;
  }
  return { offset: bits / 8, bytes: size(id) };
}

test("the BTF reader reads this kernel's BTF as bpftool does: ids, contexts, members and TCP_NEW_SYN_RECV", () => {
  const btf = readBtf(readFileSync("/sys/kernel/btf/vmlinux"));
  const layout = kernelLayout(btf);
  const types = bpftoolTypes();
  const idOf = (kind: string, name: string) => [...types].find(([, t]) => t.kind === kind && t.name === name)![0];
  for (const [iterator, { btfId, context }] of Object.entries(layout.iterators)) {
    equal(btfId, idOf("FUNC", `bpf_iter_${iterator}`), `bpf_iter_${iterator}'s id`);
    // The context a program reads is struct bpf_iter__NAME: each parameter where that struct has its member.
    for (const [parameter, offset] of Object.entries(context)) {
      deepEqual(offset, memberByBpftool(types, `bpf_iter__${iterator}.${parameter}`).offset, parameter);
    }
  }
  const members = Object.keys(layout.members);
  equal(members.length, 19);
  for (const path of members) deepEqual(btf.member(path), memberByBpftool(types, path), path);
  const states = [...types.values()].find((t) =>
    t.kind === "ENUM" && t.items.some((i) => i.name === "TCP_NEW_SYN_RECV")
  );
  equal(layout.TCP_NEW_SYN_RECV, states!.items.find((i) => i.name === "TCP_NEW_SYN_RECV")!.fields.val);
}, 30_000);

test("the initial pid namespace's inode is the table's PROC_PID_INIT_INO, whose numbers a task's tgid is in", () => {
  // The tests run in the host's pid namespace, as the iterator tests need.
  equal(statSync("/proc/self/ns/pid").ino, bpf.PROC_PID_INIT_INO);
});
